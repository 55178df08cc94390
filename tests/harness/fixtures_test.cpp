// SPDX-License-Identifier: Apache-2.0
// Self-tests of the real-kernel fixtures: cgroup sandboxes, the test user, the
// private bus and FUSE mounts. Each skips with its reason where the machine
// cannot provide what it needs.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nestbox/cgroup_tree.hpp"
#include "nestbox/layout.hpp"
#include "testkit.hpp"
#include "testkit_cgroup_cleanup.hpp"

namespace tk = nestbox::testkit;
namespace fs = std::filesystem;

namespace {

// Every directory where the sandbox's cgroup should exist: the mount of each
// controller the tree manages, plus the v2 mount (hybrid creates there too).
std::vector<std::string> expected_dirs(nestbox::CgroupTree& tree, const nestbox::CgroupPath& path) {
  auto layout = nestbox::HostLayout::discover();
  std::vector<std::string> dirs;
  for (const auto& controller : tree.controllers()) {
    if (const auto* mount = layout.mount_for(controller)) dirs.push_back(mount->mountpoint + path.str());
  }
  if (const auto* unified = layout.unified()) dirs.push_back(unified->mountpoint + path.str());
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  return dirs;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool any_exists(const std::vector<std::string>& dirs) {
  return std::any_of(dirs.begin(), dirs.end(), [](const std::string& d) { return fs::exists(d); });
}

// ---- CgroupSandbox ------------------------------------------------------------------

TEST(TestkitCgroupSandbox, CreatedInEveryHierarchyAndRemoved) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  std::vector<std::string> dirs;
  std::vector<std::string> nested;
  {
    tk::CgroupSandbox sandbox;
    EXPECT_EQ(sandbox.root().str().rfind("/nestbox-test-" + std::to_string(::getpid()) + "-", 0), 0u);
    dirs = expected_dirs(sandbox.tree(), sandbox.root());
    ASSERT_FALSE(dirs.empty());
    for (const auto& d : dirs) EXPECT_TRUE(fs::is_directory(d)) << d;
    auto path = sandbox.make("a/b");
    EXPECT_EQ(path.str(), sandbox.root().str() + "/a/b");
    nested = expected_dirs(sandbox.tree(), path);
    for (const auto& d : nested) EXPECT_TRUE(fs::is_directory(d)) << d;
    EXPECT_EQ(sandbox.make("a/b"), path);  // idempotent
  }
  EXPECT_FALSE(any_exists(dirs));
  EXPECT_FALSE(any_exists(nested));
}

TEST(TestkitCgroupSandbox, RemovedWhileProcessesStillRunInside) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  std::vector<std::string> dirs;
  std::optional<tk::Child> child;
  {
    tk::CgroupSandbox sandbox;
    auto busy = sandbox.make("busy/deeper");
    tk::RunOptions options;
    options.cgroup = busy;
    // A shell with its own background children, so there is more than one process to find.
    child.emplace(tk::Child::spawn({"sh", "-c", "sleep 1000 & sleep 1000 & wait"}, options));
    auto cg = sandbox.tree().cgroup_of(child->pid(), "memory");
    if (!cg) cg = sandbox.tree().primary_cgroup_of(child->pid());
    EXPECT_EQ(*cg, busy);
    for (const auto& d : expected_dirs(sandbox.tree(), busy)) {
      EXPECT_NE(read_text(d + "/cgroup.procs").find(std::to_string(child->pid())), std::string::npos) << d;
    }
    dirs = expected_dirs(sandbox.tree(), sandbox.root());
  }
  EXPECT_FALSE(any_exists(dirs));
  EXPECT_EQ(child->wait(), 128 + SIGKILL);
}

TEST(TestkitCgroupSandbox, ClearEmptiesButKeepsTheRoot) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  tk::CgroupSandbox sandbox;
  auto inner = sandbox.make("x/y");
  tk::RunOptions options;
  options.cgroup = inner;
  tk::Child child = tk::Child::spawn({"sleep", "1000"}, options);
  sandbox.clear();
  EXPECT_EQ(child.wait(), 128 + SIGKILL);
  EXPECT_TRUE(sandbox.tree().exists(sandbox.root()));
  EXPECT_FALSE(sandbox.tree().exists(inner));
  EXPECT_TRUE(sandbox.tree().children(sandbox.root()).empty());
}

TEST(TestkitCgroupSandbox, SigtermHandlerCleansUpAndReraises) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  auto victim = tk::fork_reporting([](int report) -> int {
    tk::CgroupSandbox sandbox;
    tk::RunOptions options;
    options.cgroup = sandbox.make("job");
    tk::Child sleeper = tk::Child::spawn({"sleep", "1000"}, options);
    std::string root = sandbox.root().str();
    if (::write(report, root.data(), root.size()) < 0) return 3;
    ::kill(::getpid(), SIGTERM);
    ::pause();
    return 4;  // not reached: the handler re-raises SIGTERM with its default action
  });
  EXPECT_EQ(victim.child.wait(), 128 + SIGTERM);
  ASSERT_FALSE(victim.text.empty());
  // The child died before its destructors ran: only the handler can have removed it.
  for (const auto& m : nestbox::HostLayout::discover().mounts) {
    EXPECT_FALSE(fs::exists(m.mountpoint + victim.text)) << m.mountpoint + victim.text;
  }
}

