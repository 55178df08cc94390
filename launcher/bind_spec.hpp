// SPDX-License-Identifier: Apache-2.0
// --bind SRC:DST[:ro] as typed by the user, validated without touching the filesystem.
#pragma once

#include <string>
#include <string_view>

namespace nestbox::launcher {

struct BindSpec {
  std::string source;       // host path (absolute after resolve_bind_source)
  std::string destination;  // absolute path inside the container, normalized ("/a/b")
  bool read_only = false;
  friend bool operator==(const BindSpec&, const BindSpec&) = default;
};

// Parses "SRC:DST" or "SRC:DST:ro" / "SRC:DST:rw". DST must be absolute and may not
// contain ".." components (it is resolved inside the container root, and a path
// that climbs is almost always a mistake or an attack). Throws Error(InvalidValue).
BindSpec parse_bind_spec(std::string_view text);

// Normalizes an absolute in-container path: collapses "//" and "/./", strips a
// trailing '/', rejects "..", NUL and relative paths. "/" stays "/".
std::string normalize_container_path(std::string_view path);

}  // namespace nestbox::launcher
