// SPDX-License-Identifier: Apache-2.0
#include "nestbox/memory_view.hpp"

#include <gtest/gtest.h>

namespace nestbox {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(ContainerMemory, LimitCapsTotalAndUsageGivesFree) {
  MemoryView v;
  v.limit = 300 * kMiB;
  v.usage = 100 * kMiB;
  v.stat = {{"shmem", 2 * kMiB}, {"active_file", 10 * kMiB}, {"inactive_file", 5 * kMiB}, {"slab_reclaimable", kMiB}};
  auto m = container_memory(HostMemory{8 * 1024 * 1024, 0, 0}, v);
  EXPECT_EQ(m.total_kb, 300u * 1024);
  EXPECT_EQ(m.free_kb, 200u * 1024);
  EXPECT_EQ(m.available_kb, 216u * 1024);
  EXPECT_EQ(m.shared_kb, 2u * 1024);
  EXPECT_EQ(m.buffers_kb, 0u);
  EXPECT_EQ(m.swap_total_kb, 0u);
}

TEST(ContainerMemory, NoLimitIsTheHostsAndUsageNeverExceedsTotal) {
  MemoryView v;
  v.usage = 64 * kMiB;
  auto m = container_memory(HostMemory{32 * 1024, 0, 0}, v);
  EXPECT_EQ(m.total_kb, 32u * 1024);
  EXPECT_EQ(m.free_kb, 0u);
}

TEST(ContainerMemory, SwapIsTheSwapLimitCappedAtTheHosts) {
  MemoryView v;
  v.limit = 64 * kMiB;
  v.swap_limit = 32 * kMiB;
  v.swap_usage = 4 * kMiB;
  auto m = container_memory(HostMemory{1024 * 1024, 16 * 1024, 16 * 1024}, v);
  EXPECT_EQ(m.swap_total_kb, 16u * 1024);
  EXPECT_EQ(m.swap_free_kb, 12u * 1024);
}

TEST(MeminfoValue, ReadsKeyedLines) {
  constexpr std::string_view text = "MemTotal:       24684084 kB\nSwapTotal:  10 kB\nHugePages_Total:       0\n";
  EXPECT_EQ(meminfo_value(text, "MemTotal"), 24684084u);
  EXPECT_EQ(meminfo_value(text, "HugePages_Total"), 0u);
  EXPECT_EQ(meminfo_value(text, "Mem"), std::nullopt);
  auto h = host_memory_from_meminfo(text);
  EXPECT_EQ(h.total_kb, 24684084u);
  EXPECT_EQ(h.swap_total_kb, 10u);
  EXPECT_EQ(h.swap_free_kb, 0u);
}

}  // namespace
}  // namespace nestbox
