// SPDX-License-Identifier: Apache-2.0
#include "kept_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "testing/fixture.hpp"

namespace nestbox::detail {
namespace {

class KeptFilesTest : public ::testing::Test {
 protected:
  UniqueFd open_file(const std::string& rel) {
    int fd = ::open(dir_.abs(rel).c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << rel;
    return UniqueFd(fd);
  }
  void rewrite(const std::string& rel, const std::string& text) {
    std::ofstream out(dir_.abs(rel), std::ios::trunc);  // in place, as a kernel file changes
    out << text;
  }
  testing::FixtureDir dir_;
};

TEST_F(KeptFilesTest, AKeptFileIsReadAgainFromItsStart) {
  dir_.write("cg/memory.max", "100\n");
  KeptFiles kept(8);
  std::string out;
  EXPECT_EQ(kept.read("cg", "memory.max", out), KeptFiles::Outcome::NotKept);
  EXPECT_FALSE(kept.knows("cg"));
  kept.keep("cg", "memory.max", open_file("cg/memory.max"));
  EXPECT_TRUE(kept.knows("cg"));
  ASSERT_EQ(kept.read("cg", "memory.max", out), KeptFiles::Outcome::Read);
  EXPECT_EQ(out, "100\n");
  rewrite("cg/memory.max", "200000\n");
  ASSERT_EQ(kept.read("cg", "memory.max", out), KeptFiles::Outcome::Read);
  EXPECT_EQ(out, "200000\n");
  // Another directory with the same file name is another entry.
  EXPECT_EQ(kept.read("cg2", "memory.max", out), KeptFiles::Outcome::NotKept);
}

TEST_F(KeptFilesTest, MissingFilesAreRememberedAndEveryEntryExpires) {
  dir_.write("cg/memory.max", "1\n");
  KeptFiles kept(8);
  std::string out;
  kept.keep_missing("cg", "memory.swap.max");
  EXPECT_EQ(kept.read("cg", "memory.swap.max", out), KeptFiles::Outcome::Missing);
  EXPECT_FALSE(kept.knows("cg")) << "a missing file says nothing of its directory";
  kept.keep("cg", "memory.max", open_file("cg/memory.max"));
  std::this_thread::sleep_for(KeptFiles::kMaxAge + std::chrono::milliseconds(50));
  EXPECT_EQ(kept.read("cg", "memory.swap.max", out), KeptFiles::Outcome::NotKept);
  EXPECT_EQ(kept.read("cg", "memory.max", out), KeptFiles::Outcome::NotKept);
  EXPECT_FALSE(kept.knows("cg"));
  EXPECT_EQ(kept.size(), 0u);
}

TEST_F(KeptFilesTest, TheBoundIsFirm) {
  KeptFiles kept(2);
  for (int i = 0; i < 5; ++i) {
    const std::string rel = "cg" + std::to_string(i) + "/cpu.stat";
    dir_.write(rel, "usage_usec 1\n");
    kept.keep("cg" + std::to_string(i), "cpu.stat", open_file(rel));
    kept.keep_missing("cg" + std::to_string(i), "cpu.max");
  }
  EXPECT_EQ(kept.size(), 2u);
  std::string out;
  EXPECT_EQ(kept.read("cg0", "cpu.stat", out), KeptFiles::Outcome::Read);
  EXPECT_EQ(kept.read("cg4", "cpu.stat", out), KeptFiles::Outcome::NotKept);
}

}  // namespace
}  // namespace nestbox::detail
