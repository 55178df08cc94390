// SPDX-License-Identifier: Apache-2.0
// The two daemons under test, each mounted in the foreground on a temp dir and
// always unmounted and killed on destruction.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace nestbox::bench {

class DaemonMount {
 public:
  // argv gets the mountpoint appended.
  DaemonMount(std::string name, std::vector<std::string> argv, const std::string& mountpoint);
  ~DaemonMount();
  DaemonMount(const DaemonMount&) = delete;
  DaemonMount& operator=(const DaemonMount&) = delete;
  const std::string& name() const { return name_; }
  const std::string& mountpoint() const { return mountpoint_; }
  pid_t pid() const { return pid_; }
  // The daemon's processes: the one started and its descendants (nestbox-fs
  // serves from a child of its supervisor).
  std::vector<pid_t> processes() const;
  // A field of /proc/PID/status in kB summed over processes() (VmHWM: peak
  // resident set, shared library pages included; RssAnon: the daemon's own
  // memory now), -1 if absent.
  long status_kb(const std::string& key) const;
  // User plus system CPU time of processes(), all threads, in seconds.
  double cpu_seconds() const;

 private:
  std::string name_;
  std::string mountpoint_;
  pid_t pid_ = -1;
};

bool is_mountpoint(const std::string& path);

}  // namespace nestbox::bench
