// SPDX-License-Identifier: Apache-2.0
// Fairness under attack: one user floods the manager from many connections
// while another user and root make ordinary calls. The flood must cost the
// others nothing: every one of their calls is answered, none refused.
#include <sys/stat.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "cgmgr_fixture.hpp"

namespace nestbox::cgmgr_test {
namespace {

using FairnessTest = CgmgrTest;

struct LoadReport {
  long ok = -1, busy = -1, other = -1, p50_us = -1, max_us = -1;
};

LoadReport parse_report(const std::string& out) {
  LoadReport r;
  std::sscanf(out.c_str(), "ok=%ld busy=%ld other=%ld p50_us=%ld max_us=%ld", &r.ok, &r.busy, &r.other, &r.p50_us,
              &r.max_us);
  return r;
}

TEST_F(FairnessTest, OneUsersFloodCostsAnotherUserNoCall) {
  tk::TempDir files("nestbox-flood", 0777);
  ASSERT_EQ(::chmod(files.path().c_str(), 0777), 0);
  const std::string stop = files.path() + "/stop";
  tk::RunOptions with_bus;
  with_bus.env = bus_->client_env();
  with_bus.timeout = std::chrono::seconds(300);

  // The flood: the test user, 8 connections of 128 pipelined calls each, round
  // after round, until told to stop.
  tk::CommandResult flood;
  std::thread flooder([&] { flood = tk::test_user().run({NESTBOX_BUS_FLOOD, "flood", root_, stop}, with_bus); });
  struct StopFlood {
    const std::string& stop;
    std::thread& flooder;
    ~StopFlood() {
      std::FILE* f = std::fopen(stop.c_str(), "w");
      if (f) std::fclose(f);
      if (flooder.joinable()) flooder.join();
    }
  } stop_flood{stop, flooder};
  // It is being refused: its share of the queue is full.
  ASSERT_TRUE(eventually([&] { return daemon_log().find("refused, server busy") != std::string::npos; }))
      << "the flood never filled its share";

  // Meanwhile another user (nobody) makes 40 calls one after another, and root 10.
  tk::RunOptions nobody = with_bus;
  nobody.uid = 65534;
  nobody.gid = 65534;
  auto other = tk::run({NESTBOX_BUS_FLOOD, "calls", root_, "40"}, nobody);
  ASSERT_EQ(other.exit_code, 0) << other.err;
  int root_failures = 0;
  for (int i = 0; i < 10; ++i)
    root_failures += error_of([&] { proxy_->ListChildren(root_); }).empty() ? 0 : 1;
  const bool flood_still_running = flooder.joinable() && ::access(stop.c_str(), F_OK) != 0;

  std::FILE* f = std::fopen(stop.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  flooder.join();
  ASSERT_EQ(flood.exit_code, 0) << flood.err;
  const LoadReport mine = parse_report(other.out), theirs = parse_report(flood.out);
  std::cout << "flooding user: " << flood.out << "other user:    " << other.out;

  EXPECT_TRUE(flood_still_running);
  EXPECT_GT(theirs.busy, 0) << flood.out;  // the flood really was refused beyond its share
  EXPECT_EQ(mine.ok, 40) << other.out;
  EXPECT_EQ(mine.busy, 0) << other.out;
  EXPECT_EQ(mine.other, 0) << other.out;
  EXPECT_EQ(root_failures, 0);
}

}  // namespace
}  // namespace nestbox::cgmgr_test
