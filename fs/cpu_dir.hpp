// SPDX-License-Identifier: Apache-2.0
// MOUNTPOINT/sys/devices/system/cpu of the compatible layout: the host's
// directory seen through the reader's visible CPUs (what it shows:
// host_cpu_dir.hpp); the CPU lists are rendered files of the fixed tree.
//
// Nodes are host paths below the directory, numbered once and kept for the
// server's life: the host directory is finite, so the table is bounded by it,
// and a number always means the same path (the kernel may hold it forever).
// Numbers carry the server's epoch (bits 40-55) so that one kept by the kernel
// from an earlier server of the connection answers ESTALE instead of naming
// whatever path this server numbered the same.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "access.hpp"
#include "host_cpu_dir.hpp"

namespace nestbox::fs {

class CpuDir {
 public:
  // Inode numbers of passed-through entries: bit 62 set, which no other range
  // uses. kFirstIno is the first of epoch 1.
  static constexpr std::uint64_t kRangeBit = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kFirstIno = kRangeBit | (std::uint64_t{1} << 40);
  static constexpr std::uint64_t kMaxNodes = std::uint64_t{1} << 20;
  static bool owns(std::uint64_t ino) { return (ino & kRangeBit) != 0; }
  // Before the first lookup.
  void set_epoch(std::uint16_t epoch);

  // `host_dir` is /sys/devices/system/cpu (a fixture tree in tests).
  explicit CpuDir(const std::string& host_dir) : host_(host_dir) {}

  static bool is_rendered_list(std::string_view name) { return HostCpuDir::is_rendered_list(name); }

  struct Entry {
    std::uint64_t ino = 0;
    struct stat st {};
  };
  struct DirEntry {
    std::string name;
    std::uint64_t ino = 0;
    mode_t type = 0;
  };
  // `visible` nullopt = the reader sees every host CPU. Both throw
  // nestbox::Error (NotFound) for hidden or missing names.
  // `parent` 0 = the directory itself.
  Entry lookup(std::uint64_t parent, std::string_view name, const std::optional<CpuList>& visible);
  // Entries of a node (or of the directory itself for 0) without `.`/`..` and,
  // at the top, without the rendered lists.
  std::vector<DirEntry> list(std::uint64_t ino, const std::optional<CpuList>& visible);
  struct stat getattr(std::uint64_t ino);
  std::string readlink(std::uint64_t ino) { return host_.readlink(rel(ino)); }
  // Checks that `cred` may read the file and that it lies under a visible CPU.
  void check_open(std::uint64_t ino, const Cred& cred, const std::optional<CpuList>& visible);
  // The file's current content (read afresh on every call).
  std::string read(std::uint64_t ino) { return host_.read(rel(ino)); }
  // Whether a node lies under a CPU that `visible` hides.
  bool hidden(std::uint64_t ino, const std::optional<CpuList>& visible) {
    return !HostCpuDir::visible(rel(ino), visible);
  }
  std::size_t node_count() const;

 private:
  std::string rel(std::uint64_t ino) const;
  std::uint64_t remember(const std::string& rel);

  HostCpuDir host_;
  std::uint64_t base_ = kFirstIno;
  mutable std::mutex mutex_;
  std::vector<std::string> paths_;  // index = ino - base_
  std::unordered_map<std::string, std::uint64_t> by_path_;
};

}  // namespace nestbox::fs
