// meminfo: the host file with container values substituted line by line.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "render.hpp"

namespace nestbox::fs {
namespace {

struct MemLine {
  std::string_view label;   // "MemTotal:" (with colon)
  std::string_view number;  // digits as printed
  std::string_view suffix;  // " kB" or ""
  bool parsed = false;
};

MemLine split_line(std::string_view line) {
  MemLine out;
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return out;
  out.label = line.substr(0, colon + 1);
  auto start = line.find_first_not_of(' ', colon + 1);
  if (start == std::string_view::npos) return out;
  auto end = line.find_first_not_of("0123456789", start);
  if (end == start) return out;
  out.number = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  out.suffix = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  out.parsed = true;
  return out;
}

std::uint64_t stat_kb(const FlatKeyed& stat, std::string_view key) {
  auto it = stat.find(key);
  return it == stat.end() ? 0 : it->second / 1024;
}

}  // namespace

std::optional<std::uint64_t> meminfo_value(std::string_view text, std::string_view key) {
  for (auto line : split_lines(text)) {
    auto parts = split_line(line);
    if (!parts.parsed || parts.label.size() != key.size() + 1) continue;
    if (parts.label.substr(0, key.size()) != key) continue;
    try {
      return parse_u64(parts.number);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
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

std::string render_meminfo(std::string_view host, const MemoryView& view) {
  const std::uint64_t host_total = meminfo_value(host, "MemTotal").value_or(0);
  const std::uint64_t host_swap_total = meminfo_value(host, "SwapTotal").value_or(0);
  const std::uint64_t host_swap_free = meminfo_value(host, "SwapFree").value_or(0);
  const auto& st = view.stat;

  std::uint64_t total = host_total;
  if (view.limit) total = std::min(total, *view.limit / 1024);
  const std::uint64_t used = std::min(view.usage / 1024, total);
  const std::uint64_t free = total - used;
  const std::uint64_t slab_rec = stat_kb(st, "slab_reclaimable");
  const std::uint64_t slab_unrec = stat_kb(st, "slab_unreclaimable");
  const std::uint64_t slab = st.contains("slab") ? stat_kb(st, "slab") : slab_rec + slab_unrec;
  const std::uint64_t active_file = stat_kb(st, "active_file");
  const std::uint64_t inactive_file = stat_kb(st, "inactive_file");
  const std::uint64_t active_anon = stat_kb(st, "active_anon");
  const std::uint64_t inactive_anon = stat_kb(st, "inactive_anon");
  const std::uint64_t available = std::min(total, free + active_file + inactive_file + slab_rec);
  const SwapFigures swap = container_swap(host_swap_total, host_swap_free, view);

  // Lines whose value belongs to the container; every other line keeps the host value.
  const std::map<std::string_view, std::uint64_t> values = {
      {"MemTotal", total},
      {"MemFree", free},
      {"MemAvailable", available},
      {"Buffers", 0},
      {"Cached", stat_kb(st, "file")},
      {"SwapCached", stat_kb(st, "swapcached")},
      {"Active", active_anon + active_file},
      {"Inactive", inactive_anon + inactive_file},
      {"Active(anon)", active_anon},
      {"Inactive(anon)", inactive_anon},
      {"Active(file)", active_file},
      {"Inactive(file)", inactive_file},
      {"Unevictable", stat_kb(st, "unevictable")},
      {"SwapTotal", swap.total_kb},
      {"SwapFree", swap.total_kb - swap.used_kb},
      {"Dirty", stat_kb(st, "file_dirty")},
      {"Writeback", stat_kb(st, "file_writeback")},
      {"AnonPages", stat_kb(st, "anon")},
      {"Mapped", stat_kb(st, "file_mapped")},
      {"Shmem", stat_kb(st, "shmem")},
      {"KReclaimable", slab_rec},
      {"Slab", slab},
      {"SReclaimable", slab_rec},
      {"SUnreclaim", slab_unrec},
      {"KernelStack", stat_kb(st, "kernel_stack")},
      {"PageTables", stat_kb(st, "pagetables")},
      {"AnonHugePages", stat_kb(st, "anon_thp")},
      {"ShmemHugePages", stat_kb(st, "shmem_thp")},
      {"FileHugePages", stat_kb(st, "file_thp")},
  };

  std::string out;
  out.reserve(host.size() + 64);
  for (auto line : split_lines(host)) {
    auto parts = split_line(line);
    if (parts.parsed && parts.suffix == " kB") {
      auto it = values.find(parts.label.substr(0, parts.label.size() - 1));
      if (it != values.end()) {
        // The kernel pads the label to 16 columns and the number to 8.
        fmt::format_to(std::back_inserter(out), "{:<16}{:>8} kB\n", parts.label, it->second);
        continue;
      }
    }
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

}  // namespace nestbox::fs
