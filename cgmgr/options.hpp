// SPDX-License-Identifier: Apache-2.0
// Command line of nestbox-cgmgr.
#pragma once

#include <optional>
#include <string>

namespace nestbox::cgmgr {

struct Options {
  std::string bus = "system";  // "system", "session" or a D-Bus address
  std::optional<std::string> root;
  std::string policy = "/etc/nestbox/cgmgr.toml";
  bool policy_given = false;  // an explicit --policy must exist
  std::string state = "/var/lib/nestbox/cgmgr-state.json";
  std::string log_level = "info";
  unsigned threads = 0;  // 0 = derived from the CPU count
  unsigned unpopulated_grace = 30;  // seconds (Manager::kDefaultUnpopulatedGrace)
};

// Parses argv; on --help/--version/usage errors prints and returns the exit code
// to leave with (nullopt: run).
std::optional<int> parse_options(int argc, char** argv, Options& options);

}  // namespace nestbox::cgmgr
