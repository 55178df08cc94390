// SPDX-License-Identifier: Apache-2.0
// Every method through the generated proxy, as root.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cgmgr_fixture.hpp"
#include "nestbox/error.hpp"
#include "nestbox/layout.hpp"
#include "nestbox/parse.hpp"

namespace nestbox::cgmgr_test {
namespace {

using Limits = std::map<std::string, std::string>;

using ProxyTest = CgmgrTest;

TEST_F(ProxyTest, Properties) {
  auto& tree = sandbox_->tree();
  EXPECT_EQ(proxy_->Version(), NESTBOX_VERSION);
  EXPECT_EQ(proxy_->Layout(), layout_name(tree.layout()));
  EXPECT_EQ(proxy_->Controllers(), tree.controllers());
  EXPECT_EQ(proxy_->Root(), root_);
  EXPECT_TRUE(tree.exists(CgroupPath::parse(root_)));
}

TEST_F(ProxyTest, CreateSetLimitsGetValueListRemove) {
  auto& tree = sandbox_->tree();
  const std::string web = root_ + "/web";
  EXPECT_EQ(proxy_->Create(web, {{"memory.max", "64M"}, {"pids.max", "10"}}), web);
  const auto path = CgroupPath::parse(web);
  ASSERT_TRUE(tree.exists(path));
  EXPECT_EQ(tree.memory(path).limit, parse_size("64M"));
  EXPECT_EQ(tree.pids(path)->max, Limit(10));
  EXPECT_EQ(trim(proxy_->GetValue(web, "pids.max")), "10");
  proxy_->SetLimits(web, {{"pids.max", "20"}, {"memory.max", "32M"}});
  EXPECT_EQ(tree.pids(path)->max, Limit(20));
  EXPECT_EQ(tree.memory(path).limit, parse_size("32M"));
  EXPECT_EQ(proxy_->ListChildren(root_), std::vector<std::string>{"web"});
  EXPECT_EQ(error_of([&] { proxy_->Create(web, {}); }), "org.nestbox.Error.Exists");
  EXPECT_EQ(error_of([&] { proxy_->Create(root_ + "/no/such", {}); }), "org.nestbox.Error.NotFound");
  proxy_->Create(web + "/child", {});
  EXPECT_EQ(error_of([&] { proxy_->Remove(web, false); }), "org.nestbox.Error.Busy");
  EXPECT_TRUE(tree.exists(path));
  proxy_->Remove(web, true);
  EXPECT_FALSE(tree.exists(path));
  EXPECT_EQ(error_of([&] { proxy_->Remove(web, false); }), "org.nestbox.Error.NotFound");
}

TEST_F(ProxyTest, InvalidLimitsChangeNothing) {
  auto& tree = sandbox_->tree();
  const std::string bad = root_ + "/bad";
  EXPECT_EQ(error_of([&] { proxy_->Create(bad, {{"pids.max", "10"}, {"memory.max", "lots"}}); }),
            "org.nestbox.Error.InvalidValue");
  EXPECT_EQ(error_of([&] { proxy_->Create(bad, {{"memory.high", "1G"}}); }), "org.nestbox.Error.InvalidValue");
  EXPECT_FALSE(tree.exists(CgroupPath::parse(bad)));
  proxy_->Create(bad, {{"pids.max", "10"}});
  EXPECT_EQ(error_of([&] { proxy_->SetLimits(bad, {{"pids.max", "20"}, {"cpu.weight", "0"}}); }),
            "org.nestbox.Error.InvalidValue");
  EXPECT_EQ(tree.pids(CgroupPath::parse(bad))->max, Limit(10));
  EXPECT_EQ(error_of([&] { proxy_->GetValue(bad, "../cgroup.procs"); }), "org.nestbox.Error.InvalidPath");
}

TEST_F(ProxyTest, AttachProcessesAndPidCgroup) {
  auto& tree = sandbox_->tree();
  const std::string job = root_ + "/job";
  proxy_->Create(job, {});
  tk::Child sleeper = tk::Child::spawn({"sleep", "1000"});
  proxy_->Attach(job, static_cast<uint32_t>(sleeper.pid()));
  EXPECT_EQ(tree.primary_cgroup_of(sleeper.pid()).str(), job);
  EXPECT_EQ(proxy_->GetPidCgroup(static_cast<uint32_t>(sleeper.pid())), job);
  EXPECT_EQ(proxy_->GetProcesses(job, false), std::vector<uint32_t>{static_cast<uint32_t>(sleeper.pid())});
  EXPECT_EQ(proxy_->GetProcesses(root_, true), std::vector<uint32_t>{static_cast<uint32_t>(sleeper.pid())});
  EXPECT_EQ(error_of([&] { proxy_->Remove(job, true); }), "org.nestbox.Error.Busy");
  EXPECT_EQ(error_of([&] { proxy_->Attach(job, 0x7ffffff0u); }), "org.nestbox.Error.NotFound");
  sleeper.kill(SIGKILL);
  sleeper.wait();
  proxy_->Remove(job, false);
  // The caller itself (pid 0): this test process's own cgroup.
  EXPECT_EQ(proxy_->GetPidCgroup(0), tree.primary_cgroup_of(::getpid()).str());
}

TEST_F(ProxyTest, DelegateListUndelegate) {
  auto& tree = sandbox_->tree();
  const std::string team = root_ + "/team";
  const uid_t uid = tk::test_user().uid;
  const gid_t gid = tk::test_user().gid;
  EXPECT_EQ(error_of([&] { proxy_->Delegate(team, uid, gid); }), "org.nestbox.Error.NotFound");
  proxy_->Create(team, {});
  proxy_->Delegate(team, uid, gid);
  EXPECT_EQ(tree.owner(CgroupPath::parse(team)), uid);
  auto list = proxy_->ListDelegations();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].get<0>(), team);
  EXPECT_EQ(list[0].get<1>(), uid);
  EXPECT_EQ(list[0].get<2>(), gid);
  EXPECT_EQ(error_of([&] { proxy_->Delegate(team + "/sub", uid, gid); }), "org.nestbox.Error.Exists");
  proxy_->Undelegate(team);
  EXPECT_EQ(tree.owner(CgroupPath::parse(team)), 0u);
  EXPECT_TRUE(proxy_->ListDelegations().empty());
  EXPECT_EQ(error_of([&] { proxy_->Undelegate(team); }), "org.nestbox.Error.NotFound");
}

