// SPDX-License-Identifier: Apache-2.0
// The per-container, page-cached tree (nestbox-fs --container-tree, layout in
// container_nodes.hpp): every file's content is a function of one container
// (the cgroup and pid namespace of its pid 1), not of whoever reads it, so the
// kernel's page cache can serve it. OPEN, OPENDIR and FLUSH are answered
// ENOSYS (the kernel then stops sending them for the connection, and keeps the
// cached pages across opens) and a read is served from
// the cache while the file's attributes are valid: GETATTR renders (sharing a
// rendering for kRenderShare), answers the rendering's size and an mtime that moves
// when the content changes (FUSE_CAP_AUTO_INVAL_DATA drops the stale pages),
// and keeps that rendering for the READs that follow.
//
// The host entries of a container's CPU directory are read the same way: a
// file's content is taken at GETATTR and kept for its READs.
//
// Who may walk in: the root is 0711 (no listing), a container's directory
// belongs to the uid of its pid 1 with mode 0500, checked by the kernel on
// every walk (default_permissions); a container reaches its files through the
// bind mounts nestbox-run made, never through the tree. A name that is not the
// host pid of a pid namespace's init does not exist.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "container_nodes.hpp"
#include "host_nodes.hpp"
#include "load_sampler.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "options.hpp"
#include "proc_files.hpp"

namespace nestbox::fs {

class ContainerTree {
 public:
  // The attribute timeout; how long a rendering is shared (a LOOKUP and the
  // GETATTR after it); how long one read of a host file (/proc/stat, ...)
  // serves every container's renderings. Together the bound on the age of what
  // a read at offset 0 returns.
  static constexpr std::chrono::milliseconds kRefresh{50};
  static constexpr std::chrono::milliseconds kRenderShare{10};
  static constexpr std::chrono::milliseconds kHostShare{40};
  static constexpr std::chrono::milliseconds kMaxAge = kRefresh + kRenderShare + kHostShare;
  static_assert(kMaxAge.count() == 100, "README (the per-container tree) documents 100 ms");
  // How long a container's owner and cgroups (from /proc/<pid>/status and
  // /proc/<pid>/cgroup) are reused, and for how many containers at most.
  static constexpr std::chrono::milliseconds kOwnerShare{45};
  static constexpr std::size_t kMaxContainers = 4096;
  // Renderings kept for READs at most; beyond it the oldest go (a READ without
  // one renders afresh).
  static constexpr std::size_t kMaxSnapshots = 16384;

  ContainerTree(const Options& options, std::unique_ptr<CgroupTree> tree);
  ~ContainerTree();
  ContainerTree(const ContainerTree&) = delete;
  ContainerTree& operator=(const ContainerTree&) = delete;

  static const fuse_lowlevel_ops& operations();
  void set_epoch(std::uint16_t) {}  // node ids are computed, the same for every server
  void start();
  void stop();

  // The owner of the container whose pid 1 has host pid `pid`; nullopt when
  // `pid` is not the init of a pid namespace other than the host's.
  struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
  };
  std::optional<Owner> container(pid_t pid);
  // All throw nestbox::Error (NotFound for a name or node that is not, or no
  // longer, there).
  struct stat lookup(std::uint64_t parent, std::string_view name);
  struct stat attr(std::uint64_t ino);
  Text content(std::uint64_t ino, bool fresh);
  std::string readlink(std::uint64_t ino);
  struct DirEntry {
    std::string name;
    std::uint64_t ino = 0;
    mode_t type = 0;
  };
  // With `.` and `..`; offsets are indexes into it.
  std::vector<DirEntry> list(std::uint64_t ino);
  void forget(std::uint64_t ino);

 private:
  struct Snapshot {
    Text text;
    timespec mtime{};
    std::chrono::steady_clock::time_point made{};
  };
  void trim_locked();
  // The host entry of a container's CPU directory that `node` names, checked
  // against the CPUs the container sees.
  HostNodes::Found host_entry(const TreeNode& node);
  // An mtime for directory `ino` that moves with its listing, into `st`.
  void keep_listing(std::uint64_t ino, struct stat& st);
  // Keeps `text` as the content of file `ino`; its size and mtime into `st`.
  void keep_snapshot(std::uint64_t ino, Text text, struct stat& st);

  std::unique_ptr<CgroupTree> cgroups_;
  LoadSampler sampler_;
  ProcFiles files_;
  HostNodes host_cpus_;
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Snapshot> snapshots_;
};

}  // namespace nestbox::fs
