// SPDX-License-Identifier: Apache-2.0
#include "proc_files.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "nestbox/error.hpp"
#include "nestbox/safe_io.hpp"
#include "nestbox/unique_fd.hpp"
#include "reader_log.hpp"

namespace nestbox::fs {

std::string_view host_path(FileKind kind) {
  switch (kind) {
    case FileKind::Meminfo: return "/proc/meminfo";
    case FileKind::Cpuinfo: return "/proc/cpuinfo";
    case FileKind::Stat: return "/proc/stat";
    case FileKind::Uptime: return "/proc/uptime";
    case FileKind::Loadavg: return "/proc/loadavg";
    case FileKind::Swaps: return "/proc/swaps";
    case FileKind::Diskstats: return "/proc/diskstats";
    case FileKind::Vmstat: return "/proc/vmstat";
    case FileKind::PressureCpu: return "/proc/pressure/cpu";
    case FileKind::PressureMemory: return "/proc/pressure/memory";
    case FileKind::PressureIo: return "/proc/pressure/io";
    case FileKind::CpuOnline: return "/sys/devices/system/cpu/online";
    case FileKind::CpuPossible: return "/sys/devices/system/cpu/possible";
    case FileKind::CpuPresent: return "/sys/devices/system/cpu/present";
    case FileKind::CpuEnabled: return "/sys/devices/system/cpu/enabled";
    case FileKind::CpuOffline: return "/sys/devices/system/cpu/offline";
    case FileKind::Static: return "";
  }
  return "";
}

std::string_view static_content() {
  static const std::string text = [] {
    std::string s;
    for (int i = 0; i < 48; ++i) s += "nestbox-fs static file used as the FUSE floor.\n";
    return s;
  }();
  return text;
}

std::string read_host_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  UniqueFd guard(fd);
  try {
    return read_fd(fd);
  } catch (const std::exception&) {
    return {};
  }
}

ProcFiles::ProcFiles(const CgroupTree& tree, CpuView cpu_view, LoadSampler& sampler, const Config& config)
    : tree_(tree), cpu_view_(cpu_view), sampler_(sampler), clock_(tree.proc()),
      readers_(tree.proc(), tree.layout(), config.reader_ttl, config.readers, config.owners),
      host_(config.host_ttl), cache_(config.render_ttl, 1024), stat_history_(4096) {
  long hz = sysconf(_SC_CLK_TCK);
  ticks_per_second_ = hz > 0 ? static_cast<unsigned>(hz) : 100;
}

Text ProcFiles::render(FileKind kind, pid_t reader) {
  if (kind == FileKind::Static) {
    static const Text text = std::make_shared<const std::string>(static_content());
    return text;
  }
  try {
    const auto who = readers_.get(reader);
    if (kind == FileKind::Loadavg) return std::make_shared<const std::string>(render_or_throw(kind, *who));
    std::string key = cache_key(kind, *who);
    if (Text hit = cache_.get(key)) return hit;
    auto text = std::make_shared<const std::string>(render_or_throw(kind, *who));
    cache_.put(key, text);
    return text;
  } catch (const std::exception& e) {
    // Expected for readers that exited or whose cgroup went away.
    reader_log().log(spdlog::level::debug, "host file fallbacks", "{} for pid {}: host file ({})", host_path(kind),
                     reader, e.what());
  }
  return host(host_path(kind));
}

namespace {

bool in_root(const std::optional<CgroupPath>& p) { return !p || p->is_root(); }

// The host file when there is nothing container-specific to show.
struct UseHost {};

}  // namespace

std::optional<CpuList> ProcFiles::visible_for(pid_t reader) {
  try {
    const auto who = readers_.get(reader);
    const ReaderCgroups& cg = who->cgroups;
    if (in_root(cg.cpuset) && in_root(cg.cpu)) return std::nullopt;
    return visible(cg);
  } catch (const std::exception& e) {
    reader_log().log(spdlog::level::debug, "host CPU view fallbacks", "visible CPUs of pid {}: host view ({})", reader,
                     e.what());
    return std::nullopt;
  }
}

