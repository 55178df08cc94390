// SPDX-License-Identifier: Apache-2.0
#include "container_nodes.hpp"

#include <gtest/gtest.h>

#include <iterator>

#include "nestbox/view_files.hpp"

namespace nestbox::fs {
namespace {

TEST(ContainerNodes, IdsRoundTripAndNeverMeetTheRoot) {
  for (pid_t pid : {1, 2, 4242, kMaxTreePid}) {
    for (unsigned slot = 0; slot < std::size(kContainerNodes); ++slot) {
      const auto ino = tree_node_id(pid, slot);
      EXPECT_NE(ino, kTreeRoot);
      auto node = decode_tree_node(ino);
      ASSERT_TRUE(node) << ino;
      EXPECT_EQ(node->pid, pid);
      EXPECT_EQ(node->slot, slot);
      EXPECT_FALSE(node->host);
    }
    for (std::uint64_t host : {std::uint64_t{1}, std::uint64_t{3564}, std::uint64_t{0xffffffff}}) {
      auto node = decode_tree_node(host_node_id(pid, host));
      ASSERT_TRUE(node);
      EXPECT_TRUE(node->host);
      EXPECT_EQ(node->pid, pid);
      EXPECT_EQ(node->host_ino, host);
      EXPECT_EQ(node->fixed(), nullptr);
    }
  }
  // sysfs numbers on 64-bit kernels carry a generation above bit 32: dropped.
  EXPECT_EQ(decode_tree_node(host_node_id(7, (std::uint64_t{1} << 32) | 42))->host_ino, 42u);
  auto root = decode_tree_node(kTreeRoot);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->pid, 0);
}

// Ids the kernel holds from an earlier server keep their meaning.
TEST(ContainerNodes, TheSlotsOfEarlierServersStay) {
  EXPECT_EQ(tree_node_id(100, kContainerSlot), 6400u);
  EXPECT_EQ(container_child(kContainerSlot, "proc"), 1u);
  EXPECT_EQ(container_child(1, "meminfo"), 2u);
  EXPECT_EQ(container_child(1, "vmstat"), 9u);
}

TEST(ContainerNodes, IdsOutsideTheTreeAreRefused) {
  EXPECT_FALSE(decode_tree_node(0));
  EXPECT_FALSE(decode_tree_node(2));  // pid 0
  EXPECT_FALSE(decode_tree_node(tree_node_id(1, std::size(kContainerNodes))));
  EXPECT_FALSE(decode_tree_node(tree_node_id(kMaxTreePid + 1, 0)));
  EXPECT_FALSE(decode_tree_node(host_node_id(0, 5)));
  EXPECT_FALSE(decode_tree_node(kHostNodeBit | (static_cast<std::uint64_t>(kMaxTreePid + 1) << 32)));
}

TEST(ContainerNodes, NamesAreKernelPidsAndKnownFiles) {
  EXPECT_EQ(parse_container_name("1"), 1);
  EXPECT_EQ(parse_container_name("4194304"), kMaxTreePid);
  for (const char* bad : {"", "0", "01", "-1", "+1", "1a", "4194305", "12345678", "..", "self"})
    EXPECT_FALSE(parse_container_name(bad)) << bad;
  auto slot = container_child(container_child(kContainerSlot, "proc").value(), "meminfo");
  ASSERT_TRUE(slot);
  EXPECT_EQ(kContainerNodes[*slot].kind, FileKind::Meminfo);
  EXPECT_FALSE(container_child(1, "cgroup"));
  EXPECT_FALSE(container_child(1, ""));
  EXPECT_FALSE(container_child(kContainerSlot, "meminfo"));  // only under proc
}

// The slot of a container's path, nullopt when the tree has none.
std::optional<unsigned> slot_of(const std::string& rel) {
  unsigned at = kContainerSlot;
  for (std::size_t from = 0; from <= rel.size();) {
    const std::size_t to = std::min(rel.find('/', from), rel.size());
    auto next = container_child(at, std::string_view(rel).substr(from, to - from));
    if (!next) return std::nullopt;
    at = *next;
    from = to + 1;
  }
  return at;
}

// The tree serves every file that containers get bound but the block devices'
// (one list), at the container's own paths.
TEST(ContainerNodes, EveryBoundFileHasAPathOfItsOwn) {
  for (const std::string& rel : nestbox::kViewFiles) {
    auto slot = slot_of(rel);
    ASSERT_TRUE(slot) << rel;
    EXPECT_EQ(kContainerNodes[*slot].dir, rel == "sys/devices/system/cpu") << rel;
  }
  EXPECT_TRUE(kContainerNodes[*slot_of("sys/devices/system/cpu")].host_entries);
  EXPECT_TRUE(slot_of("sys/devices/system/cpu/online"));
  EXPECT_FALSE(slot_of("sys/block"));
}

}  // namespace
}  // namespace nestbox::fs
