// SPDX-License-Identifier: Apache-2.0
// Input: a container record of nestbox-run's state directory
// ($XDG_RUNTIME_DIR/nestbox/<name>.json), read by `list`, `exec` and every
// start (to see whether a name is taken). The directory is the user's own;
// records can be truncated or edited. StateDir::load treats anything that
// throws as a stale record; the parse itself must stay memory safe, and an
// accepted record must round-trip.
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nestbox::launcher;
  ContainerRecord record;
  try {
    record = record_from_json(nlohmann::json::parse(nestbox::fuzz::as_text(data, size)));
  } catch (const std::exception&) {
    return 0;  // what StateDir::load does: a stale record
  }
  const ContainerRecord again = record_from_json(nlohmann::json::parse(record_to_json(record).dump()));
  NESTBOX_FUZZ_CHECK(again.name == record.name && again.launcher_pid == record.launcher_pid &&
                     again.launcher_start == record.launcher_start && again.init_pid == record.init_pid &&
                     again.cgroup == record.cgroup && again.bus == record.bus && again.hostname == record.hostname &&
                     again.rootfs == record.rootfs && again.command == record.command &&
                     again.created == record.created && again.limits == record.limits);
  return 0;
}
