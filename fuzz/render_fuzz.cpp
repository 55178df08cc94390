// SPDX-License-Identifier: Apache-2.0
// Input: what nestbox-fs's renderers combine: the host's /proc files (meminfo,
// cpuinfo, stat, vmstat, loadavg, swaps, diskstats) and the cgroup's values,
// which are parsed here with the project's own parsers from cgroup file text.
// The renderers build the /proc a container reads, so they must cope with any
// host text a kernel (or a test's fixture) prints and any value a cgroup has.
//
// Format: sections "@ <name>" (see fuzz_support.hpp). Host files: meminfo,
// cpuinfo, stat, vmstat, loadavg, swaps, diskstats. Cgroup values:
// memory.stat (flat keyed), memory ("LIMIT USAGE SWAP_LIMIT SWAP_USAGE", sizes
// or "max"), online and cpuset (cpu lists), cpu.max, cpu.stat (usage_usec,
// user_usec, system_usec), percpu (cpuacct.usage_percpu, ns), io ("MAJ MIN RBYTES
// WBYTES RIOS WIOS DBYTES DIOS" lines) and numbers (elapsed ticks, ticks per
// second, later elapsed ticks, running, blocked, uptime and idle seconds).
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "nestbox/error.hpp"
#include "nestbox/memory_view.hpp"
#include "nestbox/parse.hpp"
#include "render.hpp"

