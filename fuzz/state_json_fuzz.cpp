// SPDX-License-Identifier: Apache-2.0
// Input: nestbox-cgmgr's state file (grants and remove-on-empty marks), read
// at every start. A file cut short by a full disk, edited by hand or left by
// another version must be refused with an Error, and what is accepted must
// hold only valid cgroup paths and survive a save/load cycle unchanged.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "nestbox/cgroup_path.hpp"
#include "nestbox/error.hpp"
#include "state_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox::cgmgr;
  PersistentState state;
  try {
    state = state_from_json(std::string(nestbox::fuzz::as_text(data, size)), "state.json");
  } catch (const nestbox::Error&) {
    return 0;
  }
  for (const auto& [path, seen] : state.remove_on_empty) NESTBOX_FUZZ_CHECK(nestbox::CgroupPath::try_parse(path));
  const std::string saved = state_to_json(state);
  PersistentState again = state_from_json(saved, "saved");
  NESTBOX_FUZZ_CHECK(again == state);
  NESTBOX_FUZZ_CHECK(state_to_json(again) == saved);
  return 0;
}
