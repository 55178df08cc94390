// SPDX-License-Identifier: Apache-2.0
// MOUNTPOINT/sys/block: for every block device of the host's /sys/block, a
// directory holding one file, `stat`, the device's counters as the reader's
// cgroup accounts them (the rendering is render_block_stat). It is not a
// replacement for the host directory, whose entries are symlinks into
// /sys/devices with many more files: nestbox-run binds each `stat` onto the
// device's own, so sysstat's iostat (which reads /sys/block/<dev>/stat, not
// /proc/diskstats) computes the container's rates and everything else about the
// device stays the host's.
//
// Devices come and go (loop devices, hotplug), so names are looked up in the
// host directory on every walk; a name gets a number pair (directory, stat) the
// first time it is seen and keeps it for the server's life, bounded by kMaxDevices.
// Numbers carry the server's epoch (bits 40-55), as in cpu_dir.hpp.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {

class BlockDir {
 public:
  // Bit 61 set and bit 62 clear: the CPU directory's range has bit 62 (cpu_dir.hpp),
  // the cgroup view's neither (cgroup_view.hpp).
  static constexpr std::uint64_t kRangeBit = std::uint64_t{1} << 61;
  static constexpr std::uint64_t kMaxDevices = std::uint64_t{1} << 16;
  static bool owns(std::uint64_t ino) { return (ino >> 61) == 1; }

  // `host_dir` is /sys/block (a fixture tree in tests).
  explicit BlockDir(std::string host_dir);
  // Before the first lookup.
  void set_epoch(std::uint16_t epoch);

  struct Device {
    std::string name;
    unsigned major = 0, minor = 0;
  };
  // The directory of host device `name`; throws nestbox::Error (NotFound) when
  // the host has no such device now.
  std::uint64_t lookup(std::string_view name);
  // The `stat` file below a device directory.
  static std::uint64_t stat_of(std::uint64_t dir_ino) { return dir_ino | 1; }
  static bool is_stat(std::uint64_t ino) { return (ino & 1) != 0; }
  // Names of the host's devices now, sorted.
  std::vector<std::string> names() const;
  // The device a node belongs to, with its numbers read from the host now
  // (throws NotFound if it went away, ESTALE for a node of an earlier server).
  Device device(std::uint64_t ino) const;
  // The host's own `stat` of the device ("" if unreadable).
  std::string host_stat(const Device& dev) const;
  std::size_t device_count() const;

 private:
  std::string name_of(std::uint64_t ino) const;

  UniqueFd root_;
  std::uint64_t base_ = kRangeBit | (std::uint64_t{1} << 40);
  mutable std::mutex mutex_;
  std::vector<std::string> names_;  // index = (ino - base_) / 2
  std::unordered_map<std::string, std::uint64_t> by_name_;
};

}  // namespace nestbox::fs
