// SPDX-License-Identifier: Apache-2.0
// Unprivileged flows, run as the real test user with busctl command lines.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cgmgr_fixture.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::cgmgr_test {
namespace {

using UserTest = CgmgrTest;

// nestbox_bus_listen run as `uid` in a thread: matches every signal of the
// manager's interface (subscribed or not) and writes what it receives to a file.
class SignalListener {
 public:
  SignalListener(const std::string& dir, const std::string& name, uid_t uid, gid_t gid, bool subscribe,
                 std::map<std::string, std::string> env)
      : ready_(dir + "/" + name + ".ready"), out_(dir + "/" + name + ".out"), stop_(dir + "/" + name + ".stop") {
    tk::RunOptions options;
    options.uid = uid;
    options.gid = gid;
    options.env = std::move(env);
    std::vector<std::string> argv = {NESTBOX_BUS_LISTEN, ready_, out_, stop_, subscribe ? "subscribe" : "match-only"};
    thread_ = std::thread([this, argv, options] {
      result_ = tk::run(argv, options);
      done_ = true;
    });
  }
  ~SignalListener() { finish(); }
  std::string name() const { return ready_.substr(0, ready_.size() - 6); }
  bool ready() const {
    eventually([&] { return done_ || ::access(ready_.c_str(), F_OK) == 0; });
    return ::access(ready_.c_str(), F_OK) == 0;
  }
  std::string received() const {
    std::ifstream in(out_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  const tk::CommandResult& finish() {
    if (thread_.joinable()) {
      std::ofstream(stop_).put('\n');
      thread_.join();
    }
    return result_;
  }

 private:
  std::string ready_, out_, stop_;
  std::atomic<bool> done_{false};
  tk::CommandResult result_;
  std::thread thread_;
};

// Emptied/Removed reach the subscribers allowed to see the cgroup (its owner
// and root), addressed to each: another user sees nothing, subscribed or
// merely matching on the signals.
TEST_F(UserTest, SignalsReachTheOwnerAndRootOnly) {
  const auto& user = tk::test_user();
  const uid_t stranger_uid = 65534;  // nobody: a user with no delegation (the bus needs a passwd entry)
  tk::TempDir files("nestbox-signals", 0777);
  ASSERT_EQ(::chmod(files.path().c_str(), 0777), 0);
  SignalListener owner(files.path(), "owner", user.uid, user.gid, true, bus_->client_env());
  SignalListener stranger(files.path(), "stranger", stranger_uid, stranger_uid, true, bus_->client_env());
  SignalListener eavesdropper(files.path(), "eavesdropper", stranger_uid, stranger_uid, false, bus_->client_env());
  SignalListener owner_unsubscribed(files.path(), "owner-unsubscribed", user.uid, user.gid, false,
                                    bus_->client_env());
  for (SignalListener* l : {&owner, &stranger, &eavesdropper, &owner_unsubscribed})
    ASSERT_TRUE(l->ready()) << l->name() << ": " << l->finish().err;

  const std::string box = root_ + "/user-" + std::to_string(user.uid) + "/sig";
  tk::Child mine = user_sleeper();
  auto r = as_user(busctl({"CreateAndAttach", "sa{ss}ub", "sig", "0", std::to_string(mine.pid()), "true"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  mine.kill(SIGKILL);
  mine.wait();
  const std::string expected = "Emptied " + box + "\nRemoved " + box + "\n";
  EXPECT_TRUE(eventually([&] { return owner.received() == expected; })) << owner.received();
  EXPECT_TRUE(eventually([&] { return proxy_->removed() == std::vector<std::string>{box}; }));
  for (SignalListener* l : {&owner, &stranger, &eavesdropper, &owner_unsubscribed})
    EXPECT_EQ(l->finish().exit_code, 0) << l->finish().err;
  EXPECT_EQ(stranger.received(), "");
  EXPECT_EQ(eavesdropper.received(), "");
  EXPECT_EQ(owner_unsubscribed.received(), "");  // a match alone receives nothing
}

// A launcher killed between RemoveOnEmpty and Attach leaves a marked cgroup
// that never holds a process: it is removed after the grace period
// (--unpopulated-grace), while a marked cgroup with a process stays.
class GraceTest : public CgmgrTest {
 protected:
  void SetUp() override {
    extra_daemon_args_ = {"--unpopulated-grace", "1"};
    CgmgrTest::SetUp();
  }
};

TEST_F(GraceTest, AMarkedCgroupThatNeverHeldAProcessIsRemovedAfterTheGrace) {
  auto& tree = sandbox_->tree();
  const std::string grant = root_ + "/user-" + std::to_string(tk::test_user().uid);
  ASSERT_EQ(as_user(busctl({"RequestUserDelegation"})).exit_code, 0);
  const std::string orphan = grant + "/orphan", kept = grant + "/kept";
  for (const std::string& cg : {orphan, kept}) {
    auto r = as_user(busctl({"Create", "sa{ss}", cg, "0"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  tk::Child mine = user_sleeper();
  ASSERT_EQ(as_user(busctl({"Attach", "su", kept, std::to_string(mine.pid())})).exit_code, 0);
  for (const std::string& cg : {orphan, kept}) {
    auto r = as_user(busctl({"RemoveOnEmpty", "sb", cg, "true"}));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_TRUE(eventually([&] { return !tree.exists(CgroupPath::parse(orphan)); }));
  EXPECT_TRUE(eventually([&] { return proxy_->removed() == std::vector<std::string>{orphan}; }));
  EXPECT_TRUE(tree.exists(CgroupPath::parse(kept)));  // its process keeps it
  mine.kill(SIGKILL);
  mine.wait();
  EXPECT_TRUE(eventually([&] { return !tree.exists(CgroupPath::parse(kept)); }));
}


TEST_F(UserTest, RequestDelegationCreateAttachRemove) {
  auto& tree = sandbox_->tree();
  const auto& user = tk::test_user();
  const std::string grant = root_ + "/user-" + std::to_string(user.uid);

  auto r = as_user(busctl({"RequestUserDelegation"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "s \"" + grant + "\"\n");
  const auto grant_path = CgroupPath::parse(grant);
  EXPECT_EQ(tree.owner(grant_path), user.uid);
  // The policy's ceilings sit on the delegated cgroup itself.
  EXPECT_EQ(tree.memory(grant_path).limit, parse_size("256M"));
  EXPECT_EQ(tree.pids(grant_path)->max, Limit(64));
  // Asking again returns the same grant.
  r = as_user(busctl({"RequestUserDelegation"}));
  EXPECT_EQ(r.out, "s \"" + grant + "\"\n");

  const std::string job = grant + "/job";
  r = as_user(busctl({"Create", "sa{ss}", job, "2", "memory.max", "64M", "pids.max", "16"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree.memory(CgroupPath::parse(job)).limit, parse_size("64M"));
  // The new cgroup is the user's (as a mkdir in the delegation would make it),
  // its limit files are not: the user cannot raise its own limit past SetLimits.
  EXPECT_EQ(tree.owner(CgroupPath::parse(job)), user.uid);
  {
    const auto layout = HostLayout::discover();
    const CgroupMount* mem = layout.mount_for("memory");
    ASSERT_NE(mem, nullptr);
    const auto rel = CgroupPath::parse(job).relative_to(CgroupPath::parse(mem->root));
    ASSERT_TRUE(rel.has_value());
    const std::string file = mem->mountpoint + rel->str() +
                             (mem->unified ? "/memory.max" : "/memory.limit_in_bytes");
    auto w = as_user({"sh", "-c", "echo 1073741824 > " + file});
    EXPECT_NE(w.exit_code, 0) << file;
    EXPECT_EQ(tree.memory(CgroupPath::parse(job)).limit, parse_size("64M"));
  }
  r = as_user(busctl({"SetLimits", "sa{ss}", job, "1", "pids.max", "8"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree.pids(CgroupPath::parse(job))->max, Limit(8));

  tk::Child mine = user_sleeper();
  r = as_user(busctl({"Attach", "su", job, std::to_string(mine.pid())}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(primary_cgroup(mine.pid()).str(), job);
  // Moving it on inside the delegation is fine too.
  r = as_user(busctl({"Create", "sa{ss}", grant + "/other", "0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = as_user(busctl({"Attach", "su", grant + "/other", std::to_string(mine.pid())}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(primary_cgroup(mine.pid()).str(), grant + "/other");
  r = as_user(busctl({"GetProcesses", "sb", grant, "true"}));
  EXPECT_EQ(r.out, "au 1 " + std::to_string(mine.pid()) + "\n");
  r = as_user(busctl({"ListDelegations"}));
  EXPECT_EQ(r.out, "a(suu) 1 \"" + grant + "\" " + std::to_string(user.uid) + " " + std::to_string(user.gid) + "\n");

  mine.kill(SIGKILL);
  mine.wait();
  r = as_user(busctl({"Remove", "sb", job, "false"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = as_user(busctl({"Remove", "sb", grant + "/other", "false"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(tree.children(grant_path).empty());
}

TEST_F(UserTest, CreateAndAttachInOneCall) {
  auto& tree = sandbox_->tree();
  const std::string grant = root_ + "/user-" + std::to_string(tk::test_user().uid);
  tk::Child mine = user_sleeper();
  // The delegation is requested on the way (none exists yet).
  auto r = as_user(busctl({"CreateAndAttach", "sa{ss}ub", "box", "1", "memory.max", "64M",
                           std::to_string(mine.pid()), "true"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string box = grant + "/box";
  EXPECT_EQ(r.out, "s \"" + box + "\"\n");
  EXPECT_EQ(tree.owner(CgroupPath::parse(grant)), tk::test_user().uid);
  EXPECT_EQ(tree.memory(CgroupPath::parse(box)).limit, parse_size("64M"));
  EXPECT_EQ(primary_cgroup(mine.pid()).str(), box);
  // The same name again: Exists, and the first cgroup keeps its process.
  tk::Child second = user_sleeper();
  r = as_user(dbus_send("CreateAndAttach", {"string:box", "dict:string:string:pids.max,5",
                                             "uint32:" + std::to_string(second.pid()), "boolean:true"}));
  EXPECT_EQ(error_name(r), "org.nestbox.Error.Exists") << r.err;
  EXPECT_EQ(primary_cgroup(mine.pid()).str(), box);
  // Marked remove-on-empty: it goes when its last process does.
  mine.kill(SIGKILL);
  mine.wait();
  EXPECT_TRUE(eventually([&] { return !tree.exists(CgroupPath::parse(box)); }));
}

TEST_F(UserTest, AttachSelfWithPidZero) {
  const std::string grant = proxy_->Create(root_ + "/u", {});
  proxy_->Delegate(grant, tk::test_user().uid, tk::test_user().gid);
  const std::string job = grant + "/self";
  ASSERT_EQ(as_user(busctl({"Create", "sa{ss}", job, "0"})).exit_code, 0);
  // busctl attaches itself and exits; the cgroup is empty again right after.
  auto r = as_user(busctl({"Attach", "su", job, "0"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = as_user(busctl({"Remove", "sb", job, "false"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The policy caps the user at 256M and 64 pids: a subtree root delegates to
// that user gets the same ceilings as one RequestUserDelegation makes, unless
// root set stricter limits itself, which stay.
TEST_F(UserTest, RootMadeDelegationCarriesTheUsersCeilings) {
  auto& tree = sandbox_->tree();
  const auto& user = tk::test_user();
  const std::string loose = proxy_->Create(root_ + "/team", {});
  const std::string strict = proxy_->Create(root_ + "/small", {{"pids.max", "10"}});
  proxy_->Delegate(loose, user.uid, user.gid);
  proxy_->Delegate(strict, user.uid, user.gid);
  EXPECT_EQ(tree.memory(CgroupPath::parse(loose)).limit, parse_size("256M"));
  EXPECT_EQ(tree.pids(CgroupPath::parse(loose))->max, Limit(64));
  EXPECT_EQ(tree.pids(CgroupPath::parse(strict))->max, Limit(10));  // root's stricter limit stays
  // A child the user makes without limits is bounded by the kernel through its parent.
  ASSERT_EQ(as_user(busctl({"Create", "sa{ss}", loose + "/job", "0"})).exit_code, 0);
  EXPECT_EQ(tree.effective_memory(CgroupPath::parse(loose + "/job")).limit, parse_size("256M"));
  // And the user reads them back by their v2 names, on every layout.
  auto r = as_user(busctl({"GetValue", "ss", loose, "memory.max"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "s \"268435456\\n\"\n");
  auto limits = proxy_->GetLimits(loose);
  EXPECT_EQ(limits["memory.max"], "268435456");
  EXPECT_EQ(limits["pids.max"], "64");
  EXPECT_EQ(proxy_->GetLimits(strict)["pids.max"], "10");
  r = as_user(busctl({"GetLimits", "s", loose}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"memory.max\" \"268435456\""), std::string::npos) << r.out;
  // Outside the manager root: refused like GetValue.
  EXPECT_EQ(error_of([&] { proxy_->GetLimits("/"); }), "org.nestbox.Error.PermissionDenied");
  EXPECT_EQ(error_of([&] { proxy_->GetLimits(root_ + "/nope"); }), "org.nestbox.Error.NotFound");
}

// Freeze, Thaw and Kill of a subtree inside the user's delegation, as the user;
// outside it they are refused and nothing happens.
TEST_F(UserTest, FreezeThawAndKillInsideTheDelegation) {
  auto& tree = sandbox_->tree();
  const std::string grant = root_ + "/user-" + std::to_string(tk::test_user().uid);
  ASSERT_EQ(as_user(busctl({"RequestUserDelegation"})).exit_code, 0);
  const std::string job = grant + "/job";
  ASSERT_EQ(as_user(busctl({"Create", "sa{ss}", job, "0"})).exit_code, 0);
  ASSERT_EQ(as_user(busctl({"Create", "sa{ss}", job + "/inner", "0"})).exit_code, 0);
  tk::Child a = user_sleeper();
  tk::Child b = user_sleeper();
  ASSERT_EQ(as_user(busctl({"Attach", "su", job, std::to_string(a.pid())})).exit_code, 0);
  ASSERT_EQ(as_user(busctl({"Attach", "su", job + "/inner", std::to_string(b.pid())})).exit_code, 0);
  // The kernel's own report: cgroup.events of the cgroup2 hierarchy (also on hybrid hosts).
  auto frozen = [&](const std::string& cg) {
    auto kv = parse_flat_keyed(tree.read_file(CgroupPath::parse(cg), "cgroup.events"));
    return kv.count("frozen") && kv.at("frozen") == 1;
  };
  auto r = as_user(busctl({"Freeze", "s", job}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return frozen(job) && frozen(job + "/inner"); }));
  r = as_user(busctl({"Thaw", "s", job}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return !frozen(job) && !frozen(job + "/inner"); }));
  // Refused outside the delegation (the delegated cgroup itself is root's).
  for (const std::string& path : {grant, root_, std::string("/")}) {
    for (const char* method : {"Kill", "Freeze"}) {
      r = as_user(dbus_send(method, {"string:" + path}));
      EXPECT_EQ(error_name(r), "org.nestbox.Error.PermissionDenied") << method << " " << path << ": " << r.err;
    }
  }
  EXPECT_FALSE(frozen(grant));
  EXPECT_TRUE(a.running());
  // Kill: both processes, the inner one too.
  r = as_user(busctl({"Kill", "s", job}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(a.wait(std::chrono::seconds(10)), 128 + SIGKILL);
  EXPECT_EQ(b.wait(std::chrono::seconds(10)), 128 + SIGKILL);
  EXPECT_TRUE(tree.processes(CgroupPath::parse(job), true).empty());
  // ListControllers: the delegation's ceiling needed the memory controller.
  r = as_user(busctl({"ListControllers", "s", grant}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"memory\""), std::string::npos) << r.out;
  EXPECT_EQ(error_name(as_user(dbus_send("ListControllers", {"string:/"}))), "org.nestbox.Error.PermissionDenied");
}

class NoPolicyTest : public CgmgrTest {
 protected:
  std::string policy_text() const override { return "[defaults]\nmax_cgroups = 2\n"; }
};

TEST_F(NoPolicyTest, RequestRefusedUnlessRootDelegated) {
  const auto& user = tk::test_user();
  auto r = as_user(dbus_send("RequestUserDelegation", {}));
  EXPECT_EQ(error_name(r), "org.nestbox.Error.PermissionDenied");
  const std::string grant = root_ + "/user-" + std::to_string(user.uid);
  EXPECT_FALSE(sandbox_->tree().exists(CgroupPath::parse(grant)));
  // Root's own Delegate of that path counts, whatever the policy says.
  proxy_->Create(grant, {});
  proxy_->Delegate(grant, user.uid, user.gid);
  r = as_user(busctl({"RequestUserDelegation"}));
  EXPECT_EQ(r.out, "s \"" + grant + "\"\n");
  // Defaults still bound what happens inside a root-made grant.
  EXPECT_EQ(as_user(busctl({"Create", "sa{ss}", grant + "/a", "0"})).exit_code, 0);
  EXPECT_EQ(as_user(busctl({"Create", "sa{ss}", grant + "/b", "0"})).exit_code, 0);
  r = as_user(dbus_send("Create", {"string:" + grant + "/c", "dict:string:string:pids.max,5"}));
  EXPECT_EQ(error_name(r), "org.nestbox.Error.QuotaExceeded");
}

}  // namespace
}  // namespace nestbox::cgmgr_test
