// SPDX-License-Identifier: Apache-2.0
// Integers from JSON that another party may have written (state files).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

namespace nestbox {

// `v` as a T, or nullopt unless it is an integer that fits T. nlohmann's
// get<T>() casts a float or an out-of-range integer without a check (a float
// beyond T's range is undefined behaviour, and uid 4294968296 would silently
// become uid 1000).
template <typename T>
std::optional<T> fitting_integer(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  }
  return std::nullopt;
}

}  // namespace nestbox
