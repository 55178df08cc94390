// SPDX-License-Identifier: Apache-2.0
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

}  // namespace

std::string render_meminfo(std::string_view host, const MemoryView& view) {
  const ContainerMemory mem = container_memory(host_memory_from_meminfo(host), view);
  const auto& st = view.stat;
  const std::uint64_t slab_rec = stat_kb(st, "slab_reclaimable");
  const std::uint64_t slab_unrec = stat_kb(st, "slab_unreclaimable");
  const std::uint64_t slab = st.contains("slab") ? stat_kb(st, "slab") : slab_rec + slab_unrec;
  const std::uint64_t active_file = stat_kb(st, "active_file");
  const std::uint64_t inactive_file = stat_kb(st, "inactive_file");
  const std::uint64_t active_anon = stat_kb(st, "active_anon");
  const std::uint64_t inactive_anon = stat_kb(st, "inactive_anon");

  // Lines whose value belongs to the container; every other line keeps the host value.
  const std::map<std::string_view, std::uint64_t> values = {
      {"MemTotal", mem.total_kb},
      {"MemFree", mem.free_kb},
      {"MemAvailable", mem.available_kb},
      {"Buffers", mem.buffers_kb},
      {"Cached", stat_kb(st, "file")},
      {"SwapCached", stat_kb(st, "swapcached")},
      {"Active", active_anon + active_file},
      {"Inactive", inactive_anon + inactive_file},
      {"Active(anon)", active_anon},
      {"Inactive(anon)", inactive_anon},
      {"Active(file)", active_file},
      {"Inactive(file)", inactive_file},
      {"Unevictable", stat_kb(st, "unevictable")},
      {"SwapTotal", mem.swap_total_kb},
      {"SwapFree", mem.swap_free_kb},
      {"Dirty", stat_kb(st, "file_dirty")},
      {"Writeback", stat_kb(st, "file_writeback")},
      {"AnonPages", stat_kb(st, "anon")},
      {"Mapped", stat_kb(st, "file_mapped")},
      {"Shmem", mem.shared_kb},
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
