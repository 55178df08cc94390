// SPDX-License-Identifier: Apache-2.0
// memory controller: v2 memory.{max,current,swap.max,swap.current,stat} and the
// v1 equivalents (memory.limit_in_bytes, usage_in_bytes, memsw.*), with v1's
// combined memory+swap limits translated to v2's swap-only view.
#include <array>
#include <utility>

#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"

namespace nestbox::detail {
namespace {

constexpr std::uint64_t kV1UnlimitedFloor = 1ULL << 62;

constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kV1StatNames = {{
    {"total_cache", "file"},
    {"total_rss", "anon"},
    {"total_rss_huge", "anon_thp"},
    {"total_shmem", "shmem"},
    {"total_mapped_file", "file_mapped"},
    {"total_dirty", "file_dirty"},
    {"total_writeback", "file_writeback"},
    {"total_swap", "swap"},
    {"total_pgfault", "pgfault"},
    {"total_pgmajfault", "pgmajfault"},
    {"total_inactive_anon", "inactive_anon"},
    {"total_active_anon", "active_anon"},
    {"total_inactive_file", "inactive_file"},
    {"total_active_file", "active_file"},
    {"total_unevictable", "unevictable"},
    {"total_pgpgin", "pgpgin"},
}};

std::optional<std::uint64_t> read_u64(const CgroupDir& dir, std::string_view file) {
  auto text = dir.read(file);
  if (!text) return std::nullopt;
  return parse_u64(*text);
}

// v1 writes "-1" for unlimited.
std::string v1_limit_text(Limit limit) { return limit ? std::to_string(*limit) : "-1"; }

}  // namespace

bool is_v1_unlimited(std::uint64_t value) noexcept { return value >= kV1UnlimitedFloor; }

Limit parse_v1_limit(std::string_view text) {
  auto t = trim(text);
  if (t == "-1" || t == "max") return std::nullopt;
  auto value = parse_u64(t);
  if (is_v1_unlimited(value)) return std::nullopt;
  return value;
}

FlatKeyed normalize_v1_memory_stat(const FlatKeyed& v1) {
  FlatKeyed out;
  for (const auto& [key, value] : v1) {
    bool renamed = false;
    for (const auto& [from, to] : kV1StatNames) renamed = renamed || key == from;
    if (!renamed) out[key] = value;
  }
  // Hierarchical totals replace same-named local counters: v2 stats are hierarchical.
  for (const auto& [from, to] : kV1StatNames) {
    auto it = v1.find(from);
    if (it != v1.end()) out[std::string(to)] = it->second;
  }
  return out;
}

MemoryState read_memory_v2(const CgroupDir& dir) {
  MemoryState st;
  if (auto max = dir.read("memory.max")) st.limit = parse_size(*max);
  st.usage = read_u64(dir, "memory.current").value_or(0);
  if (auto swap = dir.read("memory.swap.max")) st.swap_limit = parse_size(*swap);
  st.swap_usage = read_u64(dir, "memory.swap.current");
  if (auto stat = dir.read("memory.stat")) st.stat = parse_flat_keyed(*stat);
  return st;
}

MemoryState read_memory_v1(const CgroupDir& dir) {
  MemoryState st;
  if (auto limit = dir.read("memory.limit_in_bytes")) st.limit = parse_v1_limit(*limit);
  st.usage = read_u64(dir, "memory.usage_in_bytes").value_or(0);
  auto memsw_limit_text = dir.read("memory.memsw.limit_in_bytes");
  if (memsw_limit_text) {
    Limit memsw = parse_v1_limit(*memsw_limit_text);
    if (memsw && st.limit) st.swap_limit = *memsw > *st.limit ? *memsw - *st.limit : 0;
  }
  if (auto memsw_usage = read_u64(dir, "memory.memsw.usage_in_bytes"))
    st.swap_usage = *memsw_usage > st.usage ? *memsw_usage - st.usage : 0;
  if (auto stat = dir.read("memory.stat")) st.stat = normalize_v1_memory_stat(parse_flat_keyed(*stat));
  return st;
}

void write_memory_max_v1(const CgroupDir& dir, Limit limit) {
  auto memsw_text = dir.read("memory.memsw.limit_in_bytes");
  if (!memsw_text) {
    dir.write("memory.limit_in_bytes", v1_limit_text(limit));
    return;
  }
  Limit old_limit = parse_v1_limit(dir.read_required("memory.limit_in_bytes"));
  Limit old_memsw = parse_v1_limit(*memsw_text);
  // Keep the swap allowance (memsw - limit) the cgroup had; an unlimited memory
  // limit can only go with an unlimited memsw.
  Limit new_memsw;
  if (limit && old_memsw && old_limit) {
    std::uint64_t swap = *old_memsw - std::min(*old_memsw, *old_limit);
    if (__builtin_add_overflow(*limit, swap, &new_memsw.emplace())) new_memsw.reset();
  }
  // The kernel refuses limit > memsw and memsw < limit at every step: raise memsw
  // first when the new limit exceeds the current memsw, otherwise lower limit first.
  bool memsw_first = !limit || (old_memsw && *limit > *old_memsw);
  if (memsw_first) {
    if (new_memsw != old_memsw) dir.write("memory.memsw.limit_in_bytes", v1_limit_text(new_memsw));
    dir.write("memory.limit_in_bytes", v1_limit_text(limit));
  } else {
    dir.write("memory.limit_in_bytes", v1_limit_text(limit));
    if (new_memsw != old_memsw) dir.write("memory.memsw.limit_in_bytes", v1_limit_text(new_memsw));
  }
}

void write_swap_max_v1(const CgroupDir& dir, Limit swap) {
  auto memsw_text = dir.read("memory.memsw.limit_in_bytes");
  if (!memsw_text)
    throw Error(Errc::Unsupported, "memory.swap.max: this host has no swap accounting (no memory.memsw.* files)");
  Limit limit = parse_v1_limit(dir.read_required("memory.limit_in_bytes"));
  Limit memsw;
  if (swap) {
    if (!limit)
      throw Error(Errc::Unsupported,
                  "memory.swap.max: cgroup v1 can only limit swap together with memory; set memory.max first");
    std::uint64_t sum = 0;
    if (!__builtin_add_overflow(*limit, *swap, &sum)) memsw = sum;  // overflow = unlimited
  }
  // memsw only ever needs to be >= the (unchanged) memory limit, which limit + swap is.
  dir.write("memory.memsw.limit_in_bytes", v1_limit_text(memsw));
}

std::optional<std::string> read_memory_limit_v1(const CgroupDir& dir, std::string_view key) {
  auto limit_text = dir.read("memory.limit_in_bytes");
  if (!limit_text) return std::nullopt;
  const Limit limit = parse_v1_limit(*limit_text);
  if (key == "memory.max") return format_limit(limit);
  auto memsw_text = dir.read("memory.memsw.limit_in_bytes");
  if (!memsw_text) return std::nullopt;
  const Limit memsw = parse_v1_limit(*memsw_text);
  // Swap is what memsw allows beyond memory; unlimited unless both are finite.
  if (!limit || !memsw) return std::string("max");
  return std::to_string(*memsw - std::min(*memsw, *limit));
}

std::string normalize_memory_value(std::string_view key, std::string_view value) {
  try {
    return format_limit(parse_size(value));
  } catch (const Error&) {
    throw Error(Errc::InvalidValue, std::string(key) + ": invalid value \"" + std::string(value) +
                                        "\" (allowed: a byte count with optional K/M/G/T suffix, or \"max\")");
  }
}

}  // namespace nestbox::detail
