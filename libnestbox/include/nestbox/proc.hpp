// SPDX-License-Identifier: Apache-2.0
// Reading facts about processes from a procfs (the real /proc, or a fixture dir).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nestbox {

// One line of /proc/<pid>/cgroup: "4:memory:/a/b", "1:name=systemd:/", "0::/a".
struct ProcCgroupEntry {
  unsigned hierarchy_id = 0;
  std::vector<std::string> controllers;  // empty for the v2 line
  std::string path;                      // as printed (absolute, relative to the reader's cgroupns)
};
std::vector<ProcCgroupEntry> parse_proc_cgroup(std::string_view text);
// The inode named by a namespace link's text ("pid:[4026531836]" for ns "pid");
// nullopt for any other text.
std::optional<ino_t> parse_ns_link(std::string_view target, std::string_view ns);

struct ProcStatus {
  pid_t pid = 0;
  pid_t ppid = 0;
  uid_t ruid = 0, euid = 0;
  gid_t rgid = 0, egid = 0;
  char state = '?';              // R, S, D, Z ...
  std::vector<pid_t> nspid;      // NSpid: outermost first, innermost (own pidns) last
};
ProcStatus parse_proc_status(std::string_view text);

// /proc/<pid>/timens_offsets ("monotonic <s> <ns>" and "boottime <s> <ns>"
// lines): the clock offsets of the process's time namespace, in seconds, which
// whoever made that namespace chose. nullopt unless both lines are well formed
// (nanoseconds in [0, 1e9), as the kernel prints them).
struct TimensOffsets {
  double monotonic = 0;
  double boottime = 0;
};
std::optional<TimensOffsets> parse_timens_offsets(std::string_view text);

class ProcFs {
 public:
  explicit ProcFs(std::string root = "/proc");
  const std::string& root() const noexcept { return root_; }

  // All throw Error(NotFound) if the process is gone.
  std::vector<ProcCgroupEntry> cgroups(pid_t pid) const;
  ProcStatus status(pid_t pid) const;
  uid_t uid(pid_t pid) const { return status(pid).ruid; }
  // Field 22 of /proc/<pid>/stat (clock ticks after boot).
  std::uint64_t start_time_ticks(pid_t pid) const;
  // Inode of /proc/<pid>/ns/<ns> ("pid", "mnt", "cgroup", ...).
  ino_t ns_inode(pid_t pid, std::string_view ns) const;
  // Host pid of the init (pid 1) of `pid`'s pid namespace. Walks up the parent chain
  // while the pid namespace stays the same; if that does not reach an init (e.g. a
  // process that joined with setns), scans the procfs. Returns `pid` itself's
  // namespace init; throws NotFound if the process is gone. Where a parent's ns link
  // is unreadable (some inits hide it even from root), equal NSpid depth decides.
  pid_t pidns_init(pid_t pid) const;
  // Every numeric entry of the procfs.
  std::vector<pid_t> all_pids() const;

 private:
  std::string path(pid_t pid, std::string_view file) const;
  std::string root_;
};

}  // namespace nestbox
