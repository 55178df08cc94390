// SPDX-License-Identifier: Apache-2.0
// Input: the text of /proc/self/mountinfo. Inside a container (or a mount
// namespace a user set up) every mount point, root and option in it can be
// chosen by someone else, and every program of the project reads it at start.
#include <algorithm>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"
#include "nestbox/layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox;
  try {
    // cgroup.controllers of a cgroup2 mount is read from the mount point; a
    // fixed answer keeps the run free of I/O.
    HostLayout layout = HostLayout::parse(fuzz::as_text(data, size), [](const std::string&) {
      return std::string("cpuset cpu io memory pids\n");
    });
    NESTBOX_FUZZ_CHECK(!layout.mounts.empty());
    for (std::string c : {"memory", "cpu", "cpuset", "pids", "blkio", "io"})
      if (const auto* m = layout.mount_for(c))
        NESTBOX_FUZZ_CHECK(std::find(m->controllers.begin(), m->controllers.end(), c) != m->controllers.end());
    (void)layout.controllers();
    (void)layout_name(layout.layout);
    // Hierarchy parses each mount's root as a cgroup path.
    for (const auto& m : layout.mounts) (void)CgroupPath::try_parse(m.root);
  } catch (const Error&) {
    // Malformed lines and hosts without cgroups are refused with an Error.
  }
  return 0;
}
