// SPDX-License-Identifier: Apache-2.0
#include "nestbox/safe_io.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

namespace nestbox {
namespace {

// Splits a relative path; refuses absolute paths and ".." anywhere (even a ".."
// that would stay inside is refused: callers never need one, so it can only be
// an attack or a bug). "." components and empty components are dropped.
std::vector<std::string_view> components(std::string_view rel) {
  if (!rel.empty() && rel.front() == '/')
    throw Error(Errc::InvalidPath, "path must be relative: \"" + std::string(rel) + "\"");
  if (rel.find('\0') != std::string_view::npos)
    throw Error(Errc::InvalidPath, "path contains a NUL byte");
  std::vector<std::string_view> parts;
  while (!rel.empty()) {
    auto slash = rel.find('/');
    auto part = rel.substr(0, slash);
    if (part == "..") throw Error(Errc::InvalidPath, "path may not contain \"..\": \"" + std::string(rel) + "\"");
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string_view::npos) break;
    rel.remove_prefix(slash + 1);
  }
  return parts;
}

std::string joined(const std::vector<std::string_view>& parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out.empty() ? std::string(".") : out;
}

[[noreturn]] void throw_open(int err, const std::string& rel) {
  if (err == ELOOP || err == EXDEV)
    throw Error(Errc::InvalidPath, "refusing to follow a symlink or leave the directory: " + rel, err);
  throw_errno(err, "open " + rel);
}

int open_walk_raw(int dirfd, const std::vector<std::string_view>& parts, int flags, mode_t mode) {
  flags |= O_CLOEXEC;
  if (parts.empty()) {
    // The directory itself: reopen "." (no name to resolve, nothing to escape).
    return ::openat(dirfd, ".", flags & ~(O_CREAT | O_EXCL | O_TRUNC), mode);
  }
  UniqueFd cur;
  int at = dirfd;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    std::string name(parts[i]);
    struct stat st {};
    if (::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      errno = ELOOP;
      return -1;
    }
    int fd = ::openat(at, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    cur.reset(fd);
    at = cur.get();
  }
  std::string last(parts.back());
  struct stat st {};
  if (::fstatat(at, last.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    errno = ELOOP;
    return -1;
  }
  // O_NOFOLLOW closes the race with the check above (ELOOP on a swapped-in symlink);
  // with O_PATH it would open the link itself, so verify what we got.
  int fd = ::openat(at, last.c_str(), flags | O_NOFOLLOW, mode);
  if (fd >= 0 && (flags & O_PATH)) {
    if (::fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
      ::close(fd);
      errno = ELOOP;
      return -1;
    }
  }
  return fd;
}

}  // namespace

UniqueFd open_beneath_walk(int dirfd, std::string_view rel, int flags, mode_t mode) {
  auto parts = components(rel);
  int fd = open_walk_raw(dirfd, parts, flags, mode);
  if (fd < 0) throw_open(errno, joined(parts));
  return UniqueFd(fd);
}

namespace {

// Returns fd, or -errno; -ENOSYS means "use the walk".
int open_beneath_raw(int dirfd, const std::vector<std::string_view>& parts, int flags, mode_t mode) {
  // Shared by all threads (the FUSE server is multi-threaded); only ever goes false.
  static std::atomic<bool> have_openat2{true};
  std::string path = joined(parts);
  if (have_openat2) {
    struct open_how how {};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0; attempt < 8; ++attempt) {
      long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
      if (fd >= 0) return static_cast<int>(fd);
      // EAGAIN: a concurrent rename somewhere; the kernel asks us to retry.
      if (errno == EAGAIN) continue;
      if (errno != ENOSYS) return -errno;
      have_openat2 = false;
      break;
    }
    if (have_openat2) return -EAGAIN;
  }
  int fd = open_walk_raw(dirfd, parts, flags, mode);
  return fd >= 0 ? fd : -errno;
}

}  // namespace

UniqueFd open_beneath(int dirfd, std::string_view rel, int flags, mode_t mode) {
  auto parts = components(rel);
  int fd = open_beneath_raw(dirfd, parts, flags, mode);
  if (fd < 0) throw_open(-fd, joined(parts));
  return UniqueFd(fd);
}

UniqueFd try_open_beneath(int dirfd, std::string_view rel, int flags, mode_t mode) {
  auto parts = components(rel);
  int fd = open_beneath_raw(dirfd, parts, flags, mode);
  if (fd == -ENOENT) return UniqueFd();
  if (fd < 0) throw_open(-fd, joined(parts));
  return UniqueFd(fd);
}

std::string read_fd(int fd) {
  std::string out;
  char buf[8192];
  off_t offset = 0;
  while (true) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
  return out;
}

std::optional<std::string> read_file_beneath(int dirfd, std::string_view rel) {
  auto fd = try_open_beneath(dirfd, rel, O_RDONLY);
  if (!fd) return std::nullopt;
  try {
    return read_fd(fd.get());
  } catch (const Error& e) {
    throw Error(e.code(), "read " + std::string(rel) + ": " + e.what(), e.sys_errno());
  }
}

void write_file_beneath(int dirfd, std::string_view rel, std::string_view data) {
  auto fd = open_beneath(dirfd, rel, O_WRONLY | O_TRUNC);
  ssize_t n;
  do {
    n = ::write(fd.get(), data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno(errno, "write \"" + std::string(trim(data)) + "\" to " + std::string(rel));
  if (static_cast<std::size_t>(n) != data.size())
    throw Error(Errc::Io, "short write to " + std::string(rel));
}

UniqueFd open_directory(const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, "open directory " + path);
  return UniqueFd(fd);
}

}  // namespace nestbox
