// SPDX-License-Identifier: Apache-2.0
#include "oci_state.hpp"

#include <nlohmann/json.hpp>

#include "nestbox/error.hpp"

namespace nestbox::hooks {
namespace {

using nlohmann::json;

json parse_json(std::string_view text, const std::string& what) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw Error(Errc::InvalidValue, what + " is not valid JSON");
  if (!doc.is_object()) throw Error(Errc::InvalidValue, what + " is not a JSON object");
  return doc;
}

std::string string_field(const json& doc, const char* key, const std::string& what) {
  auto it = doc.find(key);
  if (it == doc.end()) throw Error(Errc::InvalidValue, what + " has no \"" + key + "\"");
  if (!it->is_string()) throw Error(Errc::InvalidValue, what + ": \"" + key + "\" is not a string");
  std::string value = it->get<std::string>();
  if (value.empty()) throw Error(Errc::InvalidValue, what + ": \"" + key + "\" is empty");
  if (value.find('\0') != std::string::npos)
    throw Error(Errc::InvalidValue, what + ": \"" + key + "\" contains a NUL byte");
  return value;
}

// Adds the string-valued annotations of `doc` to `out`, replacing keys it has.
void merge_annotations(const json& doc, const std::string& what, std::map<std::string, std::string>& out) {
  auto it = doc.find("annotations");
  if (it == doc.end() || it->is_null()) return;
  if (!it->is_object()) throw Error(Errc::InvalidValue, what + ": \"annotations\" is not an object");
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string())
      throw Error(Errc::InvalidValue, what + ": annotation \"" + key + "\" is not a string");
    out[key] = value.get<std::string>();
  }
}

}  // namespace

HookInput parse_hook_input(std::string_view state_json, const ReadFile& read_file) {
  const std::string state_what = "the OCI state on stdin";
  const json state = parse_json(state_json, state_what);
  HookInput input;
  input.id = string_field(state, "id", state_what);
  const std::string bundle = string_field(state, "bundle", state_what);
  if (bundle.front() != '/')
    throw Error(Errc::InvalidValue, state_what + ": bundle '" + bundle + "' is not an absolute path");

  const std::string config_path = bundle + "/config.json";
  const json config = parse_json(read_file(config_path), config_path);
  auto root = config.find("root");
  if (root == config.end() || !root->is_object())
    throw Error(Errc::InvalidValue, config_path + " has no \"root\" object");
  const std::string root_path = string_field(*root, "path", config_path + " root");
  // The spec allows a root relative to the bundle.
  input.rootfs = root_path.front() == '/' ? root_path : bundle + "/" + root_path;

  merge_annotations(config, config_path, input.annotations);
  merge_annotations(state, state_what, input.annotations);
  return input;
}

bool wants_view(const std::map<std::string, std::string>& annotations, bool by_default) {
  auto it = annotations.find(kAnnotation);
  if (it == annotations.end()) return by_default;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  throw Error(Errc::InvalidValue,
              std::string("annotation ") + kAnnotation + "='" + it->second + "': expected true or false");
}

}  // namespace nestbox::hooks
