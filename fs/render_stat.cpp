// /proc/stat with per-visible-CPU lines computed from the cgroup's CPU usage.
#include <fmt/format.h>

#include <algorithm>

#include "render.hpp"

namespace nestbox::fs {

std::vector<CpuTimes> container_cpu_times(const StatView& view) {
  const std::size_t n = view.visible.size();
  std::vector<CpuTimes> out(n);
  if (n == 0) return out;
  const auto& u = view.usage;

  // Busy microseconds per visible CPU. v1 gives per-cpu counters; usage that ran
  // on CPUs the reader does not see (older cpuset, or the quota view hiding some)
  // is spread evenly so that the lines always add up to the cgroup's total.
  std::vector<std::uint64_t> busy(n, 0);
  std::uint64_t total = u.usage_usec;
  if (!u.per_cpu_usec.empty()) {
    std::uint64_t shown = 0;
    for (std::size_t i = 0; i < n; ++i) {
      unsigned host = view.visible[i];
      busy[i] = host < u.per_cpu_usec.size() ? u.per_cpu_usec[host] : 0;
      shown += busy[i];
    }
    std::uint64_t per_cpu_total = 0;
    for (auto v : u.per_cpu_usec) per_cpu_total += v;
    total = std::max(total, per_cpu_total);
    std::uint64_t rest = total > shown ? total - shown : 0;
    for (std::size_t i = 0; i < n; ++i) busy[i] += rest / n + (i < rest % n ? 1 : 0);
  } else {
    for (std::size_t i = 0; i < n; ++i) busy[i] = total / n + (i < total % n ? 1 : 0);
  }

  // user/system split in the proportion the cgroup reports for its total.
  const std::uint64_t us = u.user_usec + u.system_usec;
  const unsigned hz = view.ticks_per_second ? view.ticks_per_second : 100;
  for (std::size_t i = 0; i < n; ++i) {
    // Convert once, then split, so user + system is exactly the busy time.
    const std::uint64_t ticks = busy[i] * hz / 1000000;
    out[i].user = us == 0 ? ticks
                          : static_cast<std::uint64_t>(static_cast<long double>(ticks) * u.user_usec / us);
    out[i].system = ticks - std::min(out[i].user, ticks);
    std::uint64_t busy_ticks = out[i].user + out[i].system;
    out[i].idle = view.elapsed_ticks > busy_ticks ? view.elapsed_ticks - busy_ticks : 0;
  }
  return out;
}

namespace {

void append_cpu_line(std::string& out, std::string_view name, const CpuTimes& t) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  fmt::format_to(std::back_inserter(out), "{} {} 0 {} {} 0 0 0 0 0 0\n", name, t.user, t.system,
                 t.idle);
}

}  // namespace

std::string render_stat(std::string_view host, const StatView& view) {
  auto times = container_cpu_times(view);
  CpuTimes sum;
  for (const auto& t : times) {
    sum.user += t.user;
    sum.system += t.system;
    sum.idle += t.idle;
  }
  std::string out;
  out.reserve(host.size());
  append_cpu_line(out, "cpu ", sum);
  for (std::size_t i = 0; i < times.size(); ++i) append_cpu_line(out, fmt::format("cpu{}", i), times[i]);
  for (auto line : split_lines(host)) {
    if (line.starts_with("cpu")) continue;
    if (line.starts_with("procs_running ")) {
      fmt::format_to(std::back_inserter(out), "procs_running {}\n", view.procs_running);
    } else if (line.starts_with("procs_blocked ")) {
      fmt::format_to(std::back_inserter(out), "procs_blocked {}\n", view.procs_blocked);
    } else {
      out.append(line);
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace nestbox::fs
