// SPDX-License-Identifier: Apache-2.0
// Backend for a pure cgroup v2 host (internal).
#pragma once

#include <memory>

#include "hierarchy.hpp"
#include "nestbox/cgroup_tree.hpp"

namespace nestbox::detail {

std::unique_ptr<CgroupTree> make_v2_tree(const HostLayout& layout, const TreeOptions& options);

}  // namespace nestbox::detail
