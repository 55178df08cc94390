// SPDX-License-Identifier: Apache-2.0
// cpu and cpuacct: v2 cpu.max / cpu.weight / cpu.stat and the v1 CFS files,
// cpu.shares and cpuacct's nanosecond / USER_HZ counters.
#include <unistd.h>

#include <algorithm>

#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"

namespace nestbox::detail {
namespace {

// The kernel's bounds for CFS bandwidth (kernel/sched/core.c).
constexpr std::uint64_t kMinPeriodUs = 1000, kMaxPeriodUs = 1000000, kMinQuotaUs = 1000;

std::uint64_t user_hz() {
  long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? static_cast<std::uint64_t>(hz) : 100;
}

}  // namespace

std::optional<CpuMax> read_cpu_max_v2(const CgroupDir& dir) {
  auto text = dir.read("cpu.max");
  if (!text) return std::nullopt;
  return parse_cpu_max(*text);
}

std::optional<CpuMax> read_cpu_max_v1(const CgroupDir& dir) {
  auto quota = dir.read("cpu.cfs_quota_us");
  auto period = dir.read("cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  CpuMax value;
  auto q = parse_i64(*quota);
  if (q >= 0) value.quota_us = static_cast<std::uint64_t>(q);
  value.period_us = parse_u64(*period);
  return value;
}

std::optional<CpuUsage> read_cpu_usage_v2(const CgroupDir& dir) {
  auto text = dir.read("cpu.stat");
  if (!text) return std::nullopt;
  auto stat = parse_flat_keyed(*text);
  CpuUsage usage;
  auto get = [&](std::string_view key) {
    auto it = stat.find(key);
    return it == stat.end() ? 0 : it->second;
  };
  usage.usage_usec = get("usage_usec");
  usage.user_usec = get("user_usec");
  usage.system_usec = get("system_usec");
  return usage;
}

std::optional<CpuUsage> read_cpu_usage_v1(const CgroupDir& dir) {
  auto total = dir.read("cpuacct.usage");
  if (!total) return std::nullopt;
  CpuUsage usage;
  usage.usage_usec = parse_u64(*total) / 1000;
  if (auto percpu = dir.read("cpuacct.usage_percpu"))
    for (auto tok : split_ws(*percpu)) usage.per_cpu_usec.push_back(parse_u64(tok) / 1000);
  if (auto stat_text = dir.read("cpuacct.stat")) {
    auto stat = parse_flat_keyed(*stat_text);
    const auto hz = user_hz();
    if (auto it = stat.find("user"); it != stat.end()) usage.user_usec = it->second * 1000000 / hz;
    if (auto it = stat.find("system"); it != stat.end()) usage.system_usec = it->second * 1000000 / hz;
  }
  return usage;
}

void write_cpu_max_v1(const CgroupDir& dir, const CpuMax& value) {
  if (!dir.has("cpu.cfs_quota_us"))
    throw Error(Errc::Unsupported, "cpu.max: no CFS bandwidth control (cpu.cfs_quota_us) on this host");
  // Period first: the quota is then checked against the period it will run with.
  dir.write("cpu.cfs_period_us", std::to_string(value.period_us));
  dir.write("cpu.cfs_quota_us", value.quota_us ? std::to_string(*value.quota_us) : "-1");
}

std::uint64_t cpu_weight_to_shares(std::uint64_t weight) noexcept {
  auto shares = weight * 1024 / 100;
  return shares < 2 ? 2 : shares;
}

std::uint64_t cpu_shares_to_weight(std::uint64_t shares) noexcept {
  const std::uint64_t weight = (std::min<std::uint64_t>(shares, 1u << 30) * 100 + 512) / 1024;
  return std::clamp<std::uint64_t>(weight, 1, 10000);
}

std::optional<std::string> read_cpu_weight_v1(const CgroupDir& dir) {
  auto text = dir.read("cpu.shares");
  if (!text) return std::nullopt;
  return std::to_string(cpu_shares_to_weight(parse_u64(*text)));
}

void write_cpu_weight_v1(const CgroupDir& dir, std::uint64_t weight) {
  if (!dir.has("cpu.shares")) throw Error(Errc::Unsupported, "cpu.weight: no cpu.shares on this host");
  dir.write("cpu.shares", std::to_string(cpu_weight_to_shares(weight)));
}

std::string normalize_cpu_max(std::string_view value) {
  const std::string allowed =
      " (allowed: \"QUOTA PERIOD\", \"QUOTA\" or \"max [PERIOD]\" in microseconds, quota >= 1000, period "
      "1000..1000000)";
  CpuMax parsed;
  try {
    parsed = parse_cpu_max(value);
  } catch (const Error&) {
    throw Error(Errc::InvalidValue, "cpu.max: invalid value \"" + std::string(value) + "\"" + allowed);
  }
  if (parsed.period_us < kMinPeriodUs || parsed.period_us > kMaxPeriodUs ||
      (parsed.quota_us && *parsed.quota_us < kMinQuotaUs))
    throw Error(Errc::InvalidValue, "cpu.max: value out of range \"" + std::string(value) + "\"" + allowed);
  return format_cpu_max(parsed);
}

std::string normalize_cpu_weight(std::string_view value) {
  std::uint64_t weight = 0;
  try {
    weight = parse_u64(value);
  } catch (const Error&) {
    weight = 0;
  }
  if (weight < 1 || weight > 10000)
    throw Error(Errc::InvalidValue,
                "cpu.weight: invalid value \"" + std::string(value) + "\" (allowed: an integer 1..10000)");
  return std::to_string(weight);
}

}  // namespace nestbox::detail
