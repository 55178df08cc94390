// SPDX-License-Identifier: Apache-2.0
#include "host_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <memory>

#include "mounts.hpp"
#include "nestbox/error.hpp"

namespace nestbox::launcher {
namespace {

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

// The excluded paths that lie below `entry`, relative to it; "" when `entry`
// itself is excluded. Empty when nothing below `entry` is excluded.
std::vector<std::string> below(const std::vector<std::string>& excluded, const std::string& entry) {
  std::vector<std::string> out;
  for (const auto& x : excluded) {
    if (x == entry) return {""};
    if (x.size() > entry.size() && x.compare(0, entry.size(), entry) == 0 && x[entry.size()] == '/')
      out.push_back(x.substr(entry.size() + 1));
  }
  return out;
}

void copy_entry(const std::string& src, const std::string& dst, unsigned char type) {
  struct stat st {};
  if (type == DT_UNKNOWN) {
    if (::lstat(src.c_str(), &st) != 0) return;  // gone meanwhile
    type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
  }
  switch (type) {
    case DT_LNK: {
      char target[PATH_MAX];
      const ssize_t n = ::readlink(src.c_str(), target, sizeof target - 1);
      if (n < 0) return;
      target[n] = '\0';
      if (::symlink(target, dst.c_str()) != 0) throw_errno(errno, "cannot create " + dst);
      return;
    }
    case DT_DIR:
      ensure_dir(dst);
      bind_path(src, dst, true, true);
      return;
    case DT_REG:
      ensure_file(dst);
      bind_path(src, dst, false, true);
      return;
    default:
      return;  // sockets, fifos and device nodes at a tree's top are left out
  }
}

}  // namespace

void copy_tree_without(const std::string& src, const std::string& dst, const std::vector<std::string>& excluded) {
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0) throw_errno(errno, "cannot stat " + src);
  // The copy looks like the original: same permissions on its root.
  char options[48];
  std::snprintf(options, sizeof options, "size=64k,mode=%o", static_cast<unsigned>(st.st_mode & 07777));
  mount_fs("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, options);
  std::unique_ptr<DIR, DirCloser> dir(::opendir(src.c_str()));
  if (!dir) throw_errno(errno, "cannot list " + src);
  while (const dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string from = src + "/" + name, to = dst + "/" + name;
    const std::vector<std::string> inner = below(excluded, name);
    if (inner.empty()) {
      copy_entry(from, to, e->d_type);
    } else if (inner.front().empty()) {
      ensure_dir(to);  // excluded: a mount point only
    } else {
      ensure_dir(to);
      copy_tree_without(from, to, inner);
      make_read_only(to, false);
    }
  }
}

}  // namespace nestbox::launcher
