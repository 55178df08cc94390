// SPDX-License-Identifier: Apache-2.0
// Backend for v1 hosts, hybrid (v1 controllers + cgroup2) and legacy (internal).
#pragma once

#include <memory>

#include "hierarchy.hpp"
#include "nestbox/cgroup_tree.hpp"

namespace nestbox::detail {

std::unique_ptr<CgroupTree> make_v1_tree(const HostLayout& layout, const TreeOptions& options);

}  // namespace nestbox::detail
