// SPDX-License-Identifier: Apache-2.0
#include "container_nodes.hpp"

#include <gtest/gtest.h>

#include "nestbox/view_files.hpp"

namespace nestbox::fs {
namespace {

TEST(ContainerNodes, IdsRoundTripAndNeverMeetTheRoot) {
  for (pid_t pid : {1, 2, 4242, kMaxTreePid})
    for (unsigned slot = 0; slot < kFirstFileSlot + std::size(kContainerFiles); ++slot) {
      const auto ino = tree_node_id(pid, slot);
      EXPECT_NE(ino, kTreeRoot);
      auto node = decode_tree_node(ino);
      ASSERT_TRUE(node) << ino;
      EXPECT_EQ(node->pid, pid);
      EXPECT_EQ(node->slot, slot);
    }
  auto root = decode_tree_node(kTreeRoot);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->pid, 0);
}

TEST(ContainerNodes, IdsOutsideTheTreeAreRefused) {
  EXPECT_FALSE(decode_tree_node(0));
  EXPECT_FALSE(decode_tree_node(2));  // pid 0
  EXPECT_FALSE(decode_tree_node(tree_node_id(1, kFirstFileSlot + std::size(kContainerFiles))));
  EXPECT_FALSE(decode_tree_node(tree_node_id(kMaxTreePid + 1, 0)));
}

TEST(ContainerNodes, NamesAreKernelPidsAndKnownFiles) {
  EXPECT_EQ(parse_container_name("1"), 1);
  EXPECT_EQ(parse_container_name("4194304"), kMaxTreePid);
  for (const char* bad : {"", "0", "01", "-1", "+1", "1a", "4194305", "12345678", "..", "self"})
    EXPECT_FALSE(parse_container_name(bad)) << bad;
  auto slot = container_file_slot("meminfo");
  ASSERT_TRUE(slot);
  EXPECT_EQ(container_file(*slot)->kind, FileKind::Meminfo);
  EXPECT_FALSE(container_file_slot("cgroup"));
  EXPECT_FALSE(container_file(0));
}

// The tree serves every /proc file that containers get bound (one list).
TEST(ContainerNodes, EveryBoundProcFileHasASlot) {
  for (const std::string& rel : nestbox::kViewFiles)
    if (rel.starts_with("proc/")) {
      EXPECT_TRUE(container_file_slot(rel.substr(5))) << rel;
    }
}

}  // namespace
}  // namespace nestbox::fs
