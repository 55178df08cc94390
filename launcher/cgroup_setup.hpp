// SPDX-License-Identifier: Apache-2.0
// Step 1 of the start sequence (README.md (nestbox-run)), run on its own thread
// while the launcher writes the id maps and pid 1 prepares its mounts: one
// CreateAndAttach call asks nestbox-cgmgr for the user's delegation, creates the
// container's cgroup with its limits inside it, moves pid 1 there and marks the
// cgroup remove-on-empty.
//
// Why a thread: moving a process between cgroups takes the kernel's cgroup
// threadgroup lock, whose writer first waits for an RCU grace period (several
// milliseconds, unless the host mounts cgroup2 with favordynmods). That wait,
// and the D-Bus round trip, overlap with the rest of the setup instead of
// adding to it. The thread is started only after the clone of pid 1
// (a raw clone from a multithreaded process could copy a held malloc lock) and
// is joined before pid 1 goes on, so the launcher is single-threaded whenever it
// forks.
#pragma once

#include <sys/types.h>

#include <exception>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "cgroup_client.hpp"

namespace nestbox::launcher {

class CgroupSetup {
 public:
  // Checks that the bus socket exists, so a missing bus is reported before any
  // namespace exists. Connecting is left to the thread, where the handshake
  // overlaps the rest of the setup.
  explicit CgroupSetup(const std::string& bus);
  // Starts the thread; `pid` is the container's pid 1 (already cloned).
  void start(std::string name, std::map<std::string, std::string> limits, pid_t pid);
  // Joins the thread, then removes the cgroup if it was created: after pid 1 was
  // reaped the cgroup is usually empty; if the kernel still counts a dying task
  // (Busy), the remove-on-empty mark removes it moments later.
  ~CgroupSetup();
  CgroupSetup(const CgroupSetup&) = delete;
  CgroupSetup& operator=(const CgroupSetup&) = delete;

  // Waits for the thread and returns the container's cgroup path; rethrows the
  // step's error (the manager is not running, the name is taken, a limit is bad).
  const std::string& wait();

 private:
  void run(std::string name, std::map<std::string, std::string> limits, pid_t pid);
  void join();

  std::string bus_;
  std::optional<CgroupClient> client_;
  std::string path_;
  bool created_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace nestbox::launcher
