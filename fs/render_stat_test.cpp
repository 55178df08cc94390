// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "render.hpp"

namespace nestbox::fs {
namespace {

constexpr std::string_view kHost =
    "cpu  1000 0 500 90000 10 0 5 0 0 0\n"
    "cpu0 500 0 250 45000 5 0 3 0 0 0\n"
    "cpu1 500 0 250 45000 5 0 2 0 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n"
    "btime 1700000000\n"
    "processes 4242\n"
    "procs_running 7\n"
    "procs_blocked 3\n"
    "softirq 1 2 3\n";

struct Line {
  std::string name;
  std::vector<std::uint64_t> v;
};

std::vector<Line> cpu_lines(std::string_view text) {
  std::vector<Line> out;
  for (auto line : split_lines(text)) {
    if (!line.starts_with("cpu")) continue;
    auto f = split_ws(line);
    Line l{std::string(f[0]), {}};
    for (std::size_t i = 1; i < f.size(); ++i) l.v.push_back(parse_u64(f[i]));
    out.push_back(l);
  }
  return out;
}

StatView v1_view() {
  StatView v;
  v.visible = {0, 1};
  v.usage.usage_usec = 3'000'000;
  v.usage.user_usec = 2'000'000;
  v.usage.system_usec = 1'000'000;
  v.usage.per_cpu_usec = {1'000'000, 2'000'000};
  v.elapsed_ticks = 1000;
  v.ticks_per_second = 100;
  v.procs_running = 1;
  v.procs_blocked = 0;
  return v;
}

TEST(RenderStat, TotalIsSumOfPerCpuLines) {
  for (auto v : {v1_view(), [] {
                   auto x = v1_view();
                   x.usage.per_cpu_usec.clear();  // v2: totals only
                   return x;
                 }()}) {
    auto lines = cpu_lines(render_stat(kHost, v, container_cpu_times(v)));
    ASSERT_EQ(lines.size(), v.visible.size() + 1);
    EXPECT_EQ(lines[0].name, "cpu");
    EXPECT_EQ(lines[1].name, "cpu0");
    for (std::size_t field = 0; field < 10; ++field) {
      std::uint64_t sum = 0;
      for (std::size_t i = 1; i < lines.size(); ++i) sum += lines[i].v[field];
      EXPECT_EQ(lines[0].v[field], sum) << "field " << field;
    }
  }
}

TEST(RenderStat, V1PerCpuCountersMapToVisibleCpus) {
  auto v = v1_view();
  auto t = container_cpu_times(v);
  ASSERT_EQ(t.size(), 2u);
  const auto hz = v.ticks_per_second;
  // busy ticks per cpu follow the per-cpu counters.
  EXPECT_EQ(t[0].user + t[0].system, v.usage.per_cpu_usec[0] * hz / 1000000);
  EXPECT_EQ(t[1].user + t[1].system, v.usage.per_cpu_usec[1] * hz / 1000000);
  // user:system follows the cgroup's 2:1 split.
  EXPECT_NEAR(static_cast<double>(t[1].user), 2.0 * static_cast<double>(t[1].system), 2.0);
  EXPECT_EQ(t[0].idle, v.elapsed_ticks - (t[0].user + t[0].system));
}

TEST(RenderStat, V2SplitsEvenly) {
  auto v = v1_view();
  v.usage.per_cpu_usec.clear();
  auto t = container_cpu_times(v);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].user + t[0].system, t[1].user + t[1].system);
  EXPECT_EQ((t[0].user + t[0].system) * 2, v.usage.usage_usec * v.ticks_per_second / 1000000);
}

TEST(RenderStat, HiddenCpuUsageIsSpreadNotLost) {
  auto v = v1_view();
  v.visible = {1};  // quota view shows one CPU; usage on host cpu0 still counts
  auto t = container_cpu_times(v);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].user + t[0].system, v.usage.usage_usec * v.ticks_per_second / 1000000);
}

TEST(RenderStat, IdleNeverNegative) {
  auto v = v1_view();
  v.elapsed_ticks = 10;  // less than the busy time
  for (const auto& t : container_cpu_times(v)) EXPECT_EQ(t.idle, 0u);
}

TEST(RenderStat, IdleGrowsWithElapsedTime) {
  auto v = v1_view();
  auto before = container_cpu_times(v);
  v.elapsed_ticks += 500;
  v.usage.per_cpu_usec[0] += 1'000'000;  // 100 ticks busy in those 500
  v.usage.usage_usec += 1'000'000;
  v.usage.user_usec += 1'000'000;
  auto after = container_cpu_times(v);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_GE(after[i].idle, before[i].idle);
}

TEST(RenderStat, LinesKeepHostCpuNumbers) {
  auto v = v1_view();
  v.visible = {1};
  auto lines = cpu_lines(render_stat(kHost, v, container_cpu_times(v)));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].name, "cpu1");
}

