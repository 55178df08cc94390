// SPDX-License-Identifier: Apache-2.0
// Input: a limit key and value as a D-Bus caller sends them to nestbox-cgmgr
// (Create/SetLimits/CreateAndAttach) or a user passes to nestbox-run
// (--memory, --cpus, --cpuset, --pids, --io-max). normalize_limit validates them
// before anything is written; what it returns is written to cgroupfs, and the
// policy compares it against ceilings.
//
// Format: "<key>\n<value>".
#include <cstdint>
#include <string>

#include "authorizer.hpp"
#include "fuzz_support.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox;
  const auto text = fuzz::as_text(data, size);
  const auto nl = text.find('\n');
  if (nl == text.npos) return 0;
  const auto key = text.substr(0, nl);
  const auto value = text.substr(nl + 1);
  std::string normalized;
  try {
    normalized = normalize_limit(key, value);
  } catch (const Error& e) {
    NESTBOX_FUZZ_CHECK(e.code() == Errc::InvalidValue);
    return 0;
  }
  NESTBOX_FUZZ_CHECK(is_limit_key(key));
  // Normalizing is idempotent: a stored value reads back as itself.
  NESTBOX_FUZZ_CHECK(normalize_limit(key, normalized) == normalized);
  // A normalized value is within itself as a ceiling (io.max has no ceilings).
  if (key != "io.max") {
    std::string why;
    NESTBOX_FUZZ_CHECK(cgmgr::within_ceiling(key, normalized, normalized, &why));
  }
  // The raw parsers behind it round-trip too.
  if (key == "cpuset.cpus" || key == "cpuset.mems")
    NESTBOX_FUZZ_CHECK(format_cpu_list(parse_cpu_list(normalized)) == normalized);
  if (key == "cpu.max") NESTBOX_FUZZ_CHECK(format_cpu_max(parse_cpu_max(normalized)) == normalized);
  if (key == "memory.max" || key == "memory.swap.max")
    NESTBOX_FUZZ_CHECK(format_limit(parse_size(normalized)) == normalized);
  return 0;
}
