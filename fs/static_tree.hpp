// SPDX-License-Identifier: Apache-2.0
// The fixed part of the mount: directories and virtualized files with static
// inode numbers, laid out like lxcfs (MOUNTPOINT/proc/..., MOUNTPOINT/sys/...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proc_files.hpp"

namespace nestbox::fs {

struct StaticNode {
  std::uint64_t ino = 0;
  std::uint64_t parent = 0;
  std::string name;
  bool dir = false;
  FileKind kind = FileKind::Static;  // files only
  bool cgroup_root = false;          // MOUNTPOINT/cgroup, whose children are the view
  bool cpu_dir = false;              // sys/devices/system/cpu, whose other entries are the host's (CpuDir)
  bool block_dir = false;            // sys/block, whose entries are the host's devices (BlockDir)
};

class StaticTree {
 public:
  static constexpr std::uint64_t kRoot = 1;
  StaticTree();
  const StaticNode* find(std::uint64_t ino) const;
  const StaticNode* child(std::uint64_t parent, std::string_view name) const;
  std::vector<const StaticNode*> children(std::uint64_t parent) const;
  // Path below the mount ("proc/meminfo"), for tests and logs.
  std::string path(std::uint64_t ino) const;
  std::size_t size() const { return nodes_.size(); }

 private:
  std::uint64_t add(std::uint64_t parent, std::string name, bool dir, FileKind kind = FileKind::Static);
  std::vector<StaticNode> nodes_;  // index = ino - 1
};

}  // namespace nestbox::fs