TEST(TestkitCgroupSandbox, SandboxOfACrashedTestProcessIsRemovedLater) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  // The child makes a sandbox and dies without any cleanup, as a test process
  // killed by a sanitizer would.
  auto crashed = tk::fork_reporting([](int report) -> int {
    tk::CgroupSandbox sandbox;
    std::string root = sandbox.root().str();
    if (::write(report, root.data(), root.size()) < 0) ::_exit(3);
    ::_exit(0);
  });
  EXPECT_EQ(crashed.child.wait(), 0);
  ASSERT_FALSE(crashed.text.empty());
  const auto left = nestbox::CgroupPath::parse(crashed.text);
  auto tree = nestbox::open_host_cgroup_tree();
  ASSERT_TRUE(tree->exists(left)) << crashed.text;
  tk::CgroupSandbox mine;  // a live sandbox of this process is left alone
  tk::detail::remove_stale_sandboxes(*tree);
  EXPECT_FALSE(tree->exists(left)) << crashed.text;
  EXPECT_TRUE(tree->exists(mine.root()));
}

TEST(TestkitCgroupSandbox, ForkedChildDoesNotCleanItsParentsSandbox) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_cgroup_write());
  tk::CgroupSandbox sandbox;
  tk::Child child = tk::Child::fork_fn([] {
    ::kill(::getpid(), SIGTERM);
    return 0;
  });
  EXPECT_EQ(child.wait(), 128 + SIGTERM);
  EXPECT_TRUE(sandbox.tree().exists(sandbox.root()));
}

// ---- TestUser and run() as another user -------------------------------------------

