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
    auto lines = cpu_lines(render_stat(kHost, v));
    ASSERT_EQ(lines.size(), v.visible.size() + 1);
    EXPECT_EQ(lines[0].name, "cpu");
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

TEST(RenderStat, KeepsHostLinesAndReplacesProcs) {
  auto v = v1_view();
  v.procs_running = 2;
  v.procs_blocked = 1;
  auto out = render_stat(kHost, v);
  EXPECT_NE(out.find("btime 1700000000\n"), std::string::npos);
  EXPECT_NE(out.find("intr 12345 0 0\n"), std::string::npos);
  EXPECT_NE(out.find("procs_running 2\n"), std::string::npos);
  EXPECT_NE(out.find("procs_blocked 1\n"), std::string::npos);
  EXPECT_EQ(out.find("procs_running 7"), std::string::npos);
  EXPECT_TRUE(out.starts_with("cpu  "));
}

}  // namespace
}  // namespace nestbox::fs