Text ProcFiles::render_block_stat(unsigned major, unsigned minor, const std::string& host_stat, pid_t reader) {
  try {
    const auto who = readers_.get(reader);
    const ReaderCgroups& cg = who->cgroups;
    if (in_root(cg.io)) return std::make_shared<const std::string>(host_stat);
    std::string key = cache_key(FileKind::Diskstats, *who);
    key.append("|blk").append(std::to_string(major)).append(":").append(std::to_string(minor));
    if (Text hit = cache_.get(key)) return hit;
    auto text = std::make_shared<const std::string>(
        nestbox::fs::render_block_stat(host_stat, major, minor, tree_.io_stats(*cg.io)));
    cache_.put(key, text);
    return text;
  } catch (const std::exception& e) {
    reader_log().log(spdlog::level::debug, "host file fallbacks", "block device {}:{} stat for pid {}: host file ({})",
                     major, minor, reader, e.what());
  }
  return std::make_shared<const std::string>(host_stat);
}

std::string ProcFiles::cache_key(FileKind kind, const ReaderInfo& who) const {
  const ReaderCgroups& cg = who.cgroups;
  std::string key;
  key.reserve(256);
  key += std::to_string(static_cast<int>(kind));
  for (const auto* p : {&cg.memory, &cg.cpu, &cg.cpuacct, &cg.cpuset, &cg.io, &cg.pids, &cg.unified, &cg.primary}) {
    key.push_back('|');
    if (*p) key += (*p)->str();
  }
  // stat and uptime also depend on the reader's pid namespace (its start time).
  if (kind == FileKind::Stat || kind == FileKind::Uptime)
    key.append("|ns").append(std::to_string(who.pidns));
  return key;
}

std::string ProcFiles::render_or_throw(FileKind kind, const ReaderInfo& who) {
  const ReaderCgroups& cg = who.cgroups;
  const bool cpu_root = in_root(cg.cpuset) && in_root(cg.cpu);
  try {
    switch (kind) {
      case FileKind::Meminfo:
        if (in_root(cg.memory)) throw UseHost{};
        return meminfo(cg);
      case FileKind::Swaps:
        if (in_root(cg.memory)) throw UseHost{};
        return swaps(cg);
      case FileKind::Cpuinfo:
        if (cpu_root) throw UseHost{};
        return render_cpuinfo(*host("/proc/cpuinfo"), visible(cg));
      case FileKind::CpuOnline:
      case FileKind::CpuPossible:
      case FileKind::CpuPresent:
      case FileKind::CpuEnabled:
        if (cpu_root) throw UseHost{};
        return render_cpu_list(visible(cg));
      case FileKind::CpuOffline:
        // Every CPU the reader sees is online; hidden ones do not exist for it.
        if (cpu_root) throw UseHost{};
        return "\n";
      case FileKind::Vmstat:
        if (in_root(cg.memory)) throw UseHost{};
        return vmstat(cg);
      case FileKind::Stat:
        if (cpu_root && in_root(cg.cpuacct)) throw UseHost{};
        return stat(who);
      case FileKind::Uptime:
        return uptime(who);
      case FileKind::Loadavg:
        if (in_root(cg.primary)) throw UseHost{};
        return render_loadavg(*host("/proc/loadavg"), sampler_.get(*cg.primary));
      case FileKind::Diskstats:
        if (in_root(cg.io)) throw UseHost{};
        return render_diskstats(*host("/proc/diskstats"), tree_.io_stats(*cg.io));
      case FileKind::PressureCpu:
      case FileKind::PressureMemory:
      case FileKind::PressureIo: {
        if (in_root(cg.unified)) throw UseHost{};
        std::string_view res = kind == FileKind::PressureCpu      ? "cpu"
                               : kind == FileKind::PressureMemory ? "memory"
                                                                  : "io";
        if (auto text = tree_.pressure(*cg.unified, res)) return *text;
        throw UseHost{};
      }
      case FileKind::Static:
        break;
    }
  } catch (const UseHost&) {
  }
  return *host(host_path(kind));
}

std::string ProcFiles::meminfo(const ReaderCgroups& cg) {
  EffectiveMemory eff = tree_.effective_memory(*cg.memory);
  MemoryView view{eff.limit, eff.binding_state.usage, eff.swap_limit, eff.binding_state.swap_usage,
                  std::move(eff.binding_state.stat)};
  return render_meminfo(*host("/proc/meminfo"), view);
}

std::string ProcFiles::swaps(const ReaderCgroups& cg) {
  const Text mem_text = host("/proc/meminfo");
  const std::string& host_mem = *mem_text;
  std::uint64_t host_total = meminfo_value(host_mem, "SwapTotal").value_or(0);
  const std::string host_swaps = *host("/proc/swaps");
  if (host_total == 0) return host_swaps;
  EffectiveMemory eff = tree_.effective_memory(*cg.memory);
  MemoryView view{eff.limit, eff.binding_state.usage, eff.swap_limit, eff.binding_state.swap_usage, {}};
  SwapFigures swap = container_swap(host_total, meminfo_value(host_mem, "SwapFree").value_or(0), view);
  return render_swaps(host_swaps, host_total, swap.total_kb, swap.used_kb);
}

