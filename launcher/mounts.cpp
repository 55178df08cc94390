// SPDX-License-Identifier: Apache-2.0
#include "mounts.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "nestbox/error.hpp"

namespace nestbox::launcher {
namespace {

long openat2_call(int dirfd, const char* path, std::uint64_t flags, std::uint64_t resolve) {
  struct open_how how {};
  how.flags = flags;
  how.resolve = resolve;
  return ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

constexpr std::uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

}  // namespace

void mount_fs(const std::string& source, const std::string& target, const std::string& type,
              unsigned long flags, const std::string& data) {
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type.empty() ? nullptr : type.c_str(),
              flags, data.empty() ? nullptr : data.c_str()) != 0)
    throw_errno(errno, "cannot mount " + (type.empty() ? source : type) + " on " + target);
}

UniqueFd clone_tree(const std::string& source, bool recursive, bool read_only) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  UniqueFd fd(::open_tree(AT_FDCWD, source.c_str(), flags));
  if (!fd) throw_errno(errno, "cannot clone the mount at " + source);
  if (read_only) {
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(fd.get(), "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0)
      throw_errno(errno, "cannot make the copy of " + source + " read-only");
  }
  return fd;
}

void attach_tree(int tree_fd, const std::string& target) {
  if (::move_mount(tree_fd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    throw_errno(errno, "cannot mount on " + target);
}

void attach_tree_at(int tree_fd, int target_fd, const std::string& target_name) {
  if (::move_mount(tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw_errno(errno, "cannot mount on " + target_name);
}

void bind_path(const std::string& source, const std::string& target, bool recursive, bool read_only) {
  UniqueFd tree = clone_tree(source, recursive, read_only);
  attach_tree(tree.get(), target);
}

void make_read_only(const std::string& target, bool recursive) {
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(AT_FDCWD, target.c_str(), recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) != 0)
    throw_errno(errno, "cannot make " + target + " read-only");
}

UniqueFd resolve_in_root(int root_fd, const std::string& rel, bool create, bool last_is_file) {
  // Component by component, so that missing ones can be created below an
  // already-verified parent; each step is itself confined by RESOLVE_BENEATH.
  std::vector<std::string> parts;
  for (std::size_t pos = 0; pos <= rel.size();) {
    std::size_t next = rel.find('/', pos);
    if (next == std::string::npos) next = rel.size();
    if (next > pos) parts.push_back(rel.substr(pos, next - pos));
    pos = next + 1;
  }
  const std::string shown = "/" + rel;
  std::string done;
  UniqueFd current(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
  if (!current) throw_errno(errno, "dup");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    if (name == "..") throw Error(Errc::InvalidPath, shown + ": '..' is not allowed");
    const bool last = i + 1 == parts.size();
    done += "/" + name;
    // Resolve from the root each time (not from `current`) so a symlink in a
    // later component that points at an absolute path is judged against the root.
    long fd = openat2_call(root_fd, done.c_str() + 1, O_PATH | O_CLOEXEC, kBeneath);
    if (fd < 0 && errno == ENOENT && create) {
      int rc = (last && last_is_file) ? ::openat(current.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644)
                                      : ::mkdirat(current.get(), name.c_str(), 0755);
      if (rc < 0 && errno != EEXIST) {
        int err = errno;
        throw_errno(err, shown + ": cannot create mount point " + done +
                             (err == EROFS ? " (the root is read-only; bind onto an existing path)" : ""));
      }
      if (last && last_is_file && rc >= 0) ::close(rc);
      fd = openat2_call(root_fd, done.c_str() + 1, O_PATH | O_CLOEXEC, kBeneath);
    }
    if (fd < 0) {
      int err = errno;
      if (err == EXDEV || err == ELOOP)
        throw Error(Errc::InvalidPath, shown + ": " + done + " is a symlink that leads out of the container root", err);
      if (err == ENOENT) throw Error(Errc::NotFound, shown + ": " + done + " does not exist in the container", err);
      throw_errno(err, shown + ": cannot resolve " + done);
    }
    current.reset(static_cast<int>(fd));
  }
  return current;
}

bool path_exists(const std::string& path) noexcept {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) noexcept {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void ensure_dir(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) throw_errno(errno, "cannot create " + path);
}

void ensure_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno != EEXIST) throw_errno(errno, "cannot create " + path);
  if (fd >= 0) ::close(fd);
}

}  // namespace nestbox::launcher
