// SPDX-License-Identifier: Apache-2.0
#include "nestbox/cgroup_tree.hpp"

#include "nestbox/error.hpp"
#include "v1/tree.hpp"
#include "v2/tree.hpp"

namespace nestbox {

EffectiveMemory CgroupTree::effective_memory(const CgroupPath& path) const {
  EffectiveMemory eff;
  eff.binding = path;
  eff.binding_state = memory(path);
  eff.limit = eff.binding_state.limit;
  eff.swap_limit = eff.binding_state.swap_limit;
  for (CgroupPath p = path; !p.is_root();) {
    p = p.parent();
    MemoryState st;
    try {
      st = memory(p);
    } catch (const Error& e) {
      // Ancestors above the visible part of the hierarchy (mount root) cannot bind us here.
      if (e.code() == Errc::NotFound) break;
      throw;
    }
    if (st.limit && (!eff.limit || *st.limit < *eff.limit)) {
      eff.limit = st.limit;
      eff.binding = p;
      eff.binding_state = st;
    }
    eff.swap_limit = min_limit(eff.swap_limit, st.swap_limit);
  }
  return eff;
}

std::optional<double> CgroupTree::effective_cpu_quota(const CgroupPath& path) const {
  std::optional<double> best;
  for (CgroupPath p = path;; p = p.parent()) {
    std::optional<CpuMax> cm;
    try {
      cm = cpu_max(p);
    } catch (const Error& e) {
      if (e.code() != Errc::NotFound || p == path) throw;
      break;
    }
    if (cm && cm->quota_us && cm->period_us > 0) {
      double cpus = static_cast<double>(*cm->quota_us) / static_cast<double>(cm->period_us);
      if (!best || cpus < *best) best = cpus;
    }
    if (p.is_root()) break;
  }
  return best;
}

std::unique_ptr<CgroupTree> open_cgroup_tree(const HostLayout& layout, const TreeOptions& options) {
  if (layout.layout == Layout::Unified) return detail::make_v2_tree(layout, options);
  return detail::make_v1_tree(layout, options);
}

std::unique_ptr<CgroupTree> open_host_cgroup_tree(const TreeOptions& options) {
  return open_cgroup_tree(HostLayout::discover(), options);
}

}  // namespace nestbox
