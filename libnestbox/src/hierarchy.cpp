// SPDX-License-Identifier: Apache-2.0
#include "hierarchy.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/safe_io.hpp"
#include "kept_files.hpp"

namespace nestbox::detail {

void check_file_name(std::string_view file) {
  if (file.empty() || file == "." || file == ".." || file.find('/') != std::string_view::npos ||
      file.find('\0') != std::string_view::npos || file.size() > 255)
    throw Error(Errc::InvalidPath, "invalid cgroup file name \"" + std::string(file.substr(0, 64)) + "\"");
}

Hierarchy::Hierarchy(const CgroupMount& mount, std::size_t kept_files)
    : mount_(mount), mount_root_(CgroupPath::parse(mount.root)), root_fd_(open_directory(mount.mountpoint)) {
  struct statfs fs {};
  if (kept_files > 0 && ::fstatfs(root_fd_.get(), &fs) == 0 &&
      (fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC))
    kept_ = std::make_unique<KeptFiles>(kept_files);
}

Hierarchy::~Hierarchy() = default;

bool Hierarchy::has_controller(std::string_view controller) const noexcept {
  return std::find(mount_.controllers.begin(), mount_.controllers.end(), controller) != mount_.controllers.end();
}

std::string Hierarchy::rel(const CgroupPath& path) const {
  auto inside = path.relative_to(mount_root_);
  if (!inside)
    throw Error(Errc::NotFound, "cgroup " + path.str() + " is outside the part of the hierarchy mounted at " +
                                    mount_.mountpoint + " (" + mount_root_.str() + ")");
  return inside->relative();
}

std::string Hierarchy::abs(const CgroupPath& path, std::string_view file) const {
  std::string out = mount_.mountpoint;
  auto r = rel(path);
  if (!r.empty()) out += "/" + r;
  if (!file.empty()) out += "/" + std::string(file);
  return out;
}

std::optional<CgroupDir> Hierarchy::try_open(const CgroupPath& path) const {
  auto r = path.relative_to(mount_root_);
  if (!r) return std::nullopt;
  std::string rel = r->relative();
  if (kept_ && kept_->knows(rel)) return CgroupDir(*this, path, std::move(rel), UniqueFd());
  auto fd = try_open_beneath(root_fd_.get(), rel, O_PATH | O_DIRECTORY);
  if (!fd) return std::nullopt;
  return CgroupDir(*this, path, std::move(rel), std::move(fd));
}

CgroupDir Hierarchy::open(const CgroupPath& path) const {
  std::string r = rel(path);
  if (kept_ && kept_->knows(r)) return CgroupDir(*this, path, std::move(r), UniqueFd());
  auto fd = try_open_beneath(root_fd_.get(), r, O_PATH | O_DIRECTORY);
  if (!fd) throw Error(Errc::NotFound, "cgroup " + path.str() + " does not exist (" + abs(path) + ")", ENOENT);
  return CgroupDir(*this, path, std::move(r), std::move(fd));
}

int CgroupDir::fd() const {
  if (!fd_) {
    fd_ = try_open_beneath(hierarchy_->fd(), rel_, O_PATH | O_DIRECTORY);
    if (!fd_)
      throw Error(Errc::NotFound, "cgroup " + path_.str() + " does not exist (" + hierarchy_->abs(path_) + ")",
                  ENOENT);
  }
  return fd_.get();
}

bool Hierarchy::exists(const CgroupPath& path) const {
  auto r = path.relative_to(mount_root_);
  return r && static_cast<bool>(try_open_beneath(root_fd_.get(), r->relative(), O_PATH | O_DIRECTORY));
}

bool CgroupDir::has(std::string_view file) const {
  check_file_name(file);
  struct stat st {};
  return ::fstatat(fd(), std::string(file).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::optional<std::string> CgroupDir::read(std::string_view file) const {
  check_file_name(file);
  KeptFiles* kept = hierarchy_->kept();
  if (!kept) return read_file_beneath(fd(), file);
  std::string text;
  switch (kept->read(rel_, file, text)) {
    case KeptFiles::Outcome::Read: return text;
    case KeptFiles::Outcome::Missing: return std::nullopt;
    case KeptFiles::Outcome::Gone:
      // Removed since it was kept: a directory opened before is the removed
      // one too, so look the name up again.
      fd_.reset();
      break;
    case KeptFiles::Outcome::NotKept: break;
  }
  auto f = try_open_beneath(fd(), file, O_RDONLY);
  if (!f) {
    kept->keep_missing(rel_, file);
    return std::nullopt;
  }
  try {
    text = read_fd(f.get());
  } catch (const Error& e) {
    throw Error(e.code(), "read " + std::string(file) + ": " + e.what(), e.sys_errno());
  }
  kept->keep(rel_, file, std::move(f));
  return text;
}

std::string CgroupDir::read_required(std::string_view file) const {
  auto text = read(file);
  if (!text) throw Error(Errc::NotFound, "no " + std::string(file) + " in " + hierarchy_->abs(path_), ENOENT);
  return *text;
}

void CgroupDir::write(std::string_view file, std::string_view data) const {
  check_file_name(file);
  try {
    write_file_beneath(fd(), file, data);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) + " (cgroup " + path_.str() + " at " + hierarchy_->mount().mountpoint + ")",
                e.sys_errno());
  }
}

namespace {

// Both helpers work on bare directory fds so that the recursive walk also covers
// children whose names a CgroupPath would refuse (made behind our back).
std::vector<std::string> list_subdirs(int dirfd, const std::string& shown) {
  auto fd = open_beneath(dirfd, ".", O_RDONLY | O_DIRECTORY);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd.get()), ::closedir);
  if (!dir) throw_errno(errno, "list " + shown);
  fd.release();  // owned by the DIR now
  std::vector<std::string> out;
  while (auto* ent = ::readdir(dir.get())) {
    std::string_view name(ent->d_name);
    if (name == "." || name == "..") continue;
    bool is_dir = ent->d_type == DT_DIR;
    if (ent->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::fstatat(::dirfd(dir.get()), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void read_procs(int dirfd, std::vector<pid_t>& out) {
  auto text = read_file_beneath(dirfd, "cgroup.procs");
  if (!text) text = read_file_beneath(dirfd, "tasks");
  if (!text) return;
  for (auto tok : split_ws(*text)) out.push_back(static_cast<pid_t>(parse_u64(tok)));
}

// Appends the processes of `dirfd` and of the cgroups up to `depth` levels below
// it; with `first_only`, stops as soon as one is found.
void collect(int dirfd, const std::string& shown, int depth, std::vector<pid_t>& out, bool first_only) {
  read_procs(dirfd, out);
  if (depth <= 0 || (first_only && !out.empty())) return;
  for (const auto& name : list_subdirs(dirfd, shown)) {
    // A child removed meanwhile is simply skipped.
    auto sub = try_open_beneath(dirfd, name, O_PATH | O_DIRECTORY);
    if (sub) collect(sub.get(), shown + "/" + name, depth - 1, out, first_only);
    if (first_only && !out.empty()) return;
  }
}

}  // namespace

std::vector<std::string> CgroupDir::children() const { return list_subdirs(fd(), hierarchy_->abs(path_)); }

std::vector<pid_t> CgroupDir::procs() const {
  std::vector<pid_t> out;
  read_procs(fd(), out);
  return out;
}

std::vector<pid_t> collect_procs(const Hierarchy& h, const CgroupPath& path, bool recursive) {
  std::vector<pid_t> out;
  auto dir = h.open(path);
  // The kernel caps nesting well below this; the bound only protects against fixtures.
  collect(dir.fd(), h.abs(path), recursive ? 1024 : 0, out, false);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool has_procs(const Hierarchy& h, const CgroupPath& path) {
  auto dir = h.try_open(path);
  if (!dir) return false;
  std::vector<pid_t> found;
  collect(dir->fd(), h.abs(path), 1024, found, true);
  return !found.empty();
}

}  // namespace nestbox::detail
