// SPDX-License-Identifier: Apache-2.0
#include "handover.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nestbox/error.hpp"
#include "nestbox/fd_passing.hpp"

namespace nestbox::fs {
namespace {

constexpr std::size_t kMaxMessage = 256;

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    throw Error(Errc::InvalidPath, "--handover path '" + path + "' is empty or longer than " +
                                       std::to_string(sizeof addr.sun_path - 1) + " bytes");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

UniqueFd seqpacket_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno(errno, "handover socket");
  return fd;
}

// Only a process of our own uid (root) may take the connection or give us one.
bool peer_is_us(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == ::geteuid();
}

// Waits for one message; nullopt on end of file or when `timeout` passes.
std::optional<FdMessage> receive_within(int sock, std::chrono::milliseconds timeout, std::size_t max_fds) {
  pollfd p{sock, POLLIN, 0};
  int r;
  while ((r = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
  }
  if (r <= 0) return std::nullopt;
  return receive_fds(sock, kMaxMessage, max_fds);
}

}  // namespace

std::optional<HandedOver> request_handover(const std::string& path, std::chrono::milliseconds timeout) {
  const sockaddr_un addr = address_of(path);
  UniqueFd sock = seqpacket_socket();
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    // Nobody listens: nothing to take over.
    if (errno == ENOENT || errno == ECONNREFUSED) return std::nullopt;
    throw_errno(errno, "cannot connect to the handover socket " + path);
  }
  if (!peer_is_us(sock.get()))
    throw Error(Errc::PermissionDenied, "the process listening at " + path + " does not run as our uid");
  send_fds(sock.get(), "take");
  auto answer = receive_within(sock.get(), timeout, 4);
  if (!answer) throw Error(Errc::Busy, "the nestbox-fs listening at " + path + " did not answer");
  if (answer->bytes != "conn" || answer->fds.size() != 4)
    throw Error(Errc::Busy, "the nestbox-fs listening at " + path + " does not hand over: " +
                                (answer->bytes.rfind("busy: ", 0) == 0 ? answer->bytes.substr(6) : "a malformed answer"));
  HandedOver out;
  out.link = std::move(sock);
  out.connection.fuse = std::move(answer->fds[0]);
  out.connection.state = std::move(answer->fds[1]);
  out.connection.ctl = std::move(answer->fds[2]);
  out.connection.server = std::move(answer->fds[3]);
  return out;
}

void confirm_takeover(int link) { send_fds(link, "done"); }

UniqueFd listen_for_handover(const std::string& path) {
  const sockaddr_un addr = address_of(path);
  UniqueFd sock = seqpacket_socket();
  // A socket file is ours to replace: whoever listened there has handed over
  // (or died). Anything else at the path is left alone.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error(Errc::Exists, path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  const mode_t old_mask = ::umask(0177);  // 0600 from the start, no window
  const int rc = ::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (rc != 0) throw_errno(bind_errno, "cannot bind the handover socket " + path);
  if (::listen(sock.get(), 1) != 0) throw_errno(errno, "cannot listen on " + path);
  return sock;
}

bool serve_handover(int listener, const ConnectionFds& fds, const std::string& busy,
                    std::chrono::milliseconds timeout) {
  UniqueFd link(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!link) return false;
  try {
    if (!peer_is_us(link.get())) {
      spdlog::warn("handover: refused a peer of another uid");
      return false;
    }
    auto request = receive_within(link.get(), std::chrono::seconds(5), 0);
    if (!request || request->bytes != "take") {
      spdlog::warn("handover: the peer asked for nothing");
      return false;
    }
    if (!busy.empty()) {
      send_fds(link.get(), "busy: " + busy);
      spdlog::info("handover refused: {}", busy);
      return false;
    }
    const int passed[] = {fds.fuse, fds.state, fds.ctl, fds.server};
    send_fds(link.get(), "conn", passed);
    spdlog::info("handover: connection sent; waiting for the new supervisor's server");
    auto done = receive_within(link.get(), timeout, 0);
    if (done && done->bytes == "done") return true;
    spdlog::warn("handover: the new supervisor did not take over; serving on");
  } catch (const Error& e) {
    spdlog::warn("handover: {}", e.what());
  }
  return false;
}

}  // namespace nestbox::fs
