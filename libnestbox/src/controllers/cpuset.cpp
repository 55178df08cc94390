// SPDX-License-Identifier: Apache-2.0
// cpuset: effective CPU lists (v2 cpuset.cpus.effective, v1 cpuset.effective_cpus)
// and the v1 rule that a new cpuset cgroup must be given cpus and mems.
#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"

namespace nestbox::detail {

std::optional<CpuList> read_effective_cpus(const Hierarchy& h, const CgroupPath& path) {
  const char* effective = h.unified() ? "cpuset.cpus.effective" : "cpuset.effective_cpus";
  // The cgroup itself must exist; its ancestors might be outside the mount.
  auto dir = h.open(path);
  for (CgroupPath p = path;; p = p.parent()) {
    auto cur = p == path ? std::optional<CgroupDir>(std::move(dir)) : h.try_open(p);
    if (cur) {
      for (const char* file : {effective, "cpuset.cpus"}) {
        auto text = cur->read(file);
        if (text && !trim(*text).empty()) return parse_cpu_list(*text);
      }
    }
    if (p.is_root()) break;
  }
  return std::nullopt;
}

void inherit_cpuset_v1(const CgroupDir& parent, const CgroupDir& child) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    auto mine = child.read(file);
    if (!mine || !trim(*mine).empty()) continue;
    auto theirs = parent.read(file);
    if (theirs && !trim(*theirs).empty()) child.write(file, trim(*theirs));
  }
}

std::string normalize_cpuset(std::string_view key, std::string_view value) {
  CpuList list;
  try {
    list = parse_cpu_list(value);
  } catch (const Error&) {
    list.clear();
  }
  if (list.empty())
    throw Error(Errc::InvalidValue, std::string(key) + ": invalid value \"" + std::string(value) +
                                        "\" (allowed: a non-empty list such as \"0-3,8\", numbers < 8192)");
  return format_cpu_list(list);
}

}  // namespace nestbox::detail
