// SPDX-License-Identifier: Apache-2.0
// /proc/stat with per-visible-CPU lines computed from the cgroup's CPU usage.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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
  const long double user_share = us == 0 ? 1.0L : static_cast<long double>(u.user_usec) / us;
  const unsigned hz = view.ticks_per_second ? view.ticks_per_second : 100;
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<CpuTimes> last;
    if (auto it = view.previous.find(view.visible[i]); it != view.previous.end()) last = it->second;
    out[i] = next_cpu_times(last, busy[i] * hz / 1000000, user_share, view.elapsed_ticks);
  }
  return out;
}

CpuTimes next_cpu_times(const std::optional<CpuTimes>& last, std::uint64_t busy, long double user_share,
                        std::uint64_t elapsed) {
  // Served busy time: the real one, but never more than the elapsed time (usage
  // can predate the container's start) and, after a previous reading, never
  // more than that reading's busy time plus the time elapsed since; it never
  // falls below the last served value either, since usage only grows. Then
  // idle = elapsed - busy grows too, and busy + idle of any interval is exactly
  // the interval.
  std::uint64_t last_busy = last ? last->user + last->system : 0;
  std::uint64_t last_elapsed = last ? last->user + last->system + last->idle : 0;
  elapsed = std::max(elapsed, last_elapsed);
  std::uint64_t served = std::min(busy, elapsed);
  if (last) served = std::clamp(served, last_busy, last_busy + (elapsed - last_elapsed));
  CpuTimes t;
  // user follows the cgroup's proportion as far as monotonic counters allow:
  // neither user nor system may fall below what was last served.
  auto user = static_cast<std::uint64_t>(static_cast<long double>(served) * user_share);
  if (last) user = std::clamp(user, std::min(last->user, served), served - std::min(last->system, served));
  t.user = std::min(user, served);
  t.system = served - t.user;
  t.idle = elapsed - served;
  return t;
}

std::uint64_t counter_baseline(std::uint64_t host_value, double container_seconds, double host_seconds) {
  if (host_seconds <= 0 || container_seconds >= host_seconds) return 0;
  double fraction = std::max(container_seconds, 0.0) / host_seconds;
  const auto share = static_cast<std::uint64_t>(std::llround(static_cast<long double>(host_value) * fraction));
  return host_value - std::min(share, host_value);
}

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
  for (auto line : split_lines(text)) {
    if (line.size() <= key.size() || !line.starts_with(key) || line[key.size()] != ' ') continue;
    auto fields = split_ws(line.substr(key.size()));
    if (fields.empty()) return std::nullopt;
    try {
      return parse_u64(fields[0]);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

void append_cpu_line(std::string& out, std::string_view name, const CpuTimes& t) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  fmt::format_to(std::back_inserter(out), "{} {} 0 {} {} 0 0 0 0 0 0\n", name, t.user, t.system,
                 t.idle);
}

}  // namespace

std::string render_stat(std::string_view host, const StatView& view, const std::vector<CpuTimes>& times) {
  CpuTimes sum;
  for (const auto& t : times) {
    sum.user += t.user;
    sum.system += t.system;
    sum.idle += t.idle;
  }
  std::string out;
  out.reserve(host.size());
  append_cpu_line(out, "cpu ", sum);
  for (std::size_t i = 0; i < times.size() && i < view.visible.size(); ++i)
    append_cpu_line(out, fmt::format("cpu{}", view.visible[i]), times[i]);
  const auto& c = view.counters;
  for (auto line : split_lines(host)) {
    if (line.starts_with("cpu")) continue;
    auto replace = [&](std::string_view key, const std::optional<std::uint64_t>& value) {
      if (!value || line.size() <= key.size() || !line.starts_with(key) || line[key.size()] != ' ') return false;
      // Only the first number changes; intr's per-interrupt counts stay the host's.
      std::string_view rest = line.substr(key.size() + 1);
      auto space = rest.find(' ');
      fmt::format_to(std::back_inserter(out), "{} {}", key, *value);
      if (space != std::string_view::npos) out.append(rest.substr(space));
      out.push_back('\n');
      return true;
    };
    if (line.starts_with("procs_running ")) {
      fmt::format_to(std::back_inserter(out), "procs_running {}\n", view.procs_running);
    } else if (line.starts_with("procs_blocked ")) {
      fmt::format_to(std::back_inserter(out), "procs_blocked {}\n", view.procs_blocked);
    } else if (!replace("intr", c.intr) && !replace("ctxt", c.ctxt) && !replace("processes", c.processes) &&
               !replace("btime", c.btime)) {
      out.append(line);
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace nestbox::fs