CpuList ProcFiles::visible(const ReaderCgroups& cg) {
  std::optional<CpuList> cpuset;
  if (!in_root(cg.cpuset)) cpuset = tree_.cpuset_cpus(*cg.cpuset);
  std::optional<double> quota;
  if (!in_root(cg.cpu)) quota = tree_.effective_cpu_quota(*cg.cpu);
  return visible_cpus(parse_cpu_list(*host("/sys/devices/system/cpu/online")), cpuset, quota, cpu_view_);
}

std::string ProcFiles::stat(const ReaderInfo& who) {
  const ReaderCgroups& cg = who.cgroups;
  StatView view;
  view.visible = visible(cg);
  const auto& acct = cg.cpuacct ? cg.cpuacct : cg.cpu;
  if (acct) {
    if (auto usage = tree_.cpu_usage(*acct)) view.usage = std::move(*usage);
  }
  view.ticks_per_second = ticks_per_second_;
  const double host_up = UptimeClock::boottime_now();
  const auto container_up = clock_.container_uptime(who.pid, who.pidns);
  const double elapsed = container_up.value_or(host_up);
  view.elapsed_ticks = static_cast<std::uint64_t>(elapsed * ticks_per_second_);
  if (cg.primary && !cg.primary->is_root()) {
    TaskCounts counts = count_tasks(tree_.proc().root(), tree_.processes(*cg.primary, true));
    view.procs_running = counts.running;
    view.procs_blocked = counts.blocked;
  }
  const Text host_text = host("/proc/stat");
  const std::string& host = *host_text;
  // Boot time as the reader's own clocks count it: processes' start times in a
  // time namespace count from that namespace's boot.
  if (auto offset = clock_.boottime_offset(who.pid, who.pidns)) {
    if (auto btime = keyed_value(host, "btime"))
      view.counters.btime = static_cast<std::uint64_t>(static_cast<double>(*btime) - *offset + 0.5);
  }
  std::vector<CpuTimes> times;
  stat_history_.update(cache_key(FileKind::Stat, who), [&](StatMemory& memory) {
    view.previous = memory.cpus;
    times = container_cpu_times(view);
    for (std::size_t i = 0; i < times.size(); ++i) memory.cpus[view.visible[i]] = times[i];
    if (!container_up) return;  // the host's pid namespace: the host's counters
    auto shift = [&](std::string_view key, std::optional<std::uint64_t>& base, std::optional<std::uint64_t>& out) {
      auto value = keyed_value(host, key);
      if (!value) return;
      if (!base) base = counter_baseline(*value, elapsed, host_up);
      out = *value >= *base ? *value - *base : 0;
    };
    shift("intr", memory.intr_base, view.counters.intr);
    shift("ctxt", memory.ctxt_base, view.counters.ctxt);
    shift("processes", memory.processes_base, view.counters.processes);
  });
  return render_stat(host, view, times);
}

std::string ProcFiles::vmstat(const ReaderCgroups& cg) {
  VmstatView view;
  view.memory_stat = tree_.effective_memory(*cg.memory).binding_state.stat;
  if (!in_root(cg.io)) {
    std::uint64_t r = 0, w = 0;
    for (const auto& d : tree_.io_stats(*cg.io)) {
      r += d.rbytes;
      w += d.wbytes;
    }
    view.read_kb = r / 1024;
    view.written_kb = w / 1024;
  }
  return render_vmstat(*host("/proc/vmstat"), view);
}

std::string ProcFiles::uptime(const ReaderInfo& who) {
  const ReaderCgroups& cg = who.cgroups;
  auto up = clock_.container_uptime(who.pid, who.pidns);
  if (!up) throw UseHost{};
  // Idle: the visible CPUs' capacity over the uptime minus what the cgroup used
  // (its usage counter may predate the pid namespace; clamped at 0).
  double idle = 0;
  std::size_t ncpu = visible(cg).size();
  const auto& acct = cg.cpuacct ? cg.cpuacct : cg.cpu;
  double used = 0;
  if (acct && !acct->is_root()) {
    if (auto usage = tree_.cpu_usage(*acct)) used = static_cast<double>(usage->usage_usec) / 1e6;
  }
  idle = *up * static_cast<double>(ncpu) - used;
  return render_uptime(*up, idle);
}

}  // namespace nestbox::fs
