// SPDX-License-Identifier: Apache-2.0
#include "nestbox/memory_view.hpp"

#include <algorithm>
#include <exception>

namespace nestbox {

MemoryView memory_view(EffectiveMemory&& effective) {
  return MemoryView{effective.limit, effective.binding_state.usage, effective.swap_limit,
                    effective.binding_state.swap_usage, std::move(effective.binding_state.stat)};
}

std::optional<std::uint64_t> meminfo_value(std::string_view text, std::string_view key) {
  for (auto line : split_lines(text)) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos || line.substr(0, colon) != key) continue;
    auto start = line.find_first_not_of(' ', colon + 1);
    if (start == std::string_view::npos) return std::nullopt;
    auto end = line.find_first_not_of("0123456789", start);
    try {
      return parse_u64(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::uint64_t stat_kb(const FlatKeyed& stat, std::string_view key) {
  auto it = stat.find(key);
  return it == stat.end() ? 0 : it->second / 1024;
}

HostMemory host_memory_from_meminfo(std::string_view meminfo) {
  return HostMemory{meminfo_value(meminfo, "MemTotal").value_or(0), meminfo_value(meminfo, "SwapTotal").value_or(0),
                    meminfo_value(meminfo, "SwapFree").value_or(0)};
}

SwapFigures container_swap(std::uint64_t host_swap_total_kb, std::uint64_t host_swap_free_kb,
                           const MemoryView& view) {
  SwapFigures out;
  if (host_swap_total_kb == 0) return out;
  out.total_kb = host_swap_total_kb;
  if (view.swap_limit) out.total_kb = std::min(out.total_kb, *view.swap_limit / 1024);
  // Without swap accounting the cgroup's swap use is unknown; the host's use is the
  // best bound we have.
  std::uint64_t used = view.swap_usage ? *view.swap_usage / 1024
                                       : host_swap_total_kb - std::min(host_swap_free_kb, host_swap_total_kb);
  out.used_kb = std::min(used, out.total_kb);
  return out;
}

ContainerMemory container_memory(const HostMemory& host, const MemoryView& view) {
  ContainerMemory out;
  out.total_kb = host.total_kb;
  if (view.limit) out.total_kb = std::min(out.total_kb, *view.limit / 1024);
  const std::uint64_t used = std::min(view.usage / 1024, out.total_kb);
  out.free_kb = out.total_kb - used;
  const std::uint64_t reclaimable = stat_kb(view.stat, "active_file") + stat_kb(view.stat, "inactive_file") +
                                    stat_kb(view.stat, "slab_reclaimable");
  out.available_kb = std::min(out.total_kb, out.free_kb + reclaimable);
  out.shared_kb = stat_kb(view.stat, "shmem");
  out.buffers_kb = 0;
  const SwapFigures swap = container_swap(host.swap_total_kb, host.swap_free_kb, view);
  out.swap_total_kb = swap.total_kb;
  out.swap_free_kb = swap.total_kb - swap.used_kb;
  return out;
}

}  // namespace nestbox
