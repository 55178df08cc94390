// SPDX-License-Identifier: Apache-2.0
#include "reader.hpp"

#include <algorithm>

namespace nestbox::fs {

bool entry_matches(const ProcCgroupEntry& entry, const std::vector<std::string>& controllers) {
  if (controllers.empty()) return entry.controllers.empty() && entry.hierarchy_id == 0;
  return std::any_of(entry.controllers.begin(), entry.controllers.end(), [&](const std::string& c) {
    return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
  });
}

ReaderCgroups resolve_reader_cgroups(const std::vector<ProcCgroupEntry>& entries, Layout layout) {
  ReaderCgroups out;
  for (const auto& e : entries) {
    // Paths of a process in a cgroup namespace that is not ours can print as
    // "/.."; try_parse rejects those, which makes the reader fall back to the host.
    auto path = CgroupPath::try_parse(e.path);
    if (!path) continue;
    if (e.controllers.empty() && e.hierarchy_id == 0) {
      out.unified = path;
      continue;
    }
    for (const auto& c : e.controllers) {
      if (c == "memory") out.memory = path;
      else if (c == "cpu") out.cpu = path;
      else if (c == "cpuacct") out.cpuacct = path;
      else if (c == "cpuset") out.cpuset = path;
      else if (c == "blkio") out.io = path;
      else if (c == "pids") out.pids = path;
    }
  }
  if (layout == Layout::Unified) {
    auto u = out.unified;
    out.memory = out.cpu = out.cpuacct = out.cpuset = out.io = out.pids = out.primary = u;
    return out;
  }
  for (const auto* p : {&out.memory, &out.pids, &out.cpu, &out.cpuset, &out.io}) {
    if (*p) {
      out.primary = *p;
      break;
    }
  }
  return out;
}

}  // namespace nestbox::fs