namespace {

using namespace nestbox;

std::vector<std::uint64_t> numbers(std::string_view text) {
  std::vector<std::uint64_t> out;
  for (auto tok : split_ws(text)) {
    try {
      out.push_back(parse_u64(tok));
    } catch (const Error&) {
      out.push_back(0);
    }
  }
  return out;
}

std::uint64_t nth(const std::vector<std::uint64_t>& v, std::size_t i, std::uint64_t fallback = 0) {
  return i < v.size() ? v[i] : fallback;
}

template <typename T, typename F>
std::optional<T> try_parse(F&& f) {
  try {
    return f();
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::size_t line_count(std::string_view text) { return split_lines(text).size(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::map<std::string_view, std::string_view> in;
  for (const auto& [name, content] : fuzz::sections(fuzz::as_text(data, size))) in.emplace(trim(name), content);
  auto get = [&](std::string_view name) {
    auto it = in.find(name);
    return it == in.end() ? std::string_view() : it->second;
  };

  // ---- memory: meminfo, swaps, vmstat
  MemoryView view;
  view.stat = parse_flat_keyed(get("memory.stat"));
  {
    auto parts = split_ws(get("memory"));
    auto size_at = [&](std::size_t i) -> Limit {
      if (i >= parts.size()) return std::nullopt;
      return try_parse<std::uint64_t>([&] { return parse_size(parts[i]); }).value_or(0);
    };
    view.limit = size_at(0);
    view.usage = size_at(1).value_or(0);
    view.swap_limit = size_at(2);
    if (parts.size() > 3) view.swap_usage = size_at(3).value_or(0);
  }
  const auto meminfo = get("meminfo");
  const std::string rendered_meminfo = fs::render_meminfo(meminfo, view);
  NESTBOX_FUZZ_CHECK(line_count(rendered_meminfo) == line_count(meminfo));
  const auto host = host_memory_from_meminfo(meminfo);
  const auto mem = container_memory(host, view);
  NESTBOX_FUZZ_CHECK(mem.free_kb <= mem.total_kb && mem.available_kb <= mem.total_kb);
  NESTBOX_FUZZ_CHECK(mem.swap_free_kb <= mem.swap_total_kb && mem.swap_total_kb <= host.swap_total_kb);
  (void)fs::render_swaps(get("swaps"), host.swap_total_kb, mem.swap_total_kb, mem.swap_total_kb - mem.swap_free_kb);

  // ---- io: diskstats, vmstat
  std::vector<IoDeviceStats> io;
  for (auto line : split_lines(get("io"))) {
    auto v = numbers(line);
    IoDeviceStats s;
    s.major = static_cast<unsigned>(nth(v, 0));
    s.minor = static_cast<unsigned>(nth(v, 1));
    s.rbytes = nth(v, 2), s.wbytes = nth(v, 3), s.rios = nth(v, 4), s.wios = nth(v, 5);
    s.dbytes = nth(v, 6), s.dios = nth(v, 7);
    io.push_back(s);
  }
  (void)fs::render_diskstats(get("diskstats"), io);
  fs::VmstatView vm;
  vm.memory_stat = view.stat;
  if (!io.empty()) vm.read_kb = io.front().rbytes / 1024, vm.written_kb = io.front().wbytes / 1024;
  const auto vmstat = get("vmstat");
  NESTBOX_FUZZ_CHECK(line_count(fs::render_vmstat(vmstat, vm)) == line_count(vmstat));

  // ---- cpus: cpuinfo, online lists, stat
  const CpuList online = try_parse<CpuList>([&] { return parse_cpu_list(get("online")); }).value_or(CpuList{0, 1});
  std::optional<CpuList> cpuset;
  if (in.contains("cpuset")) cpuset = try_parse<CpuList>([&] { return parse_cpu_list(get("cpuset")); });
  std::optional<double> quota;
  if (auto cm = try_parse<CpuMax>([&] { return parse_cpu_max(get("cpu.max")); }); cm && cm->quota_us)
    quota = static_cast<double>(*cm->quota_us) / static_cast<double>(cm->period_us);
  for (auto mode : {fs::CpuView::Cpuset, fs::CpuView::Quota, fs::CpuView::Both}) {
    const CpuList visible = fs::visible_cpus(online, cpuset, quota, mode);
    NESTBOX_FUZZ_CHECK(online.empty() || !visible.empty());
    NESTBOX_FUZZ_CHECK(std::includes(online.begin(), online.end(), visible.begin(), visible.end()));
    (void)fs::render_cpu_list(visible);
    (void)fs::render_cpuinfo(get("cpuinfo"), visible);
  }
  const CpuList visible = fs::visible_cpus(online, cpuset, quota, fs::CpuView::Both);

  const auto cpu_stat = parse_flat_keyed(get("cpu.stat"));
  auto stat_value = [&](const char* key) {
    auto it = cpu_stat.find(key);
    return it == cpu_stat.end() ? 0 : it->second;
  };
  const auto n = numbers(get("numbers"));
  fs::StatView sv;
  sv.visible = visible;
  sv.usage.usage_usec = stat_value("usage_usec");
  sv.usage.user_usec = stat_value("user_usec");
  sv.usage.system_usec = stat_value("system_usec");
  for (auto ns : numbers(get("percpu"))) sv.usage.per_cpu_usec.push_back(ns / 1000);
  sv.elapsed_ticks = nth(n, 0);
  sv.ticks_per_second = static_cast<unsigned>(nth(n, 1, 100));
  sv.procs_running = nth(n, 3);
  sv.procs_blocked = nth(n, 4);
  const auto host_stat = get("stat");
  sv.counters.btime = fs::keyed_value(host_stat, "btime");
  if (auto intr = fs::keyed_value(host_stat, "intr"))
    sv.counters.intr = *intr - fs::counter_baseline(*intr, static_cast<double>(nth(n, 5)),
                                                    static_cast<double>(nth(n, 6)));
  auto first = fs::container_cpu_times(sv);
  NESTBOX_FUZZ_CHECK(first.size() == visible.size());
  const std::string rendered_stat = fs::render_stat(host_stat, sv, first);
  // A later reading: more usage, more time. Every counter must not go down.
  for (std::size_t i = 0; i < visible.size(); ++i) sv.previous[visible[i]] = first[i];
  sv.usage.usage_usec += nth(n, 7);
  sv.elapsed_ticks = std::max(sv.elapsed_ticks, nth(n, 2));
  auto second = fs::container_cpu_times(sv);
  for (std::size_t i = 0; i < visible.size(); ++i) {
    NESTBOX_FUZZ_CHECK(second[i].user >= first[i].user && second[i].system >= first[i].system &&
                       second[i].idle >= first[i].idle);
  }
  (void)fs::render_stat(host_stat, sv, second);

  // ---- uptime, loadavg
  (void)fs::render_uptime(static_cast<double>(nth(n, 5)) / 100.0, static_cast<double>(nth(n, 6)) / 100.0);
  fs::LoadView load{static_cast<double>(nth(n, 3)) / 100, 0.5, 0.25, nth(n, 3), nth(n, 4)};
  (void)fs::render_loadavg(get("loadavg"), load);
  return 0;
}
