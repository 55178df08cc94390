// SPDX-License-Identifier: Apache-2.0
// Input: the text of /proc/<pid>/cgroup, read for processes the project does not
// control (readers of nestbox-fs files, callers of nestbox-cgmgr), and the text
// of a /proc/<pid>/ns/<ns> link.
#include <cstdint>

#include "fuzz_support.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"
#include "nestbox/proc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox;
  const auto text = fuzz::as_text(data, size);
  try {
    for (const auto& entry : parse_proc_cgroup(text)) {
      NESTBOX_FUZZ_CHECK(!entry.path.empty() && entry.path.front() == '/');
      for (const auto& c : entry.controllers) NESTBOX_FUZZ_CHECK(!c.empty());
      // The trees turn each path into a CgroupPath next.
      (void)CgroupPath::try_parse(entry.path);
    }
  } catch (const Error&) {
  }
  for (const char* ns : {"pid", "mnt", "cgroup", "time"}) (void)parse_ns_link(text, ns);
  return 0;
}