TEST_F(ProxyTest, RemoveOnEmptyRemovesAndSignals) {
  auto& tree = sandbox_->tree();
  const std::string job = root_ + "/ephemeral";
  proxy_->Create(job, {});
  tk::Child sleeper = tk::Child::spawn({"sleep", "1000"});
  proxy_->Attach(job, static_cast<uint32_t>(sleeper.pid()));
  proxy_->RemoveOnEmpty(job, true);
  EXPECT_TRUE(tree.exists(CgroupPath::parse(job)));
  sleeper.kill(SIGKILL);
  sleeper.wait();
  EXPECT_TRUE(eventually([&] { return !tree.exists(CgroupPath::parse(job)); }));
  EXPECT_TRUE(eventually([&] { return proxy_->removed() == std::vector<std::string>{job}; }));
  EXPECT_EQ(proxy_->emptied(), std::vector<std::string>{job});
  // Disabled marks do nothing.
  proxy_->Create(job, {});
  proxy_->RemoveOnEmpty(job, true);
  proxy_->RemoveOnEmpty(job, false);
  tk::Child again = tk::Child::spawn({"sleep", "1000"});
  proxy_->Attach(job, static_cast<uint32_t>(again.pid()));
  again.kill(SIGKILL);
  again.wait();
  proxy_->Remove(job, false);  // still there to be removed by hand
}

TEST_F(ProxyTest, ConcurrentClients) {
  constexpr int kClients = 8, kRounds = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      try {
        auto conn = sdbus::createSessionBusConnectionWithAddress(bus_->address());
        auto proxy = sdbus::createProxy(*conn, "org.nestbox.CgroupManager1", "/org/nestbox/CgroupManager1");
        for (int r = 0; r < kRounds; ++r) {
          std::string path = root_ + "/c" + std::to_string(c) + "-" + std::to_string(r);
          std::string created;
          proxy->callMethod("Create").onInterface("org.nestbox.CgroupManager1")
              .withArguments(path, Limits{{"pids.max", "5"}}).storeResultsTo(created);
          if (created != path) ++failures;
          proxy->callMethod("Remove").onInterface("org.nestbox.CgroupManager1").withArguments(path, false);
        }
      } catch (const sdbus::Error& e) {
        ADD_FAILURE() << e.getName() << ": " << e.getMessage();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(proxy_->ListChildren(root_).empty());
}

}  // namespace
}  // namespace nestbox::cgmgr_test