// Every counter of every line is monotonic across renderings, even when the
// cgroup's user:system ratio shifts, and busy + idle of an interval equals the
// interval (never more than elapsed x CPUs).
TEST(RenderStat, CountersNeverGoBackwards) {
  for (bool v2 : {false, true}) {
    auto v = v1_view();
    if (v2) v.usage.per_cpu_usec.clear();
    std::vector<CpuTimes> last = container_cpu_times(v);
    std::uint64_t last_elapsed = v.elapsed_ticks;
    std::uint64_t seed = 12345;
    for (int step = 0; step < 500; ++step) {
      for (std::size_t i = 0; i < v.visible.size(); ++i) v.previous[v.visible[i]] = last[i];
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      std::uint64_t dt = 1 + (seed >> 60);                       // 1-16 ticks pass
      std::uint64_t busy = (seed >> 20) % (dt * 2 * 10000 + 1);  // up to 2 CPUs' worth, in usec
      // The ratio swings: sometimes all user, sometimes all system.
      std::uint64_t user_part = (seed >> 40) % (busy + 1);
      v.elapsed_ticks += dt;
      v.usage.usage_usec += busy;
      v.usage.user_usec += user_part;
      v.usage.system_usec += busy - user_part;
      if (!v2) {
        v.usage.per_cpu_usec[0] += busy / 2;
        v.usage.per_cpu_usec[1] += busy - busy / 2;
      }
      auto now = container_cpu_times(v);
      for (std::size_t i = 0; i < now.size(); ++i) {
        EXPECT_GE(now[i].user, last[i].user) << "step " << step;
        EXPECT_GE(now[i].system, last[i].system) << "step " << step;
        EXPECT_GE(now[i].idle, last[i].idle) << "step " << step;
        std::uint64_t interval = (now[i].user + now[i].system + now[i].idle) -
                                 (last[i].user + last[i].system + last[i].idle);
        EXPECT_EQ(interval, v.elapsed_ticks - last_elapsed) << "step " << step;
      }
      last = now;
      last_elapsed = v.elapsed_ticks;
    }
  }
}

TEST(RenderStat, BusyIsCappedByElapsedAndCatchesUp) {
  // Usage that predates the container (or outruns the clock) is shown as 100%
  // busy, never as more time than has passed.
  auto t = next_cpu_times(std::nullopt, 500, 0.5L, 100);
  EXPECT_EQ(t.user + t.system, 100u);
  EXPECT_EQ(t.idle, 0u);
  auto u = next_cpu_times(t, 500, 0.5L, 150);
  EXPECT_EQ(u.user + u.system, 150u);
  EXPECT_EQ(u.idle, 0u);
  auto w = next_cpu_times(u, 500, 0.5L, 1000);
  EXPECT_EQ(w.user + w.system, 500u);
  EXPECT_EQ(w.idle, 500u);
}

TEST(RenderStat, EventCountersStartAtAContainerSizedBaseline) {
  // A container up 10 s on a host up 1000 s sees 1% of the host's events so far.
  EXPECT_EQ(counter_baseline(100000, 10, 1000), 99000u);
  EXPECT_EQ(counter_baseline(100000, 1000, 1000), 0u);  // host pid namespace: the host's
  EXPECT_EQ(counter_baseline(100000, 2000, 1000), 0u);
  auto v = v1_view();
  v.counters.intr = 1000;
  v.counters.ctxt = 77;
  v.counters.processes = 5;
  v.counters.btime = 1800000000;
  auto out = render_stat(kHost, v, container_cpu_times(v));
  EXPECT_NE(out.find("intr 1000 0 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("ctxt 77\n"), std::string::npos);
  EXPECT_NE(out.find("processes 5\n"), std::string::npos);
  EXPECT_NE(out.find("btime 1800000000\n"), std::string::npos);
  EXPECT_EQ(keyed_value(out, "ctxt"), 77u);
  EXPECT_EQ(keyed_value(out, "intr"), 1000u);
  EXPECT_EQ(keyed_value(out, "nothing"), std::nullopt);
}

TEST(RenderStat, KeepsHostLinesAndReplacesProcs) {
  auto v = v1_view();
  v.procs_running = 2;
  v.procs_blocked = 1;
  auto out = render_stat(kHost, v, container_cpu_times(v));
  EXPECT_NE(out.find("btime 1700000000\n"), std::string::npos);
  EXPECT_NE(out.find("intr 12345 0 0\n"), std::string::npos);
  EXPECT_NE(out.find("procs_running 2\n"), std::string::npos);
  EXPECT_NE(out.find("procs_blocked 1\n"), std::string::npos);
  EXPECT_EQ(out.find("procs_running 7"), std::string::npos);
  EXPECT_TRUE(out.starts_with("cpu  "));
}

}  // namespace
}  // namespace nestbox::fs
