// SPDX-License-Identifier: Apache-2.0
#include "fd_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "nestbox/safe_io.hpp"

namespace nestbox::fs {
namespace {

constexpr std::string_view kMagic = "nestbox-fs supervisor state 1\n";
constexpr std::size_t kMaxInit = 1 << 16;

}  // namespace

std::string encode_state(const SupervisorState& s) {
  std::string out(kMagic);
  out += std::to_string(s.epoch);
  out.push_back('\n');
  out += std::to_string(s.init.size());
  out.push_back('\n');
  out += s.init;
  return out;
}

std::optional<SupervisorState> decode_state(const std::string& text) {
  if (!text.starts_with(kMagic)) return std::nullopt;
  std::size_t pos = kMagic.size();
  auto number = [&](std::uint64_t max) -> std::optional<std::uint64_t> {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos || nl == pos || nl - pos > 6) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = pos; i < nl; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (v > max) return std::nullopt;
    pos = nl + 1;
    return v;
  };
  auto epoch = number(0xffff);
  if (!epoch) return std::nullopt;
  auto size = number(kMaxInit);
  if (!size || text.size() - pos != *size) return std::nullopt;
  return SupervisorState{static_cast<std::uint16_t>(*epoch), text.substr(pos)};
}

bool FdStore::available() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  return s && *s;
}

StoredConnection FdStore::take() {
  StoredConnection c;
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);
  for (int i = 0; i < n; ++i) {
    int fd = SD_LISTEN_FDS_START + i;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    std::string_view name = names && names[i] ? names[i] : "";
    UniqueFd owned(fd);
    if (name == "fuse") c.fuse = std::move(owned);
    else if (name == "state") c.state = std::move(owned);
    else if (name == "ctl") c.ctl = std::move(owned);
    else if (name == "server") c.server = std::move(owned);
    else spdlog::warn("closing fd {} handed back under an unknown name '{}'", fd, name);
  }
  if (names) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return c;
}

void FdStore::put(const char* name, int fd) {
  if (!available()) return;
  remove(name);
  const std::string msg = std::string("FDSTORE=1\nFDNAME=") + name;
  int r = sd_pid_notify_with_fds(0, 0, msg.c_str(), &fd, 1);
  if (r <= 0) spdlog::warn("cannot store the {} fd with the service manager: {}", name, std::strerror(r < 0 ? -r : EIO));
}

void FdStore::remove(const char* name) {
  if (!available()) return;
  const std::string msg = std::string("FDSTOREREMOVE=1\nFDNAME=") + name;
  sd_notify(0, msg.c_str());
}

UniqueFd make_state_memfd(const SupervisorState& s) {
  UniqueFd fd(::memfd_create("nestbox-fs-state", MFD_CLOEXEC));
  if (!fd) return fd;
  if (!rewrite_state(fd.get(), s)) fd.reset();
  return fd;
}

bool rewrite_state(int memfd, const SupervisorState& s) {
  const std::string text = encode_state(s);
  if (::ftruncate(memfd, 0) != 0) return false;
  return ::pwrite(memfd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

std::optional<SupervisorState> read_state(int memfd) {
  std::string text(kMagic.size() + 32 + kMaxInit, '\0');
  ssize_t n = ::pread(memfd, text.data(), text.size(), 0);
  if (n <= 0) return std::nullopt;
  text.resize(static_cast<std::size_t>(n));
  return decode_state(text);
}

}  // namespace nestbox::fs
