// SPDX-License-Identifier: Apache-2.0
#include "nestbox/parse.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "nestbox/error.hpp"

namespace nestbox {
namespace {

constexpr unsigned kMaxCpu = 8192;

[[noreturn]] void bad(std::string_view what, std::string_view text) {
  throw Error(Errc::InvalidValue, std::string(what) + ": \"" + std::string(text) + "\"");
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Digits only, no sign; false on empty input or overflow.
bool digits_to_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(value, 10u, &value)) return false;
    if (__builtin_add_overflow(value, static_cast<std::uint64_t>(c - '0'), &value)) return false;
  }
  out = value;
  return true;
}

}  // namespace

Limit min_limit(Limit a, Limit b) noexcept {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::vector<std::string_view> split_ws(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) parts.push_back(text.substr(start, i - start));
  }
  return parts;
}

std::uint64_t parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  if (!digits_to_u64(trim(text), value)) bad("not an unsigned integer", text);
  return value;
}

std::int64_t parse_i64(std::string_view text) {
  auto t = trim(text);
  bool negative = !t.empty() && t.front() == '-';
  if (negative) t.remove_prefix(1);
  std::uint64_t magnitude = 0;
  if (!digits_to_u64(t, magnitude)) bad("not an integer", text);
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (magnitude > kMax + 1) bad("integer out of range", text);
    return magnitude == kMax + 1 ? std::numeric_limits<std::int64_t>::min()
                                 : -static_cast<std::int64_t>(magnitude);
  }
  if (magnitude > kMax) bad("integer out of range", text);
  return static_cast<std::int64_t>(magnitude);
}

CpuList parse_cpu_list(std::string_view text) {
  auto t = trim(text);
  CpuList cpus;
  if (t.empty()) return cpus;
  std::string_view rest = t;
  while (true) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    auto dash = item.find('-');
    std::uint64_t lo = 0, hi = 0;
    bool ok = dash == std::string_view::npos
                  ? digits_to_u64(item, lo) && (hi = lo, true)
                  : digits_to_u64(item.substr(0, dash), lo) && digits_to_u64(item.substr(dash + 1), hi);
    if (!ok) bad("invalid cpu list (expected e.g. \"0-3,8\")", text);
    if (lo > hi) bad("reversed range in cpu list", text);
    if (hi >= kMaxCpu) bad("cpu number too large in cpu list", text);
    for (auto c = lo; c <= hi; ++c) cpus.push_back(static_cast<unsigned>(c));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(const CpuList& cpus) {
  std::string out;
  std::size_t i = 0;
  while (i < cpus.size()) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

Limit parse_size(std::string_view text) {
  auto t = trim(text);
  if (t == "max") return std::nullopt;
  std::size_t n = 0;
  while (n < t.size() && t[n] >= '0' && t[n] <= '9') ++n;
  std::uint64_t value = 0;
  if (!digits_to_u64(t.substr(0, n), value)) bad("invalid size (expected e.g. 1234, 256M, 1G or max)", text);
  auto suffix = t.substr(n);
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (suffix.front()) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: break;
    }
    if (shift != 0) suffix.remove_prefix(1);
    bool unit_ok = suffix.empty() || suffix == "B" || (shift != 0 && suffix == "iB");
    if (!unit_ok) bad("invalid size suffix (allowed: K, M, G, T, optionally with B or iB)", text);
  }
  if (shift != 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift)) bad("size too large", text);
  return value << shift;
}

std::string format_limit(Limit limit) { return limit ? std::to_string(*limit) : "max"; }

CpuMax parse_cpu_max(std::string_view text) {
  auto parts = split_ws(text);
  if (parts.empty() || parts.size() > 2) bad("invalid cpu.max (expected \"QUOTA PERIOD\" or \"max PERIOD\")", text);
  CpuMax value;
  std::uint64_t n = 0;
  if (parts[0] == "max") {
    value.quota_us = std::nullopt;
  } else if (digits_to_u64(parts[0], n)) {
    value.quota_us = n;
  } else {
    bad("invalid cpu.max quota", text);
  }
  if (parts.size() == 2) {
    if (!digits_to_u64(parts[1], n) || n == 0) bad("invalid cpu.max period", text);
    value.period_us = n;
  }
  return value;
}

std::string format_cpu_max(const CpuMax& value) {
  return format_limit(value.quota_us) + " " + std::to_string(value.period_us);
}

FlatKeyed parse_flat_keyed(std::string_view text) {
  FlatKeyed out;
  for (auto line : split_lines(text)) {
    auto parts = split_ws(line);
    std::uint64_t value = 0;
    if (parts.size() == 2 && digits_to_u64(parts[1], value)) out[std::string(parts[0])] = value;
  }
  return out;
}

NestedKeyed parse_nested_keyed(std::string_view text) {
  NestedKeyed out;
  for (auto line : split_lines(text)) {
    auto parts = split_ws(line);
    if (parts.empty()) continue;
    auto& entry = out[std::string(parts[0])];
    for (std::size_t i = 1; i < parts.size(); ++i) {
      auto eq = parts[i].find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      entry[std::string(parts[i].substr(0, eq))] = std::string(parts[i].substr(eq + 1));
    }
  }
  return out;
}

}  // namespace nestbox
