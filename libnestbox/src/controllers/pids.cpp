// SPDX-License-Identifier: Apache-2.0
// pids: pids.current / pids.max have the same names on both layouts.
#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"

namespace nestbox::detail {

std::optional<PidsState> read_pids(const CgroupDir& dir) {
  auto current = dir.read("pids.current");
  if (!current) return std::nullopt;
  PidsState st;
  st.current = parse_u64(*current);
  if (auto max = dir.read("pids.max")) st.max = parse_size(*max);
  return st;
}

std::string normalize_pids_max(std::string_view value) {
  auto t = trim(value);
  try {
    if (t == "max") return "max";
    return std::to_string(parse_u64(t));
  } catch (const Error&) {
    throw Error(Errc::InvalidValue,
                "pids.max: invalid value \"" + std::string(value) + "\" (allowed: a number of tasks or \"max\")");
  }
}

}  // namespace nestbox::detail
