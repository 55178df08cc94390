// SPDX-License-Identifier: Apache-2.0
#include "cgmgr_fixture.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <signal.h>

#include <chrono>
#include <thread>

namespace nestbox::cgmgr_test {

std::vector<std::string> busctl(std::vector<std::string> args) {
  std::vector<std::string> argv = {"busctl", "--system", "call", "org.nestbox.CgroupManager1",
                                   "/org/nestbox/CgroupManager1", "org.nestbox.CgroupManager1"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}


CgmgrProxy::CgmgrProxy(sdbus::IConnection& connection)
    : ProxyInterfaces(connection, "org.nestbox.CgroupManager1", "/org/nestbox/CgroupManager1") {
  registerProxy();
}

CgmgrProxy::~CgmgrProxy() { unregisterProxy(); }

std::vector<std::string> CgmgrProxy::emptied() const {
  std::lock_guard lock(mutex_);
  return emptied_;
}

std::vector<std::string> CgmgrProxy::removed() const {
  std::lock_guard lock(mutex_);
  return removed_;
}

void CgmgrProxy::onEmptied(const std::string& path) {
  std::lock_guard lock(mutex_);
  emptied_.push_back(path);
}

void CgmgrProxy::onRemoved(const std::string& path) {
  std::lock_guard lock(mutex_);
  removed_.push_back(path);
}

std::string CgmgrTest::policy_text() const {
  return "[defaults]\nmax_cgroups = 3\nmax_depth = 2\n"
         "[user." + tk::test_user().name + "]\n"
         "[user." + tk::test_user().name + ".limits]\n"
         "memory.max = \"256M\"\npids.max = 64\n";
}

void CgmgrTest::SetUp() {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  NESTBOX_SKIP_IF_MISSING(tk::missing_dbus_daemon());
  sandbox_ = std::make_unique<tk::CgroupSandbox>();
  bus_ = std::make_unique<tk::PrivateBus>();
  dir_ = std::make_unique<tk::TempDir>("nestbox-cgmgr", 0700);
  root_ = sandbox_->root().child("mgr").str();
  policy_path_ = dir_->write("cgmgr.toml", policy_text());
  state_path_ = dir_->path() + "/state/cgmgr-state.json";
  start_daemon();
}

void CgmgrTest::TearDown() {
  proxy_.reset();
  connection_.reset();
  stop_daemon();
  if (HasFailure()) std::fprintf(stderr, "---- nestbox-cgmgr log ----\n%s---- end of log ----\n", daemon_log().c_str());
}

std::string CgmgrTest::log_path() const { return dir_->path() + "/cgmgr.log"; }

std::string CgmgrTest::daemon_log() const {
  std::ifstream in(log_path());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void CgmgrTest::start_daemon() {
  tk::RunOptions options;
  options.stop_with_test = true;
  // The daemon's log is kept for the test to read (daemon_log()), and shown if the test fails.
  options.stderr_file = log_path();
  std::vector<std::string> argv = {tk::built_program("nestbox-cgmgr"), "--bus", bus_->address(), "--root", root_,
                                   "--policy", policy_path_, "--state", state_path_, "--log-level", log_level_};
  argv.insert(argv.end(), extra_daemon_args_.begin(), extra_daemon_args_.end());
  daemon_.emplace(tk::Child::spawn(argv, options));
  connection_ = sdbus::createSessionBusConnectionWithAddress(bus_->address());
  connection_->enterEventLoopAsync();
  proxy_ = std::make_unique<CgmgrProxy>(*connection_);
  // Ready once the name answers; a daemon that dies early fails the test at once.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    try {
      proxy_->Version();
      proxy_->Subscribe();  // the fixture's root connection receives every Emptied/Removed
      return;
    } catch (const sdbus::Error& e) {
      if (!daemon_->running()) FAIL() << "nestbox-cgmgr exited during start-up: " << e.getMessage();
      if (std::chrono::steady_clock::now() > deadline) FAIL() << "nestbox-cgmgr did not come up: " << e.getMessage();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void CgmgrTest::stop_daemon() {
  if (!daemon_) return;
  daemon_->kill(SIGKILL);
  daemon_->wait();
  daemon_.reset();
}

tk::CommandResult CgmgrTest::as_root(const std::vector<std::string>& argv) const {
  tk::RunOptions options;
  options.env = bus_->client_env();
  return tk::run(argv, options);
}

tk::CommandResult CgmgrTest::as_user(const std::vector<std::string>& argv) const {
  tk::RunOptions options;
  options.env = bus_->client_env();
  return tk::test_user().run(argv, options);
}

std::vector<std::string> CgmgrTest::dbus_send(const std::string& method, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"dbus-send", "--system", "--print-reply", "--dest=org.nestbox.CgroupManager1",
                                   "/org/nestbox/CgroupManager1", "org.nestbox.CgroupManager1." + method};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string CgmgrTest::error_name(const tk::CommandResult& r) {
  // dbus-send prints "Error org.nestbox.Error.X: message".
  auto at = r.err.find("Error org.");
  if (at != std::string::npos) {
    auto begin = at + 6;
    auto end = r.err.find_first_of(": \n", begin);
    return r.err.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  return r.exit_code == 0 ? "" : "(failed without a D-Bus error: " + r.err + ")";
}

tk::Child CgmgrTest::user_sleeper(std::optional<CgroupPath> cgroup) const {
  tk::RunOptions options;
  options.uid = tk::test_user().uid;
  options.gid = tk::test_user().gid;
  options.cgroup = std::move(cgroup);
  tk::Child child = tk::Child::spawn({"sleep", "1000"}, options);
  // Wait until the child has dropped to the test user (it forks as root).
  ProcFs proc;
  for (int i = 0; i < 2000; ++i) {
    auto st = proc.status(child.pid());
    if (st.ruid == tk::test_user().uid && st.euid == tk::test_user().uid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return child;
}

CgroupPath CgmgrTest::primary_cgroup(pid_t pid) const { return sandbox_->tree().primary_cgroup_of(pid); }

}  // namespace nestbox::cgmgr_test
