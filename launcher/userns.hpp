// SPDX-License-Identifier: Apache-2.0
// Host side of the user namespace: deciding and writing the uid/gid maps of
// the container's pid 1 (README.md (nestbox-run), step 2).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "idmap.hpp"

namespace nestbox::launcher {

struct IdMapPlan {
  std::vector<IdMapEntry> uid_map;
  std::vector<IdMapEntry> gid_map;
  std::string user_name;
};

// Reads /etc/subuid and /etc/subgid (or the given files) for the calling user.
IdMapPlan plan_id_maps(uid_t uid, gid_t gid, const std::string& subuid_file = "/etc/subuid",
                       const std::string& subgid_file = "/etc/subgid");

// Writes the maps of `pid`: through the setuid newuidmap/newgidmap when the map
// has subordinate ranges, else directly (one id, setgroups denied). Falls back
// to the single-id map with a warning if the helpers refuse. Returns whether
// setgroups() stays allowed inside. `while_helpers_run` is called once the
// helpers are started, before they are waited for (work that does not need the
// maps); if it throws, the helpers are still reaped, silently, and the exception
// propagates.
bool write_id_maps(pid_t pid, const IdMapPlan& plan, const std::function<void()>& while_helpers_run = {});

}  // namespace nestbox::launcher
