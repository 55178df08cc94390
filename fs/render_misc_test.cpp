// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "render.hpp"

namespace nestbox::fs {
namespace {

TEST(RenderUptime, TwoDecimalsNeverNegative) {
  auto out = render_uptime(12.345, -3);
  auto f = split_ws(out);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], "12.35");
  EXPECT_EQ(f[1], "0.00");
  EXPECT_TRUE(out.ends_with("\n"));
}

TEST(RenderLoadavg, KeepsHostLastPid) {
  LoadView l{0.5, 0.25, 0.125, 2, 17};
  auto out = render_loadavg("3.00 2.00 1.00 5/900 31337\n", l);
  auto f = split_ws(out);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], "0.50");
  EXPECT_EQ(f[3], "2/17");
  EXPECT_EQ(f[4], "31337");
}

constexpr std::string_view kSwapsHeader = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

TEST(RenderSwaps, NoHostSwapHeaderOnly) {
  EXPECT_EQ(render_swaps(kSwapsHeader, 0, 0, 0), kSwapsHeader);
}

TEST(RenderSwaps, OneVirtualRowWithContainerFigures) {
  std::string host = std::string(kSwapsHeader) + "/dev/sda2 partition\t8388604\t\t0\t\t-2\n";
  auto out = render_swaps(host, 8388604, 1024, 10);
  auto lines = split_lines(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], split_lines(kSwapsHeader)[0]);
  auto f = split_ws(lines[1]);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[1], "virtual");
  EXPECT_EQ(parse_u64(f[2]), 1024u);
  EXPECT_EQ(parse_u64(f[3]), 10u);
}

TEST(RenderSwaps, ContainerWithoutSwapShowsNoRow) {
  std::string host = std::string(kSwapsHeader) + "/dev/sda2 partition\t8388604\t\t0\t\t-2\n";
  EXPECT_EQ(split_lines(render_swaps(host, 8388604, 0, 0)).size(), 1u);
}

constexpr std::string_view kDiskstats =
    "   8       0 sda 100 1 2000 30 50 2 4000 60 0 70 90 0 0 0 0 5 6\n"
    "   8       1 sda1 90 1 1800 25 40 2 3000 50 0 60 80 0 0 0 0 0 0\n"
    " 259       0 nvme0n1 7 0 56 1 0 0 0 0 0 1 1 0 0 0 0 0 0\n";

TEST(RenderDiskstats, OnlyDevicesWithActivityWithCgroupCounters) {
  std::vector<IoDeviceStats> st;
  st.push_back({8, 0, 4096, 8192, 3, 4, 0, 0});
  st.push_back({259, 0, 0, 0, 0, 0, 0, 0});  // listed but idle
  auto out = render_diskstats(kDiskstats, st);
  auto lines = split_lines(out);
  ASSERT_EQ(lines.size(), 1u);
  auto f = split_ws(lines[0]);
  auto host_fields = split_ws(split_lines(kDiskstats)[0]);
  ASSERT_EQ(f.size(), host_fields.size());
  EXPECT_EQ(f[2], "sda");
  EXPECT_EQ(parse_u64(f[3]), st[0].rios);
  EXPECT_EQ(parse_u64(f[5]), st[0].rbytes / 512);
  EXPECT_EQ(parse_u64(f[7]), st[0].wios);
  EXPECT_EQ(parse_u64(f[9]), st[0].wbytes / 512);
  EXPECT_EQ(parse_u64(f[4]), 0u);  // merges are not accounted per cgroup
}

TEST(RenderDiskstats, NothingForIdleCgroup) { EXPECT_EQ(render_diskstats(kDiskstats, {}), ""); }

constexpr std::string_view kBlockStat =
    "     100        1     2000       30       50        2     4000       60        0       70       90"
    "        0        0        0        0        5        6\n";

