// SPDX-License-Identifier: Apache-2.0
// Parsers for the value formats the kernel's cgroup files use.
// All parsers throw nestbox::Error(Errc::InvalidValue, ...) on bad input and never
// return partial results.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nestbox {

// A byte/count limit: std::nullopt means "max" (unlimited).
using Limit = std::optional<std::uint64_t>;

// Minimum of two limits where nullopt is infinity.
Limit min_limit(Limit a, Limit b) noexcept;

// Sorted, duplicate-free CPU (or memory node) numbers.
using CpuList = std::vector<unsigned>;

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}. Surrounding whitespace/newline allowed;
// "" -> {}. Rejects reversed ranges, junk, numbers >= 8192.
CpuList parse_cpu_list(std::string_view text);
// {0,1,2,3,8} -> "0-3,8"; {} -> "".
std::string format_cpu_list(const CpuList& cpus);

// Unsigned decimal with no sign, no junk (surrounding whitespace allowed).
std::uint64_t parse_u64(std::string_view text);
// Signed decimal (v1 uses -1 for "unlimited").
std::int64_t parse_i64(std::string_view text);

// "max" -> nullopt; "1234" -> 1234; binary suffixes k/K, m/M, g/G, t/T (x1024^n),
// optionally followed by "B"/"iB" ("256M", "1G", "512KiB"). Rejects negatives,
// fractions, overflow, unknown suffixes.
Limit parse_size(std::string_view text);
// nullopt -> "max", else the decimal number.
std::string format_limit(Limit limit);

// cpu.max: "max 100000" / "50000 100000" / "50000" (period defaults to 100000).
struct CpuMax {
  Limit quota_us;                  // nullopt = no quota
  std::uint64_t period_us = 100000;
  friend bool operator==(const CpuMax&, const CpuMax&) = default;
};
CpuMax parse_cpu_max(std::string_view text);
std::string format_cpu_max(const CpuMax& value);

// Flat keyed file ("key value" per line, e.g. memory.stat, cpu.stat, pids.events).
// Lines whose value is not an unsigned integer are skipped.
using FlatKeyed = std::map<std::string, std::uint64_t, std::less<>>;
FlatKeyed parse_flat_keyed(std::string_view text);

// Nested keyed file ("key sub=val sub=val" per line, e.g. io.stat, io.max,
// memory.pressure's "some avg10=0.00 ...").
using NestedKeyed =
    std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>>;
NestedKeyed parse_nested_keyed(std::string_view text);

// Splits text into lines without the trailing '\n' (no empty last line).
std::vector<std::string_view> split_lines(std::string_view text);
// Splits on runs of whitespace.
std::vector<std::string_view> split_ws(std::string_view text);
std::string_view trim(std::string_view text);

}  // namespace nestbox
