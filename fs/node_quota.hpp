// SPDX-License-Identifier: Apache-2.0
// Shares of the cgroup view's node table. Every reader shares one table, and
// the kernel alone decides when a node is forgotten, so without shares one user
// who keeps many nodes referenced (open fds, cwds, a huge tree walked and held
// in the dentry cache) would fill the table and every reader would get ENFILE.
// Each node is charged to the uid whose lookup made it, until the kernel forgets
// it, for one node and its estimated heap bytes (paths make a node's size vary
// from a few hundred bytes to ~16 KB, so a count alone would not bound memory).
//  - The whole table: at most `nodes` nodes and `bytes` bytes.
//  - One uid other than root: at most `uid_nodes` and `uid_bytes`.
//  - All uids other than root together: the whole table less one share, so
//    root (the host's administrator) always finds room.
//  - Root: only the whole table.
// A refusal is Error(QuotaExceeded) with errno ENFILE for the one reader.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <unordered_map>

namespace nestbox::fs {

struct NodeLimits {
  // 2^20 nodes and 256 MiB in all; one uid gets an eighth of each (131072 nodes,
  // 32 MiB: some 80000 nodes of typical paths, far more than a walk of a
  // container's whole cgroup tree needs), so filling the table takes eight uids
  // (a container with a subordinate uid range has that many: see README.md).
  std::size_t nodes = std::size_t{1} << 20;
  std::size_t bytes = std::size_t{256} << 20;
  std::size_t uid_nodes = nodes / 8;
  std::size_t uid_bytes = bytes / 8;

  // A table of `n` nodes with the default proportions: 256 bytes a node on
  // average, an eighth of both for one uid.
  static NodeLimits of_nodes(std::size_t n) { return {n, n * 256, n / 8, n * 256 / 8}; }
};

// Not synchronized: the owner holds its own lock around every call.
class NodeQuota {
 public:
  explicit NodeQuota(NodeLimits limits = {});

  struct Usage {
    std::size_t nodes = 0;
    std::size_t bytes = 0;
  };
  // Takes one node of `bytes` for `uid`, or throws Error(QuotaExceeded, ENFILE)
  // saying which bound is reached (and takes nothing).
  void charge(uid_t uid, std::size_t bytes);
  // Gives back a node charged with `bytes`.
  void release(uid_t uid, std::size_t bytes);
  // A charged node's size changed (a rename): not refused, since the rename has
  // happened; the new size counts against the next charge.
  void resize(uid_t uid, std::size_t old_bytes, std::size_t new_bytes);

  Usage of(uid_t uid) const;
  Usage total() const { return total_; }
  const NodeLimits& limits() const { return limits_; }

 private:
  NodeLimits limits_;
  Usage total_;
  Usage users_;  // every uid but root
  std::unordered_map<uid_t, Usage> by_uid_;  // only uids holding nodes
};

}  // namespace nestbox::fs
