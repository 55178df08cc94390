// SPDX-License-Identifier: Apache-2.0
// A validated, absolute cgroup path such as "/nestbox/user-1000/web".
//
// Validation is component by component: no "", ".", "..", NUL, '/', control
// characters, leading/trailing whitespace, names over 255 bytes, or names that
// collide with cgroup interface files ("cgroup.procs", "memory.max", "tasks",
// anything "<controller>." ...). Comparisons are component-wise, never string
// prefixes: "/a" is not an ancestor of "/ab".
#pragma once

#include <compare>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nestbox {

class CgroupPath {
 public:
  static constexpr std::size_t kMaxNameLength = 255;
  static constexpr std::size_t kMaxDepth = 64;
  static constexpr std::size_t kMaxPathLength = 4096;

  // The root "/".
  CgroupPath() = default;

  // Parses an absolute path ("/" or "/a/b"). A single trailing '/' is tolerated;
  // anything else invalid throws Error(Errc::InvalidPath) naming the bad component.
  static CgroupPath parse(std::string_view text);
  // Like parse() but returns nullopt instead of throwing.
  static std::optional<CgroupPath> try_parse(std::string_view text) noexcept;
  // Whether one name is a valid cgroup directory name; `why` receives the reason.
  static bool is_valid_name(std::string_view name, std::string* why = nullptr);

  const std::string& str() const noexcept { return text_; }
  const std::vector<std::string>& components() const noexcept { return parts_; }
  bool is_root() const noexcept { return parts_.empty(); }
  std::size_t depth() const noexcept { return parts_.size(); }
  // "a/b" for "/a/b", "" for "/": the form to pass to *at() below a hierarchy root fd.
  std::string relative() const;
  // Last component ("" for root).
  std::string_view name() const noexcept;

  // Parent of "/a/b" is "/a"; parent of "/" is "/".
  CgroupPath parent() const;
  // Appends one validated name (throws InvalidPath).
  CgroupPath child(std::string_view name) const;
  // Appends all components of `rel` (itself absolute, interpreted relative to this).
  CgroupPath join(const CgroupPath& rel) const;

  // this == other or this is above other.
  bool contains(const CgroupPath& other) const noexcept;
  // this is strictly above other.
  bool is_strict_ancestor_of(const CgroupPath& other) const noexcept;
  // `this` as seen from `base` ("/a/b/c" relative to "/a" is "/b/c"); nullopt if not inside.
  std::optional<CgroupPath> relative_to(const CgroupPath& base) const;
  static CgroupPath common_ancestor(const CgroupPath& a, const CgroupPath& b);

  friend bool operator==(const CgroupPath& a, const CgroupPath& b) noexcept {
    return a.parts_ == b.parts_;
  }
  friend std::strong_ordering operator<=>(const CgroupPath& a, const CgroupPath& b) noexcept {
    return a.text_ <=> b.text_;
  }

 private:
  explicit CgroupPath(std::vector<std::string> parts);
  std::vector<std::string> parts_;
  std::string text_ = "/";
};

}  // namespace nestbox