TEST(TestkitTestUser, RunReportsItsIdsAndNoSupplementaryGroups) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  const tk::TestUser& user = tk::test_user();
  EXPECT_EQ(user.name, "nestbox-test");
  EXPECT_NE(user.uid, 0u);
  EXPECT_EQ(&tk::test_user(), &user);
  auto r = user.run({"id", "-u"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::to_string(user.uid) + "\n");
  auto groups = user.run({"id", "-G"});
  EXPECT_EQ(groups.out, std::to_string(user.gid) + "\n");
  auto home = user.run({"sh", "-c", "echo $HOME"});
  EXPECT_EQ(home.out, user.home + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(user.home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(TestkitTestUser, HasSubordinateIdRanges) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  const tk::TestUser& user = tk::test_user();
  EXPECT_GE(user.subuid_count, 65536u);
  std::string expected = user.name + ":" + std::to_string(user.subuid_start) + ":";
  EXPECT_NE(read_text("/etc/subuid").find(expected), std::string::npos);
  EXPECT_NE(read_text("/etc/subgid").find(user.name + ":"), std::string::npos);
}

TEST(TestkitTestUser, CanCreateAUserNamespace) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  NESTBOX_SKIP_IF_MISSING(tk::missing_userns());
  auto r = tk::test_user().run({"unshare", "--user", "--map-root-user", "id", "-u"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
}

// ---- PrivateBus ----------------------------------------------------------------------

TEST(TestkitPrivateBus, AnswersRootAndTheTestUser) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  NESTBOX_SKIP_IF_MISSING(tk::missing_dbus_daemon());
  tk::PrivateBus bus;
  EXPECT_EQ(bus.address().rfind("unix:path=/tmp/", 0), 0u);
  auto id = tk::run({"busctl", "--address=" + bus.address(), "call", "org.freedesktop.DBus",
                     "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId"});
  ASSERT_EQ(id.exit_code, 0) << id.err;
  ASSERT_EQ(id.out.rfind("s \"", 0), 0u) << id.out;
  std::string bus_id = id.out.substr(3, id.out.find('"', 3) - 3);
  EXPECT_EQ(bus_id.size(), 32u);

  tk::RunOptions options;
  options.env = bus.client_env();
  auto as_user = tk::test_user().run({"dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus",
                                      "/org/freedesktop/DBus", "org.freedesktop.DBus.GetId"},
                                     options);
  ASSERT_EQ(as_user.exit_code, 0) << as_user.err;
  EXPECT_NE(as_user.out.find("\"" + bus_id + "\""), std::string::npos) << as_user.out;
}

tk::CommandResult request_name(const tk::PrivateBus& bus, std::optional<uid_t> uid, const std::string& name) {
  tk::RunOptions options;
  options.env = bus.client_env();
  options.uid = uid;
  return tk::run({"dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                  "org.freedesktop.DBus.RequestName", "string:" + name, "uint32:0"},
                 options);
}

TEST(TestkitPrivateBus, OnlyRootMayOwnTheManagerName) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  NESTBOX_SKIP_IF_MISSING(tk::missing_dbus_daemon());
  tk::PrivateBus bus;
  auto user = request_name(bus, tk::test_user().uid, "org.nestbox.CgroupManager1");
  EXPECT_NE(user.exit_code, 0);
  EXPECT_NE(user.err.find("AccessDenied"), std::string::npos) << user.err;
  auto root = request_name(bus, std::nullopt, "org.nestbox.CgroupManager1");
  ASSERT_EQ(root.exit_code, 0) << root.err;
  EXPECT_NE(root.out.find("uint32 1"), std::string::npos) << root.out;  // primary owner
}

TEST(TestkitPrivateBus, ProjectPolicyIsLoaded) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  NESTBOX_SKIP_IF_MISSING(tk::missing_dbus_daemon());
  tk::PrivateBus bus;
  tk::RunOptions service_options;
  service_options.env = bus.client_env();
  tk::Child service = tk::Child::spawn({NESTBOX_BUS_ECHO, "org.nestbox.CgroupManager1"}, service_options);
  tk::RunOptions options;
  options.env = bus.client_env();
  bool owned = false;
  for (int i = 0; i < 600 && !owned && service.running(); ++i) {
    auto r = tk::run({"dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                      "org.freedesktop.DBus.NameHasOwner", "string:org.nestbox.CgroupManager1"},
                     options);
    owned = r.out.find("boolean true") != std::string::npos;
    if (!owned) ::usleep(50000);
  }
  ASSERT_TRUE(owned) << "bus_echo never owned the name";
  auto call = [&](const std::string& interface_member) {
    return tk::test_user().run({"dbus-send", "--system", "--print-reply", "--dest=org.nestbox.CgroupManager1",
                                "/org/nestbox/CgroupManager1", interface_member},
                               options);
  };
  // The project's policy opens its own interface to everybody ...
  auto allowed = call("org.nestbox.CgroupManager1.Ping");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  // ... and nothing else, which the system-bus-like default denies.
  auto denied = call("org.example.NotAllowed.Ping");
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("AccessDenied"), std::string::npos) << denied.err;
}

// ---- FuseMount -----------------------------------------------------------------------

TEST(TestkitFuseMount, MountsServesAndUnmounts) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  NESTBOX_SKIP_IF_MISSING(tk::missing_fuse());
  std::string mountpoint;
  pid_t daemon_pid = -1;
  {
    tk::FuseMount mount({NESTBOX_FUSE_HELLO, "-f", "-o", "allow_other"});
    mountpoint = mount.mountpoint();
    daemon_pid = mount.daemon_pid();
    EXPECT_TRUE(tk::is_mounted(mountpoint));
    EXPECT_TRUE(mount.running_daemon());
    EXPECT_EQ(read_text(mountpoint + "/hello"), "hello from nestbox\n");
    auto r = tk::test_user().run({"cat", mountpoint + "/hello"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "hello from nestbox\n");
  }
  EXPECT_FALSE(tk::is_mounted(mountpoint));
  EXPECT_FALSE(fs::exists(fs::path(mountpoint).parent_path()));
  int status = 0;
  EXPECT_EQ(::waitpid(daemon_pid, &status, WNOHANG), -1);  // reaped
}

TEST(TestkitFuseMount, FailedStartReportsTheDaemonsOutput) {
  // No privileges needed: the "daemon" never gets as far as mounting.
  try {
    tk::FuseMount mount({"sh", "-c", "echo cannot-mount-here >&2; exit 4"});
    FAIL() << "expected the constructor to throw";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("exited with 4"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot-mount-here"), std::string::npos) << what;
  }
}

// ---- TempDir with mounts below it --------------------------------------------------

TEST(TestkitTempDir, DetachesMountsBelowAndNeverDeletesThroughThem) {
  NESTBOX_SKIP_IF_MISSING(tk::missing_root());
  tk::TempDir outside;
  std::string precious = outside.write("precious", "keep me");
  std::string dir_path;
  {
    tk::TempDir dir;
    dir_path = dir.path();
    fs::create_directories(dir.path() + "/bind");
    fs::create_directories(dir.path() + "/tmpfs");
    ASSERT_EQ(::mount(outside.path().c_str(), (dir.path() + "/bind").c_str(), nullptr, MS_BIND, nullptr), 0);
    ASSERT_EQ(::mount("tmpfs", (dir.path() + "/tmpfs").c_str(), "tmpfs", 0, "size=1m"), 0);
    dir.write("tmpfs/file", "x");
    ASSERT_TRUE(tk::is_mounted(dir.path() + "/bind"));
  }
  EXPECT_FALSE(fs::exists(dir_path));
  EXPECT_EQ(read_text(precious), "keep me");
}

}  // namespace
