// SPDX-License-Identifier: Apache-2.0
#include "state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "nestbox/error.hpp"
#include "testkit.hpp"

namespace nestbox::launcher {
namespace {

ContainerRecord live_record(const std::string& name) {
  ContainerRecord r;
  r.name = name;
  r.launcher_pid = ::getpid();
  r.launcher_start = process_start_ticks(::getpid());
  r.cgroup = "/nestbox/user-1/" + name;
  r.command = {"sleep", "1"};
  r.limits = {{"memory.max", "1024"}};
  return r;
}

TEST(State, JsonRoundTrip) {
  auto r = live_record("web");
  auto back = record_from_json(nlohmann::json::parse(record_to_json(r).dump()));
  EXPECT_EQ(back.name, r.name);
  EXPECT_EQ(back.launcher_pid, r.launcher_pid);
  EXPECT_EQ(back.launcher_start, r.launcher_start);
  EXPECT_EQ(back.cgroup, r.cgroup);
  EXPECT_EQ(back.command, r.command);
  EXPECT_EQ(back.limits, r.limits);
}

TEST(State, NumbersMustBeIntegersInRange) {
  // Found by fuzz/launcher_state_fuzz: a float pid was cast to pid_t unchecked
  // (undefined behaviour beyond the range of int).
  for (const char* text : {R"({"name":"a","launcher_pid":8.5e27,"launcher_start":1})",
                           R"({"name":"a","launcher_pid":4294967297,"launcher_start":1})",
                           R"({"name":"a","launcher_pid":1,"launcher_start":-1})",
                           R"({"name":"a","launcher_pid":1,"launcher_start":1,"init_pid":1.5})"})
    EXPECT_THROW(record_from_json(nlohmann::json::parse(text)), std::exception) << text;
  auto ok = record_from_json(nlohmann::json::parse(R"({"name":"a","launcher_pid":7,"launcher_start":9})"));
  EXPECT_EQ(ok.launcher_pid, 7);
  EXPECT_EQ(ok.launcher_start, 9u);
  EXPECT_EQ(ok.init_pid, 0);
}

TEST(State, ClaimRefusesALiveNameAndReplacesAStaleOne) {
  testkit::TempDir dir("nestbox-state");
  StateDir state(dir.path() + "/s");
  struct stat st {};
  ASSERT_EQ(::stat(state.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  state.claim(live_record("web"));
  try {
    state.claim(live_record("web"));
    FAIL() << "claimed twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::Exists);
  }
  ASSERT_EQ(state.list().size(), 1u);

  // A record whose launcher is gone (start time does not match) is stale.
  auto stale = live_record("old");
  stale.launcher_start += 12345;
  state.update(stale);
  EXPECT_FALSE(state.find("old"));
  state.claim(live_record("old"));
  EXPECT_TRUE(state.find("old"));

  state.remove("web");
  state.remove("old");
  EXPECT_TRUE(state.list().empty());
}

TEST(State, RefusesADirectoryOthersCanReach) {
  testkit::TempDir dir("nestbox-state");
  const std::string path = dir.path() + "/open";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);
  EXPECT_THROW(StateDir{path}, Error);
}

TEST(State, DefaultDirectoryOrder) {
  testkit::TempDir dir("nestbox-xdg");
  EXPECT_EQ(default_state_dir(::getuid(), dir.path()), dir.path() + "/nestbox");
  // A runtime dir owned by someone else is ignored.
  const std::string fallback = default_state_dir(::getuid() + 4242, dir.path());
  EXPECT_EQ(fallback, "/tmp/nestbox-" + std::to_string(::getuid() + 4242));
}

}  // namespace
}  // namespace nestbox::launcher
