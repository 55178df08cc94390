// SPDX-License-Identifier: Apache-2.0
#include "cgroup_view.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/safe_io.hpp"
#include "reader.hpp"
#include "reader_log.hpp"

namespace nestbox::fs {
namespace {

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out.push_back(sep);
    out += p;
  }
  return out;
}

[[noreturn]] void hidden(std::string_view what) {
  throw Error(Errc::NotFound, std::string(what) + ": no such file or directory", ENOENT);
}

bool is_procs_file(std::string_view file) {
  return file == "cgroup.procs" || file == "tasks" || file == "cgroup.threads";
}

}  // namespace

CgroupView::CgroupView(const HostLayout& layout, const ProcFs& proc, NodeLimits limits)
    : proc_(proc), quota_(limits) {
  for (const auto& m : layout.mounts) {
    auto root = CgroupPath::try_parse(m.root);
    if (!root) continue;
    Hierarchy h;
    h.name = m.unified ? "unified" : join(m.controllers, ',');
    if (h.name.empty()) continue;
    if (!m.unified) h.controllers = m.controllers;
    h.mount_root = *root;
    try {
      h.dir = open_directory(m.mountpoint);
    } catch (const std::exception&) {
      continue;
    }
    hierarchies_.push_back(std::move(h));
  }
}

std::vector<std::string> CgroupView::hierarchy_names() const {
  std::vector<std::string> out;
  for (const auto& h : hierarchies_) out.push_back(h.name);
  return out;
}

std::size_t CgroupView::node_count() const {
  std::lock_guard lock(mutex_);
  return nodes_.size();
}

NodeQuota::Usage CgroupView::usage(uid_t uid) const {
  std::lock_guard lock(mutex_);
  return quota_.of(uid);
}

NodeQuota::Usage CgroupView::usage() const {
  std::lock_guard lock(mutex_);
  return quota_.total();
}

std::size_t CgroupView::node_bytes(const Node& n) {
  // Heap bytes of a string: nothing while it fits in place; else its buffer
  // with the allocator's header.
  static const std::size_t in_place = std::string().capacity();
  constexpr std::size_t kAllocHeader = 16;
  auto heap = [](std::size_t length) { return length > in_place ? length + 1 + kAllocHeader : 0; };
  // One entry in each table (the hash node with its bucket, the tree node),
  // each a separate allocation.
  std::size_t bytes = sizeof(std::pair<const std::uint64_t, Node>) + 2 * sizeof(void*) +
                      sizeof(std::pair<const Key, std::uint64_t>) + 4 * sizeof(void*) + 2 * kAllocHeader;
  // The path in the node and in its key, the name in both, the components.
  bytes += 2 * heap(n.cgroup.str().size()) + 2 * heap(n.file.size());
  const auto& parts = n.cgroup.components();
  if (!parts.empty()) bytes += parts.size() * sizeof(std::string) + kAllocHeader;
  for (const auto& part : parts) bytes += heap(part.size());
  return bytes;
}

void CgroupView::set_epoch(std::uint16_t epoch) {
  std::lock_guard lock(mutex_);
  epoch_base_ = kFirstIno + (std::uint64_t{epoch} << 40);
  next_ino_ = epoch_base_;
}

CgroupView::Node CgroupView::node(std::uint64_t ino) const {
  std::lock_guard lock(mutex_);
  if (ino < epoch_base_ || ino - epoch_base_ >= (std::uint64_t{1} << 40))
    throw Error(Errc::NotFound, "cgroup view node of an earlier server", ESTALE);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) hidden("inode");
  return it->second;
}

CgroupPath CgroupView::reader_root(const Cred& cred, std::size_t h) const {
  for (const auto& e : proc_.cgroups(cred.pid)) {
    if (!entry_matches(e, hierarchies_[h].controllers)) continue;
    // "/.." style paths (reader in another cgroup namespace) are not valid paths
    // and hide everything.
    auto p = CgroupPath::try_parse(e.path);
    if (!p) break;
    return *p;
  }
  hidden(hierarchies_[h].name);
}

