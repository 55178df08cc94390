// SPDX-License-Identifier: Apache-2.0
#include "idmap.hpp"

#include <charconv>
#include <limits>

#include "nestbox/parse.hpp"

namespace nestbox::launcher {
namespace {

std::optional<std::uint32_t> to_u32(std::string_view text) {
  std::uint32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<SubIdRange> find_subid_range(std::string_view file_text, std::string_view user_name,
                                           std::uint32_t id) {
  const std::string id_text = std::to_string(id);
  for (std::string_view line : split_lines(file_text)) {
    std::size_t c1 = line.find(':');
    if (line.empty() || line.front() == '#' || c1 == std::string_view::npos) continue;
    std::size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view owner = line.substr(0, c1);
    if (owner != user_name && owner != id_text) continue;
    auto start = to_u32(line.substr(c1 + 1, c2 - c1 - 1));
    std::string_view count_text = line.substr(c2 + 1);
    while (!count_text.empty() && (count_text.back() == ' ' || count_text.back() == '\r'))
      count_text.remove_suffix(1);
    auto count = to_u32(count_text);
    if (!start || !count || *count == 0) continue;
    // Ranges that wrap past the top of the id space are invalid.
    if (std::uint64_t(*start) + *count > std::numeric_limits<std::uint32_t>::max()) continue;
    return SubIdRange{*start, *count};
  }
  return std::nullopt;
}

std::vector<IdMapEntry> container_id_map(std::uint32_t own_id, std::optional<SubIdRange> range) {
  std::vector<IdMapEntry> map{{0, own_id, 1}};
  if (!range) return map;
  // Inside ids 1..N; the kernel rejects ids >= 2^32-1, keep below that.
  std::uint64_t count = range->count;
  const std::uint64_t max_count = std::numeric_limits<std::uint32_t>::max() - 1;
  if (count > max_count) count = max_count;
  std::uint32_t inside = 1;
  std::uint64_t start = range->start;
  const std::uint64_t end = start + count;
  if (own_id >= start && own_id < end) {
    // Map the parts before and after own_id, skipping it (already mapped to 0).
    if (own_id > start) {
      map.push_back({inside, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(own_id - start)});
      inside += static_cast<std::uint32_t>(own_id - start);
    }
    if (end > std::uint64_t(own_id) + 1)
      map.push_back({inside, own_id + 1, static_cast<std::uint32_t>(end - own_id - 1)});
    return map;
  }
  map.push_back({inside, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(count)});
  return map;
}

std::vector<std::string> newidmap_arguments(const std::vector<IdMapEntry>& map) {
  std::vector<std::string> args;
  for (const auto& e : map) {
    args.push_back(std::to_string(e.inside));
    args.push_back(std::to_string(e.outside));
    args.push_back(std::to_string(e.count));
  }
  return args;
}

std::string idmap_file_text(const std::vector<IdMapEntry>& map) {
  std::string text;
  for (const auto& e : map)
    text += std::to_string(e.inside) + " " + std::to_string(e.outside) + " " + std::to_string(e.count) + "\n";
  return text;
}

std::uint32_t highest_inside_id(const std::vector<IdMapEntry>& map) {
  std::uint32_t top = 0;
  for (const auto& e : map)
    if (e.count > 0 && e.inside + e.count - 1 > top) top = e.inside + e.count - 1;
  return top;
}

}  // namespace nestbox::launcher
