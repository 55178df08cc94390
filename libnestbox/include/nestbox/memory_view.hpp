// SPDX-License-Identifier: Apache-2.0
// A container's memory as the programs inside should see it: the arithmetic
// behind nestbox-fs's /proc/meminfo and /proc/swaps and nestbox-run's sysinfo(2)
// answers, in one place so the two can never disagree. Pure functions; the
// callers read the host's /proc/meminfo and the cgroup's values.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "nestbox/parse.hpp"
#include "nestbox/resources.hpp"

namespace nestbox {

// Values of the cgroup that imposes the binding memory limit. `stat` uses v2 key
// names on both layouts (the library translates v1's total_* keys).
struct MemoryView {
  Limit limit;                               // effective limit (min over ancestors)
  std::uint64_t usage = 0;                   // usage of the binding cgroup, bytes
  Limit swap_limit;                          // effective swap-only limit
  std::optional<std::uint64_t> swap_usage;   // swap-only usage, nullopt if unaccounted
  FlatKeyed stat;
};
// The view of EffectiveMemory's binding cgroup (moves its memory.stat).
MemoryView memory_view(EffectiveMemory&& effective);

// The container's swap in kB: the swap-only limit capped at the host's swap; 0 when
// the host has none.
struct SwapFigures {
  std::uint64_t total_kb = 0, used_kb = 0;
};
SwapFigures container_swap(std::uint64_t host_swap_total_kb, std::uint64_t host_swap_free_kb,
                           const MemoryView& view);

// The host figures the container's are derived from (kB, from /proc/meminfo).
struct HostMemory {
  std::uint64_t total_kb = 0, swap_total_kb = 0, swap_free_kb = 0;
};
HostMemory host_memory_from_meminfo(std::string_view meminfo);

// The headline figures, in kB: MemTotal (the limit, capped at the host's RAM),
// MemFree (total - usage), MemAvailable (free + reclaimable page cache and slab,
// capped at total), Shmem, Buffers (always 0: a cgroup has no buffer count) and
// the swap of container_swap.
struct ContainerMemory {
  std::uint64_t total_kb = 0, free_kb = 0, available_kb = 0, shared_kb = 0, buffers_kb = 0;
  std::uint64_t swap_total_kb = 0, swap_free_kb = 0;
};
ContainerMemory container_memory(const HostMemory& host, const MemoryView& view);

// Value of a "Key:  123 kB" line of /proc/meminfo in kB, nullopt if absent.
std::optional<std::uint64_t> meminfo_value(std::string_view text, std::string_view key);
// A memory.stat value in kB (0 if absent).
std::uint64_t stat_kb(const FlatKeyed& stat, std::string_view key);

}  // namespace nestbox
