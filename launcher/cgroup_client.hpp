// SPDX-License-Identifier: Apache-2.0
// The launcher's only contact with nestbox-cgmgr (org.nestbox.CgroupManager1 on the
// system bus, or on --bus ADDRESS). D-Bus errors come back as nestbox::Error with
// the manager's kind; an unreachable manager is Errc::Unsupported with a message
// that says how to start it.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

namespace nestbox::launcher {

class CgroupClient {
 public:
  // bus_address "" = the system bus (sd-bus honours DBUS_SYSTEM_BUS_ADDRESS).
  explicit CgroupClient(const std::string& bus_address);
  // Throws the same clear error as the constructor when the bus socket is
  // plainly missing, without connecting.
  static void check_reachable(const std::string& bus_address);
  ~CgroupClient();
  CgroupClient(const CgroupClient&) = delete;
  CgroupClient& operator=(const CgroupClient&) = delete;

  void attach(const std::string& path, pid_t pid);  // pid 0 = the caller
  // <the user's delegation>/<name> created with the limits, `pid` moved in and
  // the cgroup marked remove-on-empty, in one round trip. Returns the path.
  std::string create_and_attach(const std::string& name, const std::map<std::string, std::string>& limits,
                                pid_t pid);
  void remove(const std::string& path, bool recursive);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bus_;
};

}  // namespace nestbox::launcher
