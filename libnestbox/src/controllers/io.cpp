// SPDX-License-Identifier: Apache-2.0
// io / blkio: v2 io.stat and io.max; v1 blkio.throttle.* ("MAJ:MIN Op N" lines
// to read, "MAJ:MIN N" to write, 0 meaning no limit).
#include <algorithm>
#include <map>
#include <utility>

#include "controllers/controllers.hpp"
#include "nestbox/error.hpp"

namespace nestbox::detail {
namespace {

bool parse_dev(std::string_view text, unsigned& major, unsigned& minor) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  try {
    auto ma = parse_u64(text.substr(0, colon));
    auto mi = parse_u64(text.substr(colon + 1));
    if (ma > 0xfff || mi > 0xfffff) return false;
    major = static_cast<unsigned>(ma);
    minor = static_cast<unsigned>(mi);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::uint64_t dev_key(unsigned major, unsigned minor) { return (std::uint64_t{major} << 32) | minor; }

IoDeviceStats& entry_for(std::map<std::uint64_t, IoDeviceStats>& by_dev, unsigned major, unsigned minor) {
  auto& e = by_dev[dev_key(major, minor)];
  e.major = major;
  e.minor = minor;
  return e;
}

// "8:0 Read 123" lines (plus Write/Sync/Async/Discard/Total and a final "Total N").
void read_v1_ops(const std::string& text, std::map<std::uint64_t, IoDeviceStats>& by_dev, bool bytes) {
  for (auto line : split_lines(text)) {
    auto parts = split_ws(line);
    unsigned major = 0, minor = 0;
    if (parts.size() != 3 || !parse_dev(parts[0], major, minor)) continue;
    std::uint64_t value = 0;
    try {
      value = parse_u64(parts[2]);
    } catch (const Error&) {
      continue;
    }
    auto& e = entry_for(by_dev, major, minor);
    if (parts[1] == "Read") (bytes ? e.rbytes : e.rios) = value;
    else if (parts[1] == "Write") (bytes ? e.wbytes : e.wios) = value;
    else if (parts[1] == "Discard") (bytes ? e.dbytes : e.dios) = value;
  }
}

[[noreturn]] void bad_io_max(std::string_view value, std::string_view why) {
  throw Error(Errc::InvalidValue, "io.max: invalid value \"" + std::string(value) + "\": " + std::string(why) +
                                      " (allowed: \"MAJ:MIN rbps=N wbps=N riops=N wiops=N\", each key optional, "
                                      "N a positive number or \"max\")");
}

}  // namespace

IoMax parse_io_max(std::string_view value) {
  auto parts = split_ws(value);
  IoMax out;
  if (parts.size() < 2) bad_io_max(value, "needs a device and at least one limit");
  if (!parse_dev(parts[0], out.major, out.minor)) bad_io_max(value, "bad device number");
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    if (eq == std::string_view::npos) bad_io_max(value, "expected key=value");
    auto key = parts[i].substr(0, eq);
    auto val = parts[i].substr(eq + 1);
    std::optional<Limit>* slot = key == "rbps"    ? &out.rbps
                                 : key == "wbps"  ? &out.wbps
                                 : key == "riops" ? &out.riops
                                 : key == "wiops" ? &out.wiops
                                                  : nullptr;
    if (!slot) bad_io_max(value, "unknown key \"" + std::string(key) + "\"");
    if (slot->has_value()) bad_io_max(value, "key \"" + std::string(key) + "\" given twice");
    Limit limit;
    try {
      // Byte rates take size suffixes ("10M"); operation rates are plain counts.
      limit = key.ends_with("bps") ? parse_size(val) : (val == "max" ? Limit() : Limit(parse_u64(val)));
    } catch (const Error&) {
      bad_io_max(value, "bad number \"" + std::string(val) + "\"");
    }
    // v1 uses 0 for "no limit"; refusing 0 keeps both layouts meaning the same.
    if (limit && *limit == 0) bad_io_max(value, "0 is not a limit (use \"max\")");
    *slot = limit;
  }
  return out;
}

std::string format_io_max(const IoMax& value) {
  std::string out = std::to_string(value.major) + ":" + std::to_string(value.minor);
  auto add = [&](const char* key, const std::optional<Limit>& v) {
    if (v) out += std::string(" ") + key + "=" + format_limit(*v);
  };
  add("rbps", value.rbps);
  add("wbps", value.wbps);
  add("riops", value.riops);
  add("wiops", value.wiops);
  return out;
}

std::vector<IoDeviceStats> read_io_v2(const CgroupDir& dir) {
  std::vector<IoDeviceStats> out;
  auto text = dir.read("io.stat");
  if (!text) return out;
  // Named members, not a structured binding: the lambda below uses them, and
  // clang before 16 cannot capture structured bindings.
  for (const auto& entry : parse_nested_keyed(*text)) {
    const auto& dev = entry.first;
    const auto& fields = entry.second;
    IoDeviceStats e;
    if (!parse_dev(dev, e.major, e.minor)) continue;
    auto get = [&](std::string_view key) -> std::uint64_t {
      auto it = fields.find(key);
      if (it == fields.end()) return 0;
      try {
        return parse_u64(it->second);
      } catch (const Error&) {
        return 0;
      }
    };
    e.rbytes = get("rbytes");
    e.wbytes = get("wbytes");
    e.rios = get("rios");
    e.wios = get("wios");
    e.dbytes = get("dbytes");
    e.dios = get("dios");
    out.push_back(e);
  }
  return out;
}

std::vector<IoDeviceStats> read_io_v1(const CgroupDir& dir) {
  // v1 has no counter that always counts: the throttle files count only the bios
  // of devices with a throttle rule, the BFQ files only those of devices that
  // use the BFQ scheduler (CFQ-era kernels: blkio.io_*). Each source counts where
  // it counts and nothing elsewhere, so per device the larger value is the
  // count. The _recursive files include the cgroup's descendants, as io.stat does.
  std::map<std::uint64_t, IoDeviceStats> merged;
  for (auto [bytes_file, ios_file] :
       {std::pair{"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
        std::pair{"blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"},
        std::pair{"blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"}}) {
    std::map<std::uint64_t, IoDeviceStats> by_dev;
    if (auto bytes = dir.read(bytes_file)) read_v1_ops(*bytes, by_dev, true);
    if (auto ios = dir.read(ios_file)) read_v1_ops(*ios, by_dev, false);
    for (auto& [key, e] : by_dev) {
      auto [it, fresh] = merged.emplace(key, e);
      if (fresh) continue;
      IoDeviceStats& m = it->second;
      for (auto [mine, theirs] : {std::pair{&m.rbytes, e.rbytes}, std::pair{&m.wbytes, e.wbytes},
                                  std::pair{&m.rios, e.rios}, std::pair{&m.wios, e.wios},
                                  std::pair{&m.dbytes, e.dbytes}, std::pair{&m.dios, e.dios}})
        *mine = std::max(*mine, theirs);
    }
  }
  std::vector<IoDeviceStats> out;
  for (auto& [key, e] : merged) out.push_back(e);
  return out;
}

void write_io_max_v1(const CgroupDir& dir, const IoMax& value) {
  const std::string dev = std::to_string(value.major) + ":" + std::to_string(value.minor) + " ";
  const std::pair<const char*, const std::optional<Limit>*> files[] = {
      {"blkio.throttle.read_bps_device", &value.rbps},
      {"blkio.throttle.write_bps_device", &value.wbps},
      {"blkio.throttle.read_iops_device", &value.riops},
      {"blkio.throttle.write_iops_device", &value.wiops},
  };
  for (const auto& [file, limit] : files)
    if (limit->has_value() && !dir.has(file))
      throw Error(Errc::Unsupported, std::string("io.max: no ") + file + " on this host");
  for (const auto& [file, limit] : files)
    if (limit->has_value()) dir.write(file, dev + (**limit ? std::to_string(***limit) : "0"));
}

}  // namespace nestbox::detail

namespace nestbox::detail {

std::optional<std::string> read_io_max_v1(const CgroupDir& dir) {
  const std::pair<const char*, std::optional<Limit> IoMax::*> files[] = {
      {"blkio.throttle.read_bps_device", &IoMax::rbps},
      {"blkio.throttle.write_bps_device", &IoMax::wbps},
      {"blkio.throttle.read_iops_device", &IoMax::riops},
      {"blkio.throttle.write_iops_device", &IoMax::wiops},
  };
  std::map<std::pair<unsigned, unsigned>, IoMax> rules;
  bool any_file = false;
  for (const auto& [file, field] : files) {
    auto text = dir.read(file);
    if (!text) continue;
    any_file = true;
    // "MAJ:MIN N" per rule; the kernel lists only devices with a rule.
    for (auto line : split_lines(*text)) {
      auto f = split_ws(line);
      if (f.size() != 2) continue;
      unsigned major = 0, minor = 0;
      if (!parse_dev(f[0], major, minor)) continue;
      IoMax& rule = rules[{major, minor}];
      rule.major = major;
      rule.minor = minor;
      const std::uint64_t value = parse_u64(f[1]);
      rule.*field = value == 0 ? Limit() : Limit(value);
    }
  }
  if (!any_file) return std::nullopt;
  std::string out;
  for (const auto& [dev, rule] : rules) out += (out.empty() ? "" : "\n") + format_io_max(rule);
  return out;
}

}  // namespace nestbox::detail
