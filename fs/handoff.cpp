// SPDX-License-Identifier: Apache-2.0
#include "handoff.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nestbox::fs {
namespace {

constexpr char kReady = 'R', kDrain = 'D';
// An INIT request is well under a page; anything longer is not one.
constexpr std::uint32_t kMaxInit = 4096;

bool write_all(int fd, const void* data, std::size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t len) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_blob(int fd, const std::string& s) {
  const auto len = static_cast<std::uint32_t>(s.size());
  return write_all(fd, &len, sizeof len) && write_all(fd, s.data(), s.size());
}

std::optional<std::string> recv_blob(int fd) {
  std::uint32_t len = 0;
  if (!read_all(fd, &len, sizeof len) || len > kMaxInit) return std::nullopt;
  std::string s(len, '\0');
  if (!read_all(fd, s.data(), len)) return std::nullopt;
  return s;
}

}  // namespace

bool send_hello(int sock, const Hello& hello) {
  return write_all(sock, &hello.epoch, sizeof hello.epoch) && send_blob(sock, hello.init);
}

std::optional<Hello> recv_hello(int sock) {
  Hello h;
  if (!read_all(sock, &h.epoch, sizeof h.epoch)) return std::nullopt;
  auto init = recv_blob(sock);
  if (!init) return std::nullopt;
  h.init = std::move(*init);
  return h;
}

bool send_ready(int sock, const std::string& init) { return write_all(sock, &kReady, 1) && send_blob(sock, init); }

std::optional<std::string> recv_ready(int sock, std::chrono::milliseconds timeout) {
  pollfd p{sock, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  while (r < 0 && errno == EINTR);
  if (r <= 0) return std::nullopt;
  char tag = 0;
  if (!read_all(sock, &tag, 1) || tag != kReady) return std::nullopt;
  return recv_blob(sock);
}

bool send_drain(int sock) { return write_all(sock, &kDrain, 1); }

bool wait_drain(int sock) {
  char tag = 0;
  while (read_all(sock, &tag, 1))
    if (tag == kDrain) return true;
  return false;
}

}  // namespace nestbox::fs
