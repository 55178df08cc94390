// SPDX-License-Identifier: Apache-2.0
// What an OCI runtime tells a hook: the container state on stdin (id, bundle,
// annotations) and, through the bundle, its config.json (root.path). Pure: the
// config file is read through a function the caller passes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace nestbox::hooks {

// The annotation a container asks for nestbox-fs's files with ("true") or
// declines them with ("false"), whatever the hook's default.
inline constexpr const char* kAnnotation = "io.nestbox.fs";

struct HookInput {
  std::string id;      // the container's id, for messages
  std::string rootfs;  // absolute path of the container's root in the hook's mount namespace
  // config.json's annotations, overridden by those of the state where both have a key.
  std::map<std::string, std::string> annotations;
};

using ReadFile = std::function<std::string(const std::string& path)>;

// Parses the state JSON and the bundle's config.json (read with `read_file`).
// Throws Error(InvalidValue) naming the field or the file that is missing or
// malformed; errors of `read_file` pass through.
HookInput parse_hook_input(std::string_view state_json, const ReadFile& read_file);

// Whether the container gets the files: the annotation's "true"/"false", else
// `by_default`. Any other value throws Error(InvalidValue) quoting it.
bool wants_view(const std::map<std::string, std::string>& annotations, bool by_default);

}  // namespace nestbox::hooks
