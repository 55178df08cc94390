// SPDX-License-Identifier: Apache-2.0
#include "nestbox/layout.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "nestbox/error.hpp"
#include "nestbox/parse.hpp"
#include "nestbox/safe_io.hpp"

namespace nestbox {
namespace {

// v1 controller names that may appear among a cgroup mount's super options;
// the other options (rw, xattr, clone_children, release_agent=...) are not controllers.
constexpr std::array<std::string_view, 15> kV1Controllers = {
    "cpu",    "cpuacct", "cpuset",  "memory",   "devices", "freezer",    "net_cls", "net_prio",
    "blkio",  "perf_event", "hugetlb", "pids", "rdma",    "misc",       "debug"};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string decode_octal(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      auto d = text.substr(i + 1, 3);
      if (d.size() == 3 && d[0] >= '0' && d[0] <= '3' && d[1] >= '0' && d[1] <= '7' && d[2] >= '0' && d[2] <= '7') {
        out += static_cast<char>((d[0] - '0') * 64 + (d[1] - '0') * 8 + (d[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    auto comma = text.find(',');
    if (!text.substr(0, comma).empty()) out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool has_real_controller(const CgroupMount& m) {
  return std::any_of(m.controllers.begin(), m.controllers.end(),
                     [](const std::string& c) { return c.rfind("name=", 0) != 0; });
}

}  // namespace

std::string_view layout_name(Layout layout) noexcept {
  switch (layout) {
    case Layout::Unified: return "unified";
    case Layout::Hybrid: return "hybrid";
    case Layout::Legacy: return "legacy";
  }
  return "unified";
}

const CgroupMount* HostLayout::unified() const noexcept {
  for (const auto& m : mounts)
    if (m.unified) return &m;
  return nullptr;
}

const CgroupMount* HostLayout::mount_for(std::string_view controller) const noexcept {
  auto carries = [&](const CgroupMount& m) {
    return std::find(m.controllers.begin(), m.controllers.end(), controller) != m.controllers.end();
  };
  if (layout == Layout::Unified) {
    const auto* u = unified();
    return u && carries(*u) ? u : nullptr;
  }
  for (const auto& m : mounts)
    if (!m.unified && carries(m)) return &m;
  // A controller the v1 side lacks may still be bound to the v2 hierarchy.
  const auto* u = unified();
  return u && carries(*u) ? u : nullptr;
}

std::vector<std::string> HostLayout::controllers() const {
  std::set<std::string> all;
  for (const auto& m : mounts)
    for (const auto& c : m.controllers)
      if (c.rfind("name=", 0) != 0) all.insert(c);
  return {all.begin(), all.end()};
}

HostLayout HostLayout::parse(std::string_view mountinfo,
                             const std::function<std::string(const std::string&)>& read_v2_controllers) {
  HostLayout result;
  // Index in result.mounts of each v1 hierarchy (by controller set) and of the v2 one.
  std::map<std::vector<std::string>, std::size_t> seen_v1;
  std::optional<std::size_t> seen_v2;
  // A later mount of a hierarchy already seen is a bind mount of it: dropped,
  // unless it is mounted where the kept one is, which it then covers (paths
  // below that mountpoint reach the later mount). A container that binds the
  // host's whole tree over the runtime's view of its own cgroup gets the host's.
  const auto keep = [&](std::optional<std::size_t> kept, CgroupMount&& mount) -> std::optional<std::size_t> {
    if (!kept) {
      result.mounts.push_back(std::move(mount));
      return result.mounts.size() - 1;
    }
    if (result.mounts[*kept].mountpoint == mount.mountpoint) result.mounts[*kept] = std::move(mount);
    return kept;
  };
  for (auto line : split_lines(mountinfo)) {
    auto fields = split_ws(line);
    auto sep = std::find(fields.begin(), fields.end(), std::string_view("-"));
    // After the "-": filesystem type, source and super options (read below), so
    // four fields from the separator on.
    if (fields.size() < 7 || sep == fields.end() || sep - fields.begin() < 6 || fields.end() - sep < 4) {
      if (trim(line).empty()) continue;
      throw Error(Errc::InvalidValue, "malformed mountinfo line: \"" + std::string(line) + "\"");
    }
    auto fstype = *(sep + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount mount;
    mount.root = decode_octal(fields[3]);
    mount.mountpoint = decode_octal(fields[4]);
    mount.unified = fstype == "cgroup2";
    if (mount.unified) {
      if (seen_v2 && result.mounts[*seen_v2].mountpoint != mount.mountpoint) continue;
      const std::string text = read_v2_controllers(mount.mountpoint);
      for (auto c : split_ws(text)) mount.controllers.emplace_back(c);
      seen_v2 = keep(seen_v2, std::move(mount));
    } else {
      for (auto& opt : split_commas(*(sep + 3))) {
        bool known = opt.rfind("name=", 0) == 0 ||
                     std::find(kV1Controllers.begin(), kV1Controllers.end(), opt) != kV1Controllers.end();
        if (known) mount.controllers.push_back(opt);
      }
      auto key = mount.controllers;
      std::sort(key.begin(), key.end());
      // A v1 hierarchy is identified by its controller set.
      if (key.empty()) continue;
      auto it = seen_v1.find(key);
      const auto kept = keep(it == seen_v1.end() ? std::nullopt : std::optional<std::size_t>(it->second), std::move(mount));
      seen_v1[key] = *kept;
    }
  }
  bool any_v1 = std::any_of(result.mounts.begin(), result.mounts.end(),
                            [](const CgroupMount& m) { return !m.unified && has_real_controller(m); });
  if (any_v1) {
    result.layout = result.unified() ? Layout::Hybrid : Layout::Legacy;
  } else if (result.unified()) {
    result.layout = Layout::Unified;
  } else {
    throw Error(Errc::Unsupported, "no cgroup hierarchy is mounted");
  }
  return result;
}

HostLayout HostLayout::discover() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) throw Error(Errc::Io, "cannot read /proc/self/mountinfo");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse(buf.str(), [](const std::string& mountpoint) {
    try {
      auto dir = open_directory(mountpoint);
      return read_file_beneath(dir.get(), "cgroup.controllers").value_or("");
    } catch (const Error&) {
      return std::string();
    }
  });
}

}  // namespace nestbox