TEST(RenderBlockStat, CgroupCountersInTheKernelsFormat) {
  std::vector<IoDeviceStats> st;
  st.push_back({259, 0, 1, 1, 1, 1, 0, 0});
  st.push_back({8, 0, 4096, 8192, 3, 4, 1024, 2});
  std::string out = render_block_stat(kBlockStat, 8, 0, st);
  // Same column count and width as the host's file: iostat splits on blanks,
  // other tools read fixed columns.
  EXPECT_EQ(out.size(), kBlockStat.size());
  auto f = split_ws(out);
  ASSERT_EQ(f.size(), 17u);
  EXPECT_EQ(parse_u64(f[0]), 3u);       // reads
  EXPECT_EQ(parse_u64(f[1]), 0u);       // merges are not accounted per cgroup
  EXPECT_EQ(parse_u64(f[2]), 8u);       // sectors read
  EXPECT_EQ(parse_u64(f[4]), 4u);       // writes
  EXPECT_EQ(parse_u64(f[6]), 16u);      // sectors written
  EXPECT_EQ(parse_u64(f[9]), 0u);       // io ticks: not known per cgroup
  EXPECT_EQ(parse_u64(f[11]), 2u);      // discards
  EXPECT_EQ(parse_u64(f[13]), 2u);      // sectors discarded
  EXPECT_EQ(out.back(), '\n');
}

TEST(RenderBlockStat, ZerosForADeviceTheCgroupDidNotTouch) {
  std::vector<IoDeviceStats> st;
  st.push_back({8, 0, 4096, 8192, 3, 4, 0, 0});
  std::string out = render_block_stat(kBlockStat, 8, 1, st);
  auto f = split_ws(out);
  ASSERT_EQ(f.size(), 17u);
  for (auto v : f) EXPECT_EQ(v, "0");
}

TEST(RenderBlockStat, KeepsAnOlderKernelsColumnCountAndDefaultsWhenUnreadable) {
  std::string older = render_block_stat("1 2 3 4 5 6 7 8 9 10 11\n", 8, 0, {});
  std::string unreadable = render_block_stat("", 8, 0, {});
  EXPECT_EQ(split_ws(older).size(), 11u);
  EXPECT_EQ(split_ws(unreadable).size(), 17u);
}

}  // namespace
}  // namespace nestbox::fs

namespace nestbox::fs {
namespace {

TEST(RenderVmstat, PagingAndFaultsFromTheCgroup) {
  const std::string host =
      "nr_free_pages 1000\npgpgin 8012865\npgpgout 7000000\npswpin 55\npswpout 66\n"
      "pgfault 123456789\npgmajfault 4242\npgsteal_kswapd 9\n";
  VmstatView v;
  v.memory_stat = {{"pgfault", 300}, {"pgmajfault", 2}, {"pswpin", 1}};
  v.read_kb = 40;
  v.written_kb = 8;
  auto out = render_vmstat(host, v);
  EXPECT_EQ(keyed_value(out, "pgpgin"), 40u);
  EXPECT_EQ(keyed_value(out, "pgpgout"), 8u);
  EXPECT_EQ(keyed_value(out, "pswpin"), 1u);
  EXPECT_EQ(keyed_value(out, "pswpout"), 0u);  // not counted per cgroup here: 0, not the host's
  EXPECT_EQ(keyed_value(out, "pgfault"), 300u);
  EXPECT_EQ(keyed_value(out, "pgmajfault"), 2u);
  // Other lines and their order stay the host's.
  EXPECT_EQ(keyed_value(out, "nr_free_pages"), 1000u);
  EXPECT_TRUE(out.starts_with("nr_free_pages 1000\npgpgin 40\n")) << out;
  EXPECT_TRUE(out.ends_with("pgsteal_kswapd 9\n"));
}

TEST(RenderVmstat, NoBlockIoCountersMeansZero) {
  VmstatView v;
  auto out = render_vmstat("pgpgin 5\npgpgout 6\n", v);
  EXPECT_EQ(out, "pgpgin 0\npgpgout 0\n");
}

}  // namespace
}  // namespace nestbox::fs
