// SPDX-License-Identifier: Apache-2.0
#include "nestbox/safe_io.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nestbox/error.hpp"
#include "testing/fixture.hpp"

namespace nestbox {
namespace {

using OpenFn = UniqueFd (*)(int, std::string_view, int, mode_t);

class SafeIo : public ::testing::TestWithParam<OpenFn> {
 protected:
  void SetUp() override {
    dir_.write("root/a/file", "inside\n");
    dir_.write("outside/secret", "secret\n");
    ASSERT_EQ(::symlink((dir_.path() + "/outside").c_str(), dir_.abs("root/link_abs").c_str()), 0);
    ASSERT_EQ(::symlink("../outside", dir_.abs("root/link_rel").c_str()), 0);
    ASSERT_EQ(::symlink("file", dir_.abs("root/a/file_link").c_str()), 0);
    root_ = open_directory(dir_.abs("root"));
  }
  void expect_refused(std::string_view rel, int flags = O_RDONLY) {
    try {
      GetParam()(root_.get(), rel, flags, 0);
      ADD_FAILURE() << "opened " << rel;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::InvalidPath) << rel << ": " << e.what();
    }
  }
  testing::FixtureDir dir_;
  UniqueFd root_;
};

TEST_P(SafeIo, OpensInside) {
  auto fd = GetParam()(root_.get(), "a/file", O_RDONLY, 0);
  EXPECT_EQ(read_fd(fd.get()), "inside\n");
  auto dirfd = GetParam()(root_.get(), "a", O_PATH | O_DIRECTORY, 0);
  EXPECT_TRUE(dirfd);
  auto self = GetParam()(root_.get(), "", O_PATH | O_DIRECTORY, 0);
  EXPECT_TRUE(self);
}

TEST_P(SafeIo, RefusesSymlinkEscapesAndDotDot) {
  expect_refused("link_abs/secret");
  expect_refused("link_rel/secret");
  expect_refused("link_abs", O_PATH);
  expect_refused("a/file_link");  // even a symlink that stays inside
  expect_refused("../outside/secret");
  expect_refused("a/../a/file");
  expect_refused("/etc/passwd");
}

TEST_P(SafeIo, MissingIsNotFound) {
  try {
    GetParam()(root_.get(), "a/nope", O_RDONLY, 0);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::NotFound);
  }
}

INSTANTIATE_TEST_SUITE_P(BothPaths, SafeIo,
                         ::testing::Values(static_cast<OpenFn>(&open_beneath), static_cast<OpenFn>(&open_beneath_walk)));

TEST(SafeIoFiles, ReadWrite) {
  testing::FixtureDir dir;
  dir.write("f", "old");
  auto root = open_directory(dir.path());
  EXPECT_EQ(read_file_beneath(root.get(), "f"), "old");
  EXPECT_EQ(read_file_beneath(root.get(), "missing"), std::nullopt);
  EXPECT_FALSE(try_open_beneath(root.get(), "missing", O_RDONLY));
  write_file_beneath(root.get(), "f", "new");
  EXPECT_EQ(dir.read("f"), "new");
  EXPECT_THROW(write_file_beneath(root.get(), "missing", "x"), Error);
  EXPECT_FALSE(dir.exists("missing"));
  EXPECT_THROW(open_directory(dir.abs("nope")), Error);
}

}  // namespace
}  // namespace nestbox
