// SPDX-License-Identifier: Apache-2.0
// Input: /proc/<pid>/timens_offsets of a reader in a container. Whoever made
// the container's time namespace chose its offsets; nestbox-fs computes that
// container's /proc/uptime from them.
#include <cmath>
#include <cstdint>

#include "fuzz_support.hpp"
#include "nestbox/proc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (auto o = nestbox::parse_timens_offsets(nestbox::fuzz::as_text(data, size))) {
    NESTBOX_FUZZ_CHECK(std::isfinite(o->monotonic) && std::isfinite(o->boottime));
  }
  return 0;
}
