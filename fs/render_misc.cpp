// SPDX-License-Identifier: Apache-2.0
// Small files: uptime, loadavg, swaps, diskstats, vmstat.
#include <fmt/format.h>

#include <algorithm>

#include "render.hpp"

namespace nestbox::fs {

std::string render_uptime(double uptime_seconds, double idle_seconds) {
  return fmt::format("{:.2f} {:.2f}\n", std::max(0.0, uptime_seconds), std::max(0.0, idle_seconds));
}

std::string render_loadavg(std::string_view host, const LoadView& load) {
  // Host format: "0.00 0.01 0.05 1/123 4567"; the last field (most recent pid) stays.
  auto fields = split_ws(host);
  std::string_view last_pid = fields.size() >= 5 ? fields[4] : std::string_view{"0"};
  return fmt::format("{:.2f} {:.2f} {:.2f} {}/{} {}\n", load.avg1, load.avg5, load.avg15, load.running,
                     load.total, last_pid);
}

std::string render_swaps(std::string_view host_swaps, std::uint64_t host_swap_total_kb,
                         std::uint64_t swap_total_kb, std::uint64_t swap_used_kb) {
  auto lines = split_lines(host_swaps);
  std::string out;
  if (lines.empty()) {
    out = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  } else {
    out.append(lines.front());
    out.push_back('\n');
  }
  // The host's devices say nothing about the container; one virtual row carries
  // the container's own swap, and none when it may not swap at all.
  if (host_swap_total_kb > 0 && swap_total_kb > 0) {
    fmt::format_to(std::back_inserter(out), "{:<40}{}\t\t{}\t\t{}\t\t{}\n", "none", "virtual",
                   swap_total_kb, swap_used_kb, 0);
  }
  return out;
}

namespace {

// Counters of a device in kernel order (the columns after the name in
// /proc/diskstats, all of /sys/block/<dev>/stat): reads, merged, sectors, ms,
// writes, merged, sectors, ms, in flight, io ms, weighted ms, discards, merged,
// sectors, ms, flushes, ms. Only what the cgroup accounts is known; the rest
// is 0. `count` is the host's column count, which is kept.
std::vector<std::uint64_t> io_counter_values(std::size_t count, const IoDeviceStats& st) {
  std::vector<std::uint64_t> values(count, 0);
  auto set = [&](std::size_t i, std::uint64_t v) {
    if (i < values.size()) values[i] = v;
  };
  set(0, st.rios);
  set(2, st.rbytes / 512);
  set(4, st.wios);
  set(6, st.wbytes / 512);
  set(11, st.dios);
  set(13, st.dbytes / 512);
  return values;
}

}  // namespace

std::string render_diskstats(std::string_view host, const std::vector<IoDeviceStats>& stats) {
  std::string out;
  for (auto line : split_lines(host)) {
    auto fields = split_ws(line);
    if (fields.size() < 4) continue;
    unsigned major = 0, minor = 0;
    try {
      major = static_cast<unsigned>(parse_u64(fields[0]));
      minor = static_cast<unsigned>(parse_u64(fields[1]));
    } catch (const std::exception&) {
      continue;
    }
    auto it = std::find_if(stats.begin(), stats.end(), [&](const IoDeviceStats& s) {
      return s.major == major && s.minor == minor;
    });
    if (it == stats.end() || it->rios + it->wios + it->dios + it->rbytes + it->wbytes == 0) continue;
    std::vector<std::uint64_t> values = io_counter_values(fields.size() - 3, *it);
    fmt::format_to(std::back_inserter(out), "{:>4} {:>7} {}", major, minor, fields[2]);
    for (auto v : values) fmt::format_to(std::back_inserter(out), " {}", v);
    out.push_back('\n');
  }
  return out;
}

std::string render_block_stat(std::string_view host_stat, unsigned major, unsigned minor,
                              const std::vector<IoDeviceStats>& stats) {
  // 17 columns since Linux 5.5 (flushes); an older or unreadable host file
  // keeps its own count, at least the 11 of old kernels.
  std::size_t count = split_ws(host_stat).size();
  if (count < 11) count = 17;
  auto it = std::find_if(stats.begin(), stats.end(),
                         [&](const IoDeviceStats& s) { return s.major == major && s.minor == minor; });
  std::vector<std::uint64_t> values = it == stats.end() ? std::vector<std::uint64_t>(count, 0)
                                                        : io_counter_values(count, *it);
  // The kernel's format: each column right-aligned in 8, one space between.
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i)
    fmt::format_to(std::back_inserter(out), "{}{:>8}", i == 0 ? "" : " ", values[i]);
  out.push_back('\n');
  return out;
}

}  // namespace nestbox::fs

namespace nestbox::fs {

std::string render_vmstat(std::string_view host, const VmstatView& view) {
  auto stat = [&](std::string_view key) -> std::uint64_t {
    auto it = view.memory_stat.find(key);
    return it == view.memory_stat.end() ? 0 : it->second;
  };
  const std::pair<std::string_view, std::uint64_t> replaced[] = {
      {"pgpgin", view.read_kb.value_or(0)},
      {"pgpgout", view.written_kb.value_or(0)},
      {"pswpin", stat("pswpin")},
      {"pswpout", stat("pswpout")},
      {"pgfault", stat("pgfault")},
      {"pgmajfault", stat("pgmajfault")},
  };
  std::string out;
  out.reserve(host.size());
  for (auto line : split_lines(host)) {
    auto space = line.find(' ');
    std::string_view key = line.substr(0, space);
    auto it = std::find_if(std::begin(replaced), std::end(replaced), [&](const auto& r) { return r.first == key; });
    if (space != std::string_view::npos && it != std::end(replaced)) {
      fmt::format_to(std::back_inserter(out), "{} {}\n", key, it->second);
    } else {
      out.append(line);
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace nestbox::fs
