// SPDX-License-Identifier: Apache-2.0
#include "bind_spec.hpp"

#include <gtest/gtest.h>

#include "nestbox/error.hpp"

namespace nestbox::launcher {
namespace {

TEST(BindSpec, ParsesSourceDestinationAndFlag) {
  EXPECT_EQ(parse_bind_spec("/src:/dst"), (BindSpec{"/src", "/dst", false}));
  EXPECT_EQ(parse_bind_spec("rel/dir:/srv/site:ro"), (BindSpec{"rel/dir", "/srv/site", true}));
  EXPECT_EQ(parse_bind_spec("/a:/b:rw"), (BindSpec{"/a", "/b", false}));
}

TEST(BindSpec, NormalizesDestination) {
  EXPECT_EQ(parse_bind_spec("/a://srv/./site/").destination, "/srv/site");
}

TEST(BindSpec, RejectsMalformedSpecs) {
  for (const char* bad : {"", "/only", ":/dst", "/src:", "/a:/b:rx", "/a:/b:ro:extra", "/a:relative",
                          "/a:/x/../../etc", "/a:/", "/a:/.."}) {
    EXPECT_THROW(parse_bind_spec(bad), Error) << bad;
  }
}

TEST(BindSpec, ErrorNamesTheSpec) {
  try {
    parse_bind_spec("/a:/b:bogus");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::InvalidValue);
    EXPECT_NE(std::string(e.what()).find("/a:/b:bogus"), std::string::npos) << e.what();
  }
}

TEST(ContainerPath, Normalizes) {
  EXPECT_EQ(normalize_container_path("/"), "/");
  EXPECT_EQ(normalize_container_path("//"), "/");
  EXPECT_EQ(normalize_container_path("/a//b/./c/"), "/a/b/c");
  EXPECT_THROW(normalize_container_path("a/b"), Error);
  EXPECT_THROW(normalize_container_path("/a/../b"), Error);
}

}  // namespace
}  // namespace nestbox::launcher
