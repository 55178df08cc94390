// SPDX-License-Identifier: Apache-2.0
// Validation of limit values, done before any write so that bad input changes nothing.
#include <algorithm>

#include "controllers/controllers.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"

namespace nestbox {

bool is_limit_key(std::string_view key) noexcept {
  return std::find(std::begin(kLimitKeys), std::end(kLimitKeys), key) != std::end(kLimitKeys);
}

std::string normalize_limit(std::string_view key, std::string_view value) {
  if (value.size() > 4096) throw Error(Errc::InvalidValue, std::string(key.substr(0, 64)) + ": value too long");
  if (key == "memory.max" || key == "memory.swap.max") return detail::normalize_memory_value(key, value);
  if (key == "cpu.max") return detail::normalize_cpu_max(value);
  if (key == "cpu.weight") return detail::normalize_cpu_weight(value);
  if (key == "cpuset.cpus" || key == "cpuset.mems") return detail::normalize_cpuset(key, value);
  if (key == "pids.max") return detail::normalize_pids_max(value);
  if (key == "io.max") return detail::format_io_max(detail::parse_io_max(value));
  require_limit_key(key);
  return {};  // not reached
}

void require_limit_key(std::string_view key) {
  if (is_limit_key(key)) return;
  std::string allowed;
  for (auto k : kLimitKeys) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
  throw Error(Errc::InvalidValue,
              "unknown limit key \"" + std::string(key.substr(0, 64)) + "\" (allowed: " + allowed + ")");
}

}  // namespace nestbox