void CgroupView::require_visible(const Cred& cred, const Node& n) const {
  if (!reader_root(cred, n.hierarchy).contains(n.cgroup)) hidden(n.cgroup.str());
}

std::string CgroupView::real_rel(std::size_t h, const CgroupPath& cg, std::string_view file) const {
  auto rel = cg.relative_to(hierarchies_[h].mount_root);
  if (!rel) hidden(cg.str());
  std::string s = rel->relative();
  if (!file.empty()) {
    if (!s.empty()) s.push_back('/');
    s.append(file);
  }
  return s;
}

std::string CgroupView::real_rel(const Node& n) const { return real_rel(n.hierarchy, n.cgroup, n.file); }

struct stat CgroupView::real_stat(std::size_t h, const std::string& rel) const {
  UniqueFd fd = open_beneath(hierarchies_[h].dir.get(), rel, O_PATH | O_CLOEXEC);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) throw_errno(errno, "fstat " + rel);
  return st;
}

CgroupView::Entry CgroupView::remember(Node n, const struct stat& st, uid_t owner) {
  Key key{n.hierarchy, n.cgroup.str(), n.file};
  std::lock_guard lock(mutex_);
  Entry out{0, st};
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    nodes_[it->second].lookups++;
    out.ino = it->second;
  } else {
    // The kernel forgets nodes it no longer caches; the shares only stop one
    // reader's runaway client from taking the table from the others.
    n.owner = owner;
    n.bytes = node_bytes(n);
    quota_.charge(owner, n.bytes);
    out.ino = next_ino_++;
    n.lookups = 1;
    nodes_.emplace(out.ino, std::move(n));
    by_key_.emplace(std::move(key), out.ino);
  }
  out.st.st_ino = out.ino;
  return out;
}

void CgroupView::forget(std::uint64_t ino, std::uint64_t count) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  it->second.lookups -= std::min(count, it->second.lookups);
  if (it->second.lookups == 0) {
    // The key may belong to another node by now (see retarget()).
    auto k = by_key_.find(Key{it->second.hierarchy, it->second.cgroup.str(), it->second.file});
    if (k != by_key_.end() && k->second == ino) by_key_.erase(k);
    quota_.release(it->second.owner, it->second.bytes);
    nodes_.erase(it);
  }
}

CgroupView::Entry CgroupView::lookup_top(const Cred& cred, std::string_view hierarchy) {
  for (std::size_t h = 0; h < hierarchies_.size(); ++h) {
    if (hierarchies_[h].name != hierarchy) continue;
    CgroupPath root = reader_root(cred, h);
    return remember(Node{h, root, "", 0}, real_stat(h, real_rel(h, root, "")), cred.uid);
  }
  hidden(hierarchy);
}

CgroupView::Entry CgroupView::lookup(const Cred& cred, std::uint64_t parent, std::string_view name) {
  Node n = node(parent);
  if (!n.file.empty()) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
  require_visible(cred, n);
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) hidden(name);
  struct stat st = real_stat(n.hierarchy, real_rel(n.hierarchy, n.cgroup, name));
  if (S_ISDIR(st.st_mode)) {
    auto child = CgroupPath::try_parse(n.cgroup.str() + (n.cgroup.is_root() ? "" : "/") + std::string(name));
    if (!child) hidden(name);
    return remember(Node{n.hierarchy, *child, "", 0}, st, cred.uid);
  }
  if (!S_ISREG(st.st_mode)) hidden(name);
  return remember(Node{n.hierarchy, n.cgroup, std::string(name), 0}, st, cred.uid);
}

struct stat CgroupView::getattr(const Cred& cred, std::uint64_t ino) {
  Node n = node(ino);
  require_visible(cred, n);
  struct stat st = real_stat(n.hierarchy, real_rel(n));
  st.st_ino = ino;
  return st;
}

