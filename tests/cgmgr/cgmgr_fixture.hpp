// SPDX-License-Identifier: Apache-2.0
// Fixture for the nestbox-cgmgr integration tests: a private system-like bus, a
// cgroup sandbox, and the daemon started on them with a unique --root, a temp
// policy and a temp state file. Calls go through the generated proxy (as root)
// or through busctl/dbus-send command lines (as root or as the test user).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <thread>
#include <vector>

#include "nestbox/dbus/cgmgr_proxy.hpp"
#include "testkit.hpp"

namespace nestbox::cgmgr_test {

namespace tk = nestbox::testkit;

class CgmgrProxy final : public sdbus::ProxyInterfaces<org::nestbox::CgroupManager1_proxy> {
 public:
  explicit CgmgrProxy(sdbus::IConnection& connection);
  ~CgmgrProxy();
  std::vector<std::string> emptied() const;
  std::vector<std::string> removed() const;

 private:
  void onEmptied(const std::string& path) override;
  void onRemoved(const std::string& path) override;
  mutable std::mutex mutex_;
  std::vector<std::string> emptied_, removed_;
};

// The D-Bus error name of a failed proxy call ("" if it succeeded).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const sdbus::Error& e) {
    return e.getName();
  }
  return "";
}

// Bounded wait (up to 30 s) for something another process does; not a timing
// assertion.
template <typename Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 600; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// A busctl command line calling one of the manager's methods on the system bus
// (the fixture points DBUS_SYSTEM_BUS_ADDRESS at the private bus).
std::vector<std::string> busctl(std::vector<std::string> args);

class CgmgrTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Policy text written before the daemon starts (override in SetUp of subclasses).
  virtual std::string policy_text() const;
  void start_daemon();
  void stop_daemon();  // SIGKILL, like a crash
  // Everything the daemon(s) of this test wrote to stderr so far.
  std::string daemon_log() const;
  std::string log_path() const;

  // Runs a command as root or as the test user with the bus in the environment.
  tk::CommandResult as_root(const std::vector<std::string>& argv) const;
  tk::CommandResult as_user(const std::vector<std::string>& argv) const;
  // dbus-send to the manager ("Create", {"string:/x", "dict:string:string:pids.max,10"}).
  std::vector<std::string> dbus_send(const std::string& method, const std::vector<std::string>& args) const;
  // "org.nestbox.Error.X" from dbus-send's stderr, "" on success.
  static std::string error_name(const tk::CommandResult& r);

  // A process owned by the test user (sleep), started in `cgroup` if given.
  tk::Child user_sleeper(std::optional<CgroupPath> cgroup = std::nullopt) const;
  CgroupPath primary_cgroup(pid_t pid) const;

  std::unique_ptr<tk::CgroupSandbox> sandbox_;
  std::unique_ptr<tk::PrivateBus> bus_;
  std::unique_ptr<tk::TempDir> dir_;
  std::string root_;         // the daemon's --root
  std::string policy_path_;
  std::string state_path_;
  std::optional<tk::Child> daemon_;
  std::vector<std::string> extra_daemon_args_;  // set before start_daemon()
  std::string log_level_ = "warn";
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<CgmgrProxy> proxy_;
};

}  // namespace nestbox::cgmgr_test
