// SPDX-License-Identifier: Apache-2.0
// Input: the text of /proc/<pid>/status of a process in a container (its Name
// line is chosen by the process, and a fixture procfs may hold anything).
// nestbox-cgmgr decides Attach from its Uid line, nestbox-fs finds pid
// namespace inits from NSpid.
#include <cstdint>

#include "fuzz_support.hpp"
#include "nestbox/error.hpp"
#include "nestbox/proc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto st = nestbox::parse_proc_status(nestbox::fuzz::as_text(data, size));
    (void)st;
  } catch (const nestbox::Error&) {
  }
  return 0;
}
