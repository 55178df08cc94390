// SPDX-License-Identifier: Apache-2.0
// The host's /sys/devices/system/cpu seen through a set of visible CPUs, by
// path below it: the one home of what both layouts show there. The CPU lists
// (online, possible, present, enabled, offline) are rendered by each layout and
// left out here; every other entry is the host's, passed through read-only,
// except that a `cpuN` directory exists only for the CPUs one sees (host
// numbers, see README.md (nestbox-fs)). Tools that count CPUs from sysfs
// (glibc's get_nprocs_conf, lscpu, htop, psutil) then agree with
// /proc/cpuinfo and /proc/stat. How entries are numbered is each layout's
// (CpuDir for the compatible one, the per-container tree its own).
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nestbox/parse.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::fs {

class HostCpuDir {
 public:
  // `host_dir` is /sys/devices/system/cpu (a fixture tree in tests).
  explicit HostCpuDir(const std::string& host_dir);

  // Whether `name` is one of the CPU lists a layout renders.
  static bool is_rendered_list(std::string_view name);
  // Whether the entry at `rel` ("" = the directory itself) lies under a CPU
  // that `visible` shows (nullopt = every host CPU).
  static bool visible(std::string_view rel, const std::optional<CpuList>& visible);

  struct DirEntry {
    std::string name;
    mode_t type = 0;  // S_IFDIR, S_IFLNK or S_IFREG
    ino_t ino = 0;    // the host's number
  };
  // The path of `name` in the directory at `rel`; throws nestbox::Error
  // (NotFound) for a bad, hidden or rendered name (it does not stat).
  static std::string child(std::string_view rel, std::string_view name, const std::optional<CpuList>& visible);
  // lstat of `rel`, write bits cleared (passed-through entries are
  // read-only, whatever the host allows); throws NotFound when missing.
  struct stat stat(const std::string& rel) const;
  // Entries of the directory at `rel`, sorted, without `.`/`..`, hidden CPUs
  // and (at the top) the rendered lists; throws NotFound when `rel` is hidden.
  std::vector<DirEntry> list(const std::string& rel, const std::optional<CpuList>& visible) const;
  std::string readlink(const std::string& rel) const;
  // The file's current content (read afresh on every call).
  std::string read(const std::string& rel) const;

 private:
  UniqueFd root_;
};

// The CPU number of a `cpuN` name, nullopt for any other name.
std::optional<unsigned> cpu_dir_number(std::string_view name);

}  // namespace nestbox::fs