std::vector<CgroupView::DirEntry> CgroupView::list(const Cred& cred, std::uint64_t ino) {
  Node n = node(ino);
  if (!n.file.empty()) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
  require_visible(cred, n);
  UniqueFd fd = open_beneath(hierarchies_[n.hierarchy].dir.get(), real_rel(n), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) throw_errno(errno, "fstat");
  if (!dac_allows(st, cred, kRead)) throw Error(Errc::PermissionDenied, "permission denied", EACCES);
  DIR* dir = fdopendir(fd.get());
  if (!dir) throw_errno(errno, "fdopendir");
  fd.release();
  std::vector<DirEntry> out;
  while (dirent* de = readdir(dir)) {
    std::string_view name = de->d_name;
    if (name == "." || name == "..") continue;
    out.push_back({std::string(name), de->d_type == DT_DIR ? mode_t{S_IFDIR} : mode_t{S_IFREG}});
  }
  closedir(dir);
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

void CgroupView::open(const Cred& cred, std::uint64_t ino, int flags) {
  Node n = node(ino);
  require_visible(cred, n);
  if (n.file.empty()) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
  struct stat st = real_stat(n.hierarchy, real_rel(n));
  int acc = flags & O_ACCMODE;
  int want = acc == O_RDONLY ? kRead : acc == O_WRONLY ? kWrite : kRead | kWrite;
  if (!dac_allows(st, cred, want)) throw Error(Errc::PermissionDenied, "permission denied", EACCES);
}

std::string CgroupView::read(const Cred& cred, std::uint64_t ino) {
  Node n = node(ino);
  require_visible(cred, n);
  if (n.file.empty()) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
  UniqueFd fd = open_beneath(hierarchies_[n.hierarchy].dir.get(), real_rel(n), O_RDONLY | O_CLOEXEC);
  std::string content = read_fd(fd.get());
  return is_procs_file(n.file) ? reader_pids(cred, content) : content;
}

std::string CgroupView::reader_pids(const Cred& cred, std::string_view content) const {
  const ino_t reader_ns = proc_.ns_inode(cred.pid, "pid");
  if (reader_ns == proc_.ns_inode(getpid(), "pid")) return std::string(content);
  const auto reader = proc_.status(cred.pid);
  if (reader.nspid.empty()) return {};
  const std::size_t level = reader.nspid.size() - 1;
  std::string out;
  for (auto line : split_lines(content)) {
    pid_t host = 0;
    try {
      host = static_cast<pid_t>(parse_i64(line));
    } catch (const std::exception&) {
      continue;
    }
    if (auto pid = pid_in_namespace(host, reader_ns, level)) out.append(std::to_string(*pid)).push_back('\n');
  }
  return out;
}

std::optional<pid_t> CgroupView::pid_in_namespace(pid_t host, ino_t ns, std::size_t level) const {
  // The process is numbered in `ns` (at depth `level`) if its own pid namespace
  // is `ns` or lies below it; the kernel tells the parents of a namespace.
  try {
    const auto st = proc_.status(host);
    if (st.nspid.size() <= level) return std::nullopt;
    const std::string link = proc_.root() + "/" + std::to_string(host) + "/ns/pid";
    UniqueFd fd(::open(link.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    for (std::size_t depth = st.nspid.size() - 1; depth > level; --depth) {
      UniqueFd parent(::ioctl(fd.get(), NS_GET_PARENT));
      if (!parent) return std::nullopt;
      fd = std::move(parent);
    }
    struct stat nst {};
    if (::fstat(fd.get(), &nst) != 0 || nst.st_ino != ns) return std::nullopt;
    return st.nspid[level];
  } catch (const std::exception&) {
    return std::nullopt;  // gone meanwhile
  }
}

void CgroupView::write(const Cred& cred, std::uint64_t ino, std::string_view data) {
  Node n = node(ino);
  require_visible(cred, n);
  if (n.file.empty()) throw Error(Errc::InvalidPath, "is a directory", EISDIR);
  const std::string rel = real_rel(n);
  if (!dac_allows(real_stat(n.hierarchy, rel), cred, kWrite))
    throw Error(Errc::PermissionDenied, "permission denied", EACCES);
  if (is_procs_file(n.file)) {
    move_process(cred, n, data);
    return;
  }
  write_file_beneath(hierarchies_[n.hierarchy].dir.get(), rel, data);
}

pid_t CgroupView::host_pid(const Cred& cred, pid_t pid) const {
  const ino_t writer_ns = proc_.ns_inode(cred.pid, "pid");
  if (writer_ns == proc_.ns_inode(getpid(), "pid")) return pid;
  // The number is in the writer's pid namespace: find the process numbered so
  // there (its own namespace is the writer's or lies below it).
  const auto writer = proc_.status(cred.pid);
  if (writer.nspid.empty()) throw Error(Errc::NotFound, "no such process", ESRCH);
  const std::size_t level = writer.nspid.size() - 1;
  for (pid_t p : proc_.all_pids()) {
    try {
      auto st = proc_.status(p);
      if (st.nspid.size() <= level || st.nspid[level] != pid) continue;
    } catch (const std::exception&) {
      continue;
    }
    if (pid_in_namespace(p, writer_ns, level) == pid) return p;
  }
  throw Error(Errc::NotFound, "no such process " + std::to_string(pid), ESRCH);
}

void CgroupView::move_process(const Cred& cred, const Node& n, std::string_view data) {
  std::int64_t value = 0;
  try {
    value = parse_i64(data);
  } catch (const Error&) {
    throw Error(Errc::InvalidValue, "expected one process id", EINVAL);
  }
  if (value < 0 || value > 0x3fffffff) throw Error(Errc::InvalidValue, "bad process id", EINVAL);
  pid_t target = value == 0 ? cred.pid : host_pid(cred, static_cast<pid_t>(value));

  MoveRequest req;
  req.writer = cred;
  auto status = proc_.status(target);
  req.target_ruid = status.ruid;
  req.target_suid = status.ruid;
  req.view_root = reader_root(cred, n.hierarchy);
  req.destination = n.cgroup;
  bool found = false;
  for (const auto& e : proc_.cgroups(target)) {
    if (!entry_matches(e, hierarchies_[n.hierarchy].controllers)) continue;
    auto p = CgroupPath::try_parse(e.path);
    if (!p) break;
    req.source = *p;
    found = true;
    break;
  }
  if (!found) throw Error(Errc::PermissionDenied, "the process lives outside the view", EACCES);
  const std::size_t h = n.hierarchy;
  check_move(req, [&](const CgroupPath& common) {
    try {
      return dac_allows(real_stat(h, real_rel(h, common, "cgroup.procs")), cred, kWrite);
    } catch (const std::exception&) {
      return false;
    }
  });
  write_file_beneath(hierarchies_[h].dir.get(), real_rel(n), std::to_string(target));
}

CgroupView::Entry CgroupView::mkdir(const Cred& cred, std::uint64_t parent, std::string_view name, mode_t mode) {
  Node n = node(parent);
  if (!n.file.empty()) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
  require_visible(cred, n);
  std::string why;
  if (!CgroupPath::is_valid_name(name, &why)) throw Error(Errc::InvalidPath, why, EINVAL);
  const std::string rel = real_rel(n);
  const int root_fd = hierarchies_[n.hierarchy].dir.get();
  if (!dac_allows(real_stat(n.hierarchy, rel), cred, kWrite | kExec))
    throw Error(Errc::PermissionDenied, "permission denied", EACCES);
  UniqueFd dir = open_beneath(root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::string child_name(name);
  if (::mkdirat(dir.get(), child_name.c_str(), mode & 07777) != 0) throw_errno(errno, "mkdir " + child_name);
  if (cred.uid != 0) {
    // A cgroup made by a user belongs to that user, as when the user runs mkdir
    // on a delegated cgroupfs directory itself.
    UniqueFd child = open_beneath(dir.get(), child_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fchown(child.get(), cred.uid, cred.gid) != 0) throw_errno(errno, "chown " + child_name);
    DIR* d = fdopendir(dup(child.get()));
    if (d) {
      while (dirent* de = readdir(d)) {
        if (de->d_type != DT_REG) continue;
        if (fchownat(child.get(), de->d_name, cred.uid, cred.gid, AT_SYMLINK_NOFOLLOW) != 0)
          reader_log().log(spdlog::level::warn, "mkdir chown failure", "chown {}/{}: {}", child_name, de->d_name,
                           std::strerror(errno));
      }
      closedir(d);
    }
  }
  return lookup(cred, parent, name);
}

void CgroupView::rmdir(const Cred& cred, std::uint64_t parent, std::string_view name) {
  Node n = node(parent);
  if (!n.file.empty()) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
  require_visible(cred, n);
  if (!CgroupPath::is_valid_name(name)) hidden(name);
  const std::string rel = real_rel(n);
  if (!dac_allows(real_stat(n.hierarchy, rel), cred, kWrite | kExec))
    throw Error(Errc::PermissionDenied, "permission denied", EACCES);
  UniqueFd dir = open_beneath(hierarchies_[n.hierarchy].dir.get(), rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::string child_name(name);
  if (::unlinkat(dir.get(), child_name.c_str(), AT_REMOVEDIR) != 0) throw_errno(errno, "rmdir " + child_name);
}

void CgroupView::rename(const Cred& cred, std::uint64_t parent, std::string_view name, std::uint64_t new_parent,
                        std::string_view new_name, unsigned flags) {
  Node n = node(parent);
  Node to = node(new_parent);
  if (!n.file.empty() || !to.file.empty()) throw Error(Errc::InvalidPath, "not a directory", ENOTDIR);
  require_visible(cred, n);
  require_visible(cred, to);
  if (!CgroupPath::is_valid_name(name)) hidden(name);
  std::string why;
  if (!CgroupPath::is_valid_name(new_name, &why)) throw Error(Errc::InvalidPath, why, EINVAL);
  // cgroupfs renames a cgroup only within its parent (EIO otherwise). Across
  // hierarchies the host would say EXDEV, but then mv falls back to copying:
  // it would make a cgroup in the other hierarchy and write its files.
  if (to.hierarchy != n.hierarchy) throw Error(Errc::InvalidPath, "cannot rename across hierarchies", EIO);
  if (to.cgroup != n.cgroup) throw Error(Errc::InvalidPath, "a cgroup is renamed only within its parent", EIO);
  const std::string rel = real_rel(n);
  if (!dac_allows(real_stat(n.hierarchy, rel), cred, kWrite | kExec))
    throw Error(Errc::PermissionDenied, "permission denied", EACCES);
  const CgroupPath from_cg = n.cgroup.child(name), to_cg = n.cgroup.child(new_name);
  UniqueFd dir = open_beneath(hierarchies_[n.hierarchy].dir.get(), rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string old_child(name), new_child(new_name);
  if (::renameat2(dir.get(), old_child.c_str(), dir.get(), new_child.c_str(), flags) != 0)
    throw_errno(errno, "rename " + old_child + " to " + new_child);
  retarget(n.hierarchy, from_cg, to_cg);
}

void CgroupView::retarget(std::size_t h, const CgroupPath& from, const CgroupPath& to) {
  // The kernel keeps the inode of a renamed directory (and of what lies below),
  // so open handles and working directories there must follow the new name.
  std::lock_guard lock(mutex_);
  for (auto& [ino, n] : nodes_) {
    if (n.hierarchy != h || !from.contains(n.cgroup)) continue;
    auto rel = n.cgroup.relative_to(from);
    if (!rel) continue;
    std::optional<CgroupPath> moved;
    try {
      moved = to.join(*rel);
    } catch (const Error&) {
      // Too long under the new name: the node keeps the old path, now hidden.
      continue;
    }
    if (auto it = by_key_.find(Key{h, n.cgroup.str(), n.file}); it != by_key_.end() && it->second == ino)
      by_key_.erase(it);
    n.cgroup = std::move(*moved);
    const std::size_t bytes = node_bytes(n);
    quota_.resize(n.owner, n.bytes, bytes);
    n.bytes = bytes;
    // A node left from an earlier cgroup of the new name (removed, not yet
    // forgotten by the kernel) loses its key to the renamed one.
    by_key_.insert_or_assign(Key{h, n.cgroup.str(), n.file}, ino);
  }
}

}  // namespace nestbox::fs
