// SPDX-License-Identifier: Apache-2.0
// Which CPUs a reader sees, and the files that list them (cpuinfo, sys cpu ranges).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "render.hpp"

namespace nestbox::fs {

CpuList visible_cpus(const CpuList& online, const std::optional<CpuList>& cpuset,
                     std::optional<double> quota_cpus, CpuView mode) {
  CpuList cpus = online;
  if (cpuset && mode != CpuView::Quota) {
    CpuList both;
    std::set_intersection(online.begin(), online.end(), cpuset->begin(), cpuset->end(),
                          std::back_inserter(both));
    // A cpuset that names no online CPU cannot run anything; showing the host is
    // less wrong than showing nothing.
    if (!both.empty()) cpus = std::move(both);
  }
  if (quota_cpus && mode != CpuView::Cpuset && *quota_cpus > 0) {
    auto allowed = static_cast<std::size_t>(std::ceil(*quota_cpus - 1e-9));
    allowed = std::max<std::size_t>(allowed, 1);
    if (cpus.size() > allowed) cpus.resize(allowed);
  }
  return cpus;
}

std::string render_cpu_list(const CpuList& visible) { return format_cpu_list(visible) + "\n"; }

namespace {

// The number after "processor\t: " if the line is a processor line.
std::optional<unsigned> processor_number(std::string_view line) {
  if (!line.starts_with("processor")) return std::nullopt;
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto key = trim(line.substr(0, colon));
  if (key != "processor") return std::nullopt;
  try {
    return static_cast<unsigned>(parse_u64(line.substr(colon + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string render_cpuinfo(std::string_view host, const CpuList& visible) {
  // Blocks are separated by blank lines; a block whose first line is a processor
  // line describes one CPU.
  std::string out;
  out.reserve(host.size());
  std::size_t pos = 0;
  while (pos < host.size()) {
    std::size_t end = host.find("\n\n", pos);
    std::size_t stop = end == std::string_view::npos ? host.size() : end + 2;
    std::string_view block = host.substr(pos, stop - pos);
    pos = stop;
    auto nl = block.find('\n');
    std::string_view first = block.substr(0, nl);
    auto number = processor_number(first);
    if (!number) {
      out.append(block);
      continue;
    }
    if (std::binary_search(visible.begin(), visible.end(), *number)) out.append(block);
  }
  return out;
}

}  // namespace nestbox::fs
