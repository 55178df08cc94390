// SPDX-License-Identifier: Apache-2.0
#include "bind_spec.hpp"

#include <vector>

#include "nestbox/error.hpp"

namespace nestbox::launcher {

std::string normalize_container_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    throw Error(Errc::InvalidValue, "path '" + std::string(path) + "' must be absolute");
  if (path.find('\0') != std::string_view::npos)
    throw Error(Errc::InvalidValue, "path contains a NUL byte");
  std::string out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      throw Error(Errc::InvalidValue, "path '" + std::string(path) + "' may not contain '..'");
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

BindSpec parse_bind_spec(std::string_view text) {
  // Split on ':'; paths containing ':' are not supported (same as docker -v).
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  for (;;) {
    std::size_t next = text.find(':', pos);
    parts.push_back(text.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  const std::string quoted = "--bind '" + std::string(text) + "'";
  if (parts.size() < 2 || parts.size() > 3)
    throw Error(Errc::InvalidValue, quoted + ": expected SRC:DST or SRC:DST:ro");
  BindSpec spec;
  if (parts[0].empty()) throw Error(Errc::InvalidValue, quoted + ": empty source");
  if (parts[1].empty()) throw Error(Errc::InvalidValue, quoted + ": empty destination");
  if (parts[0].find('\0') != std::string_view::npos)
    throw Error(Errc::InvalidValue, quoted + ": source contains a NUL byte");
  spec.source = std::string(parts[0]);
  try {
    spec.destination = normalize_container_path(parts[1]);
  } catch (const Error& e) {
    throw Error(Errc::InvalidValue, quoted + ": destination " + e.what());
  }
  if (spec.destination == "/")
    throw Error(Errc::InvalidValue, quoted + ": cannot bind over the container's root; use --rootfs");
  if (parts.size() == 3) {
    if (parts[2] == "ro") {
      spec.read_only = true;
    } else if (parts[2] != "rw") {
      throw Error(Errc::InvalidValue, quoted + ": unknown flag '" + std::string(parts[2]) + "' (ro or rw)");
    }
  }
  return spec;
}

}  // namespace nestbox::launcher
