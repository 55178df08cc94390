// SPDX-License-Identifier: Apache-2.0
#include "oci_state.hpp"

#include <gtest/gtest.h>

#include "nestbox/error.hpp"

namespace nestbox::hooks {
namespace {

// A bundle holding one config.json; any other path is missing.
ReadFile bundle_with(const std::string& config) {
  return [config](const std::string& path) -> std::string {
    if (path != "/run/bundle/config.json") throw Error(Errc::NotFound, "read " + path + ": No such file");
    return config;
  };
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr const char* kState = R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,
  "bundle":"/run/bundle","annotations":{"io.nestbox.fs":"true"}})";

TEST(OciState, RootAndAnnotationsFromStateAndConfig) {
  const auto in = parse_hook_input(
      kState, bundle_with(R"({"root":{"path":"/var/lib/c/merged"},"annotations":{"io.nestbox.fs":"false","x":"y"}})"));
  EXPECT_EQ(in.id, "c1");
  EXPECT_EQ(in.rootfs, "/var/lib/c/merged");
  // The state's value wins over config.json's; the rest of config's stay.
  EXPECT_EQ(in.annotations.at("io.nestbox.fs"), "true");
  EXPECT_EQ(in.annotations.at("x"), "y");
}

TEST(OciState, ARelativeRootIsBelowTheBundle) {
  const auto in = parse_hook_input(R"({"id":"c1","bundle":"/run/bundle"})", bundle_with(R"({"root":{"path":"rootfs"}})"));
  EXPECT_EQ(in.rootfs, "/run/bundle/rootfs");
  EXPECT_TRUE(in.annotations.empty());
}

TEST(OciState, BadInputNamesWhatIsWrong) {
  const auto config = bundle_with(R"({"root":{"path":"rootfs"}})");
  EXPECT_EQ(error_of([&] { parse_hook_input("not json", config); }), "the OCI state on stdin is not valid JSON");
  EXPECT_EQ(error_of([&] { parse_hook_input("[]", config); }), "the OCI state on stdin is not a JSON object");
  EXPECT_EQ(error_of([&] { parse_hook_input(R"({"bundle":"/run/bundle"})", config); }),
            "the OCI state on stdin has no \"id\"");
  EXPECT_EQ(error_of([&] { parse_hook_input(R"({"id":"c1","bundle":"run/bundle"})", config); }),
            "the OCI state on stdin: bundle 'run/bundle' is not an absolute path");
  EXPECT_EQ(error_of([&] { parse_hook_input(R"({"id":"c1","bundle":"/elsewhere"})", config); }),
            "read /elsewhere/config.json: No such file");
  EXPECT_EQ(error_of([&] { parse_hook_input(R"({"id":"c1","bundle":"/run/bundle"})", bundle_with("{}")); }),
            "/run/bundle/config.json has no \"root\" object");
  EXPECT_EQ(error_of([&] {
              parse_hook_input(R"({"id":"c1","bundle":"/run/bundle","annotations":{"io.nestbox.fs":true}})", config);
            }),
            "the OCI state on stdin: annotation \"io.nestbox.fs\" is not a string");
}

TEST(OciState, TheAnnotationDecidesElseTheDefault) {
  EXPECT_TRUE(wants_view({{kAnnotation, "true"}}, false));
  EXPECT_FALSE(wants_view({{kAnnotation, "false"}}, true));
  EXPECT_TRUE(wants_view({}, true));
  EXPECT_FALSE(wants_view({{"other", "true"}}, false));
  EXPECT_EQ(error_of([] { wants_view({{kAnnotation, "yes"}}, false); }),
            "annotation io.nestbox.fs='yes': expected true or false");
}

}  // namespace
}  // namespace nestbox::hooks
