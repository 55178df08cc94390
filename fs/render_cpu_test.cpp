// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "render.hpp"

namespace nestbox::fs {
namespace {

// x86-style cpuinfo for `n` CPUs; every block carries its own number in a
// second field so tests can tell which host CPU a rendered block came from.
std::string x86_cpuinfo(unsigned n) {
  std::string s;
  for (unsigned i = 0; i < n; ++i)
    s += fmt::format("processor\t: {}\nvendor_id\t: GenuineIntel\napicid\t\t: {}\nflags\t\t: fpu vme\n\n", i, i);
  return s;
}

std::vector<std::string> field(std::string_view text, std::string_view key) {
  std::vector<std::string> out;
  for (auto line : split_lines(text)) {
    auto colon = line.find(':');
    if (colon != std::string_view::npos && trim(line.substr(0, colon)) == key)
      out.emplace_back(trim(line.substr(colon + 1)));
  }
  return out;
}

TEST(VisibleCpus, CpusetRestricts) {
  CpuList online{0, 1, 2, 3};
  EXPECT_EQ(visible_cpus(online, CpuList{1, 3}, std::nullopt, CpuView::Both), (CpuList{1, 3}));
  EXPECT_EQ(visible_cpus(online, CpuList{1, 3}, std::nullopt, CpuView::Quota), online);
}

TEST(VisibleCpus, QuotaRoundsUp) {
  CpuList online{0, 1, 2, 3};
  EXPECT_EQ(visible_cpus(online, std::nullopt, 0.5, CpuView::Both).size(), 1u);
  EXPECT_EQ(visible_cpus(online, std::nullopt, 1.5, CpuView::Both).size(), 2u);
  EXPECT_EQ(visible_cpus(online, std::nullopt, 2.0, CpuView::Both).size(), 2u);
  EXPECT_EQ(visible_cpus(online, std::nullopt, 8.0, CpuView::Both).size(), 4u);
  EXPECT_EQ(visible_cpus(online, std::nullopt, 0.5, CpuView::Cpuset), online);
}

TEST(VisibleCpus, BothTakesTheSmaller) {
  CpuList online{0, 1, 2, 3};
  EXPECT_EQ(visible_cpus(online, CpuList{2, 3}, 1.0, CpuView::Both), (CpuList{2}));
  EXPECT_EQ(visible_cpus(online, CpuList{2}, 3.0, CpuView::Both), (CpuList{2}));
}

TEST(VisibleCpus, CpusetOutsideOnlineFallsBackToOnline) {
  EXPECT_EQ(visible_cpus(CpuList{0, 1}, CpuList{7}, std::nullopt, CpuView::Both), (CpuList{0, 1}));
}

TEST(CpuList, KeepsHostNumbers) {
  EXPECT_EQ(render_cpu_list(CpuList{0}), "0\n");
  EXPECT_EQ(render_cpu_list(CpuList{1}), "1\n");  // taskset -c $(cat online) must work in cpuset 1
  EXPECT_EQ(render_cpu_list(CpuList{0, 1, 2, 3}), "0-3\n");
  EXPECT_EQ(render_cpu_list(CpuList{0, 1, 3, 5, 6}), "0-1,3,5-6\n");
  for (CpuList l : {CpuList{2}, CpuList{1, 3}, CpuList{4, 5, 6, 9}}) EXPECT_EQ(parse_cpu_list(render_cpu_list(l)), l);
}

TEST(RenderCpuinfo, KeepsVisibleWithHostNumbers) {
  auto host = x86_cpuinfo(4);
  CpuList visible{1, 3};
  auto out = render_cpuinfo(host, visible);
  EXPECT_EQ(field(out, "processor"), (std::vector<std::string>{"1", "3"}));
  // The blocks kept are those of host CPUs 1 and 3, in order.
  EXPECT_EQ(field(out, "apicid"), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(field(out, "flags").size(), visible.size());
}

TEST(RenderCpuinfo, AllVisibleIsIdentity) {
  auto host = x86_cpuinfo(3);
  EXPECT_EQ(render_cpuinfo(host, CpuList{0, 1, 2}), host);
}

TEST(RenderCpuinfo, KeepsNonProcessorBlocks) {
  // arm64 style: per-cpu blocks, then no trailing block; some arches add global lines.
  std::string host = x86_cpuinfo(2) + "Hardware\t: fixture board\n";
  auto out = render_cpuinfo(host, CpuList{1});
  EXPECT_EQ(field(out, "processor"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(field(out, "Hardware").size(), 1u);
}

}  // namespace
}  // namespace nestbox::fs
