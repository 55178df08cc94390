// SPDX-License-Identifier: Apache-2.0
// The container's uid/gid maps: the user's own id becomes 0 (container root) and the
// user's first subordinate range from /etc/subuid (/etc/subgid) becomes 1..N.
// Without a range the map is the single line "0 <own> 1".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nestbox::launcher {

struct SubIdRange {
  std::uint32_t start = 0;
  std::uint32_t count = 0;
  friend bool operator==(const SubIdRange&, const SubIdRange&) = default;
};

// First "name:start:count" line of a subuid/subgid file that names the user (by
// login name or by numeric id, as shadow-utils accepts both). Comments, blank and
// malformed lines are skipped; zero-length ranges are ignored.
std::optional<SubIdRange> find_subid_range(std::string_view file_text, std::string_view user_name,
                                           std::uint32_t id);

struct IdMapEntry {
  std::uint32_t inside = 0;
  std::uint32_t outside = 0;
  std::uint32_t count = 0;
  friend bool operator==(const IdMapEntry&, const IdMapEntry&) = default;
};

// {0 -> own_id, 1} followed by {1 -> range.start, range.count}. A range that
// contains own_id is split around it so no host id is mapped twice.
std::vector<IdMapEntry> container_id_map(std::uint32_t own_id, std::optional<SubIdRange> range);

// Arguments for newuidmap/newgidmap after the pid: "0 1000 1 1 100000 65536" as a list.
std::vector<std::string> newidmap_arguments(const std::vector<IdMapEntry>& map);
// Text for /proc/<pid>/uid_map ("0 1000 1\n...").
std::string idmap_file_text(const std::vector<IdMapEntry>& map);
// Highest container id the map covers (0 for the single-id map).
std::uint32_t highest_inside_id(const std::vector<IdMapEntry>& map);

}  // namespace nestbox::launcher
