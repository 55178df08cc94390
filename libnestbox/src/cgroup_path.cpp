// SPDX-License-Identifier: Apache-2.0
#include "nestbox/cgroup_path.hpp"

#include <algorithm>
#include <array>

#include "nestbox/error.hpp"

namespace nestbox {
namespace {

// Names that a cgroup directory must not take because the kernel (v1 or v2)
// puts an interface file of that name into every cgroup: a directory of the
// same name would be refused by mkdir or shadow a file we later open.
constexpr std::array<std::string_view, 3> kReservedNames = {"tasks", "notify_on_release",
                                                            "release_agent"};
constexpr std::array<std::string_view, 17> kReservedPrefixes = {
    "cgroup", "cpu",     "cpuacct", "cpuset", "memory",   "io",  "blkio",   "pids",   "devices",
    "freezer", "hugetlb", "rdma",   "misc",   "net_cls", "net_prio", "perf_event", "irq"};

bool is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

std::string join_parts(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string text;
  for (const auto& p : parts) {
    text += '/';
    text += p;
  }
  return text;
}

void check_limits(const std::vector<std::string>& parts) {
  if (parts.size() > CgroupPath::kMaxDepth)
    throw Error(Errc::InvalidPath, "cgroup path deeper than " + std::to_string(CgroupPath::kMaxDepth) + " levels");
  std::size_t length = 0;
  for (const auto& p : parts) length += p.size() + 1;
  if (length > CgroupPath::kMaxPathLength)
    throw Error(Errc::InvalidPath, "cgroup path longer than " + std::to_string(CgroupPath::kMaxPathLength) + " bytes");
}

}  // namespace

bool CgroupPath::is_valid_name(std::string_view name, std::string* why) {
  auto fail = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  if (name.empty()) return fail("empty name");
  if (name == "." || name == "..") return fail("\"" + std::string(name) + "\" is not allowed");
  if (name.size() > kMaxNameLength) return fail("name longer than 255 bytes");
  for (unsigned char c : name) {
    if (c == '/') return fail("name contains '/'");
    if (c == 0) return fail("name contains a NUL byte");
    if (c < 0x20 || c == 0x7f) return fail("name contains a control character");
  }
  if (is_ws(static_cast<unsigned char>(name.front())) || is_ws(static_cast<unsigned char>(name.back())))
    return fail("name has leading or trailing whitespace");
  for (auto reserved : kReservedNames)
    if (name == reserved) return fail("\"" + std::string(name) + "\" is a cgroup interface file name");
  auto dot = name.find('.');
  if (dot != std::string_view::npos) {
    auto prefix = name.substr(0, dot);
    for (auto reserved : kReservedPrefixes)
      if (prefix == reserved)
        return fail("\"" + std::string(name) + "\" collides with the cgroup interface files \"" +
                    std::string(reserved) + ".*\"");
  }
  return true;
}

CgroupPath::CgroupPath(std::vector<std::string> parts) : parts_(std::move(parts)), text_(join_parts(parts_)) {}

CgroupPath CgroupPath::parse(std::string_view text) {
  const std::string shown(text.substr(0, 200));
  if (text.empty() || text.front() != '/')
    throw Error(Errc::InvalidPath, "cgroup path must be absolute: \"" + shown + "\"");
  if (text.size() > kMaxPathLength + 1)
    throw Error(Errc::InvalidPath, "cgroup path longer than " + std::to_string(kMaxPathLength) + " bytes");
  if (text.size() > 2 && text.back() == '/') text.remove_suffix(1);
  std::vector<std::string> parts;
  if (text != "/") {
    std::string_view rest = text.substr(1);
    while (true) {
      auto slash = rest.find('/');
      auto name = rest.substr(0, slash);
      std::string why;
      if (!is_valid_name(name, &why))
        throw Error(Errc::InvalidPath, "invalid cgroup path \"" + shown + "\": component \"" +
                                           std::string(name.substr(0, 64)) + "\": " + why);
      parts.emplace_back(name);
      if (parts.size() > kMaxDepth) check_limits(parts);
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
  }
  check_limits(parts);
  return CgroupPath(std::move(parts));
}

std::optional<CgroupPath> CgroupPath::try_parse(std::string_view text) noexcept {
  try {
    return parse(text);
  } catch (...) {
    return std::nullopt;
  }
}

std::string CgroupPath::relative() const { return is_root() ? std::string() : text_.substr(1); }

std::string_view CgroupPath::name() const noexcept {
  return parts_.empty() ? std::string_view() : std::string_view(parts_.back());
}

CgroupPath CgroupPath::parent() const {
  if (parts_.empty()) return *this;
  return CgroupPath(std::vector<std::string>(parts_.begin(), parts_.end() - 1));
}

CgroupPath CgroupPath::child(std::string_view name) const {
  std::string why;
  if (!is_valid_name(name, &why))
    throw Error(Errc::InvalidPath, "invalid cgroup name \"" + std::string(name.substr(0, 64)) + "\": " + why);
  auto parts = parts_;
  parts.emplace_back(name);
  check_limits(parts);
  return CgroupPath(std::move(parts));
}

CgroupPath CgroupPath::join(const CgroupPath& rel) const {
  auto parts = parts_;
  parts.insert(parts.end(), rel.parts_.begin(), rel.parts_.end());
  check_limits(parts);
  return CgroupPath(std::move(parts));
}

bool CgroupPath::contains(const CgroupPath& other) const noexcept {
  return parts_.size() <= other.parts_.size() &&
         std::equal(parts_.begin(), parts_.end(), other.parts_.begin());
}

bool CgroupPath::is_strict_ancestor_of(const CgroupPath& other) const noexcept {
  return parts_.size() < other.parts_.size() && contains(other);
}

std::optional<CgroupPath> CgroupPath::relative_to(const CgroupPath& base) const {
  if (!base.contains(*this)) return std::nullopt;
  return CgroupPath(std::vector<std::string>(parts_.begin() + static_cast<std::ptrdiff_t>(base.parts_.size()),
                                             parts_.end()));
}

CgroupPath CgroupPath::common_ancestor(const CgroupPath& a, const CgroupPath& b) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < a.parts_.size() && i < b.parts_.size() && a.parts_[i] == b.parts_[i]; ++i)
    parts.push_back(a.parts_[i]);
  return CgroupPath(std::move(parts));
}

}  // namespace nestbox
