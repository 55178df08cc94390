// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "render.hpp"

namespace nestbox::fs {
namespace {

// A host /proc/meminfo as a 6.x kernel prints it (trimmed to a representative set,
// including lines nestbox leaves alone and one without a unit).
constexpr std::string_view kHost =
    "MemTotal:       24684084 kB\n"
    "MemFree:        24512956 kB\n"
    "MemAvailable:   24430620 kB\n"
    "Buffers:            1256 kB\n"
    "Cached:            27700 kB\n"
    "SwapCached:            0 kB\n"
    "Active:            12252 kB\n"
    "Inactive:          17684 kB\n"
    "Active(anon):       1552 kB\n"
    "Inactive(anon):     8200 kB\n"
    "Active(file):      10700 kB\n"
    "Inactive(file):     9484 kB\n"
    "Unevictable:       17188 kB\n"
    "SwapTotal:       8388604 kB\n"
    "SwapFree:        8000000 kB\n"
    "Shmem:              8872 kB\n"
    "Slab:              80388 kB\n"
    "SReclaimable:      58132 kB\n"
    "SUnreclaim:        22256 kB\n"
    "VmallocTotal:   34359738367 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

constexpr std::uint64_t kMiB = 1024 * 1024;

MemoryView container_view() {
  MemoryView v;
  v.limit = 64 * kMiB;
  v.usage = 20 * kMiB;
  v.swap_limit = 32 * kMiB;
  v.swap_usage = 4 * kMiB;
  v.stat = {{"anon", 6 * kMiB},          {"file", 12 * kMiB},          {"shmem", 1 * kMiB},
            {"active_anon", 2 * kMiB},   {"inactive_anon", 4 * kMiB},  {"active_file", 5 * kMiB},
            {"inactive_file", 7 * kMiB}, {"slab_reclaimable", 3 * kMiB}, {"slab_unreclaimable", 1 * kMiB},
            {"file_mapped", 2 * kMiB}};
  return v;
}

std::vector<std::string> labels(std::string_view text) {
  std::vector<std::string> out;
  for (auto line : split_lines(text)) out.emplace_back(line.substr(0, line.find(':')));
  return out;
}

TEST(RenderMeminfo, KeepsEveryLineInKernelOrder) {
  auto out = render_meminfo(kHost, container_view());
  EXPECT_EQ(labels(out), labels(kHost));
  // Untouched lines are byte-identical.
  EXPECT_NE(out.find("VmallocTotal:   34359738367 kB\n"), std::string::npos);
  EXPECT_NE(out.find("HugePages_Total:       0\n"), std::string::npos);
}

TEST(RenderMeminfo, SameFormatAsKernel) {
  // A view with exactly the host's numbers renders the host text unchanged,
  // which pins the column layout.
  MemoryView v;
  v.limit = std::nullopt;
  auto host_total = *meminfo_value(kHost, "MemTotal");
  auto host_free = *meminfo_value(kHost, "MemFree");
  v.usage = (host_total - host_free) * 1024;
  auto out = render_meminfo(kHost, v);
  auto in_lines = split_lines(kHost);
  auto out_lines = split_lines(out);
  ASSERT_EQ(in_lines.size(), out_lines.size());
  EXPECT_EQ(out_lines[0], in_lines[0]);
  EXPECT_EQ(out_lines[1], in_lines[1]);
  for (std::size_t i = 0; i < out_lines.size(); ++i) EXPECT_EQ(out_lines[i].size(), in_lines[i].size()) << out_lines[i];
}

TEST(RenderMeminfo, LimitsAndAvailableMath) {
  auto v = container_view();
  auto out = render_meminfo(kHost, v);
  const std::uint64_t total = *v.limit / 1024;
  const std::uint64_t free = total - v.usage / 1024;
  EXPECT_EQ(meminfo_value(out, "MemTotal"), total);
  EXPECT_EQ(meminfo_value(out, "MemFree"), free);
  const std::uint64_t reclaim = (v.stat["active_file"] + v.stat["inactive_file"] + v.stat["slab_reclaimable"]) / 1024;
  EXPECT_EQ(meminfo_value(out, "MemAvailable"), std::min(total, free + reclaim));
  EXPECT_EQ(meminfo_value(out, "Cached"), v.stat["file"] / 1024);
  EXPECT_EQ(meminfo_value(out, "Shmem"), v.stat["shmem"] / 1024);
  EXPECT_EQ(meminfo_value(out, "Active"), (v.stat["active_anon"] + v.stat["active_file"]) / 1024);
  EXPECT_EQ(meminfo_value(out, "Slab"), (v.stat["slab_reclaimable"] + v.stat["slab_unreclaimable"]) / 1024);
  EXPECT_EQ(meminfo_value(out, "SwapTotal"), *v.swap_limit / 1024);
  EXPECT_EQ(meminfo_value(out, "SwapFree"), (*v.swap_limit - *v.swap_usage) / 1024);
  EXPECT_EQ(meminfo_value(out, "Buffers"), 0u);
}

TEST(RenderMeminfo, AvailableCappedAtTotal) {
  auto v = container_view();
  v.usage = 0;
  v.stat["inactive_file"] = 500 * kMiB;
  auto out = render_meminfo(kHost, v);
  EXPECT_EQ(meminfo_value(out, "MemAvailable"), *v.limit / 1024);
}

TEST(RenderMeminfo, LimitAboveHostKeepsHostTotal) {
  auto v = container_view();
  v.limit = std::uint64_t{1} << 50;
  auto out = render_meminfo(kHost, v);
  EXPECT_EQ(meminfo_value(out, "MemTotal"), meminfo_value(kHost, "MemTotal"));
}

TEST(RenderMeminfo, UsageAboveLimitNeverUnderflows) {
  auto v = container_view();
  v.usage = *v.limit * 2;
  auto out = render_meminfo(kHost, v);
  EXPECT_EQ(meminfo_value(out, "MemFree"), 0u);
}

TEST(ContainerSwap, NoHostSwapMeansNone) {
  auto s = container_swap(0, 0, container_view());
  EXPECT_EQ(s.total_kb, 0u);
  EXPECT_EQ(s.used_kb, 0u);
}

TEST(ContainerSwap, UnlimitedSwapIsHostSwapAndUnaccountedUsesHostUse) {
  MemoryView v;
  auto s = container_swap(1000, 600, v);
  EXPECT_EQ(s.total_kb, 1000u);
  EXPECT_EQ(s.used_kb, 400u);
}

}  // namespace
}  // namespace nestbox::fs
