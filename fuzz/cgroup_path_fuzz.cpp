// SPDX-License-Identifier: Apache-2.0
// Input: a cgroup path as a D-Bus caller, a state file or /proc/<pid>/cgroup
// gives it. CgroupPath is the project's validator of every such path: what it
// accepts is used below hierarchy fds, so it must never accept "..", empty or
// reserved names, and must agree with itself.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using nestbox::CgroupPath;
  const auto text = nestbox::fuzz::as_text(data, size);
  auto parsed = CgroupPath::try_parse(text);
  // The name validator on the raw text (nestbox-cgmgr's CreateAndAttach name).
  const bool valid_name = CgroupPath::is_valid_name(text);
  if (valid_name) NESTBOX_FUZZ_CHECK(text.find('/') == text.npos && text != "." && text != "..");
  if (!parsed) return 0;
  const CgroupPath& p = *parsed;
  NESTBOX_FUZZ_CHECK(p.depth() <= CgroupPath::kMaxDepth);
  for (const auto& name : p.components()) {
    NESTBOX_FUZZ_CHECK(CgroupPath::is_valid_name(name));
    NESTBOX_FUZZ_CHECK(name != "." && name != ".." && !name.empty());
  }
  // The printed form parses back to the same path.
  auto again = CgroupPath::try_parse(p.str());
  NESTBOX_FUZZ_CHECK(again && *again == p && again->str() == p.str());
  NESTBOX_FUZZ_CHECK(p.relative() == (p.is_root() ? "" : p.str().substr(1)));
  // Ancestry is component-wise.
  const CgroupPath parent = p.parent();
  NESTBOX_FUZZ_CHECK(parent.contains(p));
  NESTBOX_FUZZ_CHECK(p.is_root() ? parent == p : parent.is_strict_ancestor_of(p));
  auto rel = p.relative_to(parent);
  NESTBOX_FUZZ_CHECK(rel && parent.join(*rel) == p);
  NESTBOX_FUZZ_CHECK(CgroupPath::common_ancestor(p, parent) == parent);
  if (!p.is_root()) {
    NESTBOX_FUZZ_CHECK(parent.child(p.name()) == p);
    NESTBOX_FUZZ_CHECK(!p.contains(parent));
  }
  try {
    // A sibling made from the last name plus a suffix is never inside p.
    if (!p.is_root()) {
      auto sibling = parent.child(std::string(p.name()) + "x");
      NESTBOX_FUZZ_CHECK(!p.contains(sibling) && !sibling.contains(p));
    }
  } catch (const nestbox::Error&) {
    // The longer name may exceed 255 bytes or the path limits.
  }
  return 0;
}
