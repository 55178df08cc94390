// SPDX-License-Identifier: Apache-2.0
// MOUNTPOINT/cgroup: each hierarchy shown with the reader's own cgroup as its
// root. Nodes name real cgroups; every operation first checks that the node lies
// inside the *requesting* reader's cgroup (so a directory fd handed to another
// process, a cwd kept after moving, or a cached dentry never reaches above or
// beside that reader's cgroup), then re-applies the kernel's permission rules
// with the reader's credentials. Hidden things answer ENOENT.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "access.hpp"
#include "node_quota.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/proc.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {

class CgroupView {
 public:
  static constexpr std::uint64_t kFirstIno = 1u << 20;

  // `limits` bound the node table and each uid's share of it (node_quota.hpp).
  CgroupView(const HostLayout& layout, const ProcFs& proc, NodeLimits limits = {});

  // Directory names under MOUNTPOINT/cgroup ("memory", "cpu", "name=systemd", "unified").
  std::vector<std::string> hierarchy_names() const;
  // Bit 62 belongs to the sysfs CPU directory's range (cpu_dir.hpp), bit 61
  // to the block directory's (block_dir.hpp).
  static bool owns(std::uint64_t ino) { return ino >= kFirstIno && (ino >> 61) == 0; }
  // Node ids carry the epoch of the server that made them (bits 40 and up),
  // so a node id the kernel kept from an earlier server of this connection is
  // never taken for one of ours: it answers ESTALE. Before the first lookup.
  void set_epoch(std::uint16_t epoch);

  struct Entry {
    std::uint64_t ino = 0;
    struct stat st {};
  };
  struct DirEntry {
    std::string name;
    mode_t type = 0;  // S_IFDIR / S_IFREG
  };

  // All throw nestbox::Error (NotFound for anything hidden).
  Entry lookup_top(const Cred& cred, std::string_view hierarchy);
  Entry lookup(const Cred& cred, std::uint64_t parent, std::string_view name);
  struct stat getattr(const Cred& cred, std::uint64_t ino);
  void forget(std::uint64_t ino, std::uint64_t count);
  std::vector<DirEntry> list(const Cred& cred, std::uint64_t ino);
  // Checks access for O_RDONLY/O_WRONLY/O_RDWR `flags`.
  void open(const Cred& cred, std::uint64_t ino, int flags);
  // The file's current content for the reader; pids in cgroup.procs, tasks and
  // cgroup.threads are numbered in the reader's pid namespace (those it cannot
  // see are left out), as a write of them expects.
  std::string read(const Cred& cred, std::uint64_t ino);
  void write(const Cred& cred, std::uint64_t ino, std::string_view data);
  Entry mkdir(const Cred& cred, std::uint64_t parent, std::string_view name, mode_t mode);
  void rmdir(const Cred& cred, std::uint64_t parent, std::string_view name);
  // Renames a cgroup within its parent, as cgroupfs allows (v1; cgroup2 refuses
  // every rename with EPERM, which is passed on). `flags` are renameat2()'s.
  void rename(const Cred& cred, std::uint64_t parent, std::string_view name, std::uint64_t new_parent,
              std::string_view new_name, unsigned flags);
  std::size_t node_count() const;
  // The nodes charged to `uid` and to the whole table.
  NodeQuota::Usage usage(uid_t uid) const;
  NodeQuota::Usage usage() const;

 private:
  struct Hierarchy {
    std::string name;
    std::vector<std::string> controllers;  // empty for cgroup2
    CgroupPath mount_root;
    UniqueFd dir;
  };
  struct Node {
    std::size_t hierarchy = 0;
    CgroupPath cgroup;   // the cgroup (for a file: the cgroup that holds it)
    std::string file;    // "" for the cgroup directory itself
    std::uint64_t lookups = 0;
    uid_t owner = 0;         // the uid whose lookup made the node, charged for it
    std::size_t bytes = 0;   // what it was charged (node_bytes())
  };
  using Key = std::tuple<std::size_t, std::string, std::string>;

  Node node(std::uint64_t ino) const;
  // The reader's cgroup in hierarchy h (NotFound if it has none there).
  CgroupPath reader_root(const Cred& cred, std::size_t h) const;
  // Throws NotFound unless the node lies in the reader's view.
  void require_visible(const Cred& cred, const Node& n) const;
  // Path below the hierarchy's mount for a cgroup (+ file).
  std::string real_rel(const Node& n) const;
  std::string real_rel(std::size_t h, const CgroupPath& cg, std::string_view file) const;
  struct stat real_stat(std::size_t h, const std::string& rel) const;
  // The node for n's key, made (and charged to `owner`) if there is none.
  Entry remember(Node n, const struct stat& st, uid_t owner);
  // Estimated heap bytes of a node: its entries in both tables, with their
  // keys and the strings that do not fit in place.
  static std::size_t node_bytes(const Node& n);
  // Points the nodes of `from` and everything below it (in hierarchy h) at `to`.
  void retarget(std::size_t h, const CgroupPath& from, const CgroupPath& to);
  void move_process(const Cred& cred, const Node& n, std::string_view data);
  pid_t host_pid(const Cred& cred, pid_t pid_in_reader_ns) const;
  std::string reader_pids(const Cred& cred, std::string_view content) const;
  // `host`'s number in pid namespace `ns` (inode) at nesting depth `level`.
  std::optional<pid_t> pid_in_namespace(pid_t host, ino_t ns, std::size_t level) const;

  const ProcFs& proc_;
  std::vector<Hierarchy> hierarchies_;
  NodeQuota quota_;  // under mutex_
  mutable std::mutex mutex_;
  std::uint64_t epoch_base_ = kFirstIno + (std::uint64_t{1} << 40);
  std::uint64_t next_ino_ = epoch_base_;
  std::unordered_map<std::uint64_t, Node> nodes_;
  std::map<Key, std::uint64_t> by_key_;
};

}  // namespace nestbox::fs
