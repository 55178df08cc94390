// SPDX-License-Identifier: Apache-2.0
#include "container_nodes.hpp"

#include <iterator>

namespace nestbox::fs {

std::uint64_t tree_node_id(pid_t pid, unsigned slot) {
  return static_cast<std::uint64_t>(pid) * kSlotsPerContainer + slot;
}

std::uint64_t host_node_id(pid_t pid, std::uint64_t host_ino) {
  return kHostNodeBit | (static_cast<std::uint64_t>(pid) << 32) | (host_ino & 0xffffffffu);
}

std::optional<TreeNode> decode_tree_node(std::uint64_t ino) {
  if (ino == kTreeRoot) return TreeNode{};
  if (ino & kHostNodeBit) {
    const std::uint64_t rest = ino & ~kHostNodeBit;
    const std::uint64_t pid = rest >> 32;
    if (pid < 1 || pid > static_cast<std::uint64_t>(kMaxTreePid)) return std::nullopt;
    return TreeNode{static_cast<pid_t>(pid), 0, true, static_cast<std::uint32_t>(rest)};
  }
  const std::uint64_t pid = ino / kSlotsPerContainer;
  const unsigned slot = static_cast<unsigned>(ino % kSlotsPerContainer);
  if (pid < 1 || pid > static_cast<std::uint64_t>(kMaxTreePid)) return std::nullopt;
  if (slot >= std::size(kContainerNodes)) return std::nullopt;
  return TreeNode{static_cast<pid_t>(pid), slot};
}

std::optional<unsigned> container_child(unsigned parent, std::string_view name) {
  for (unsigned slot = 1; slot < std::size(kContainerNodes); ++slot)
    if (kContainerNodes[slot].parent == parent && kContainerNodes[slot].name == name) return slot;
  return std::nullopt;
}

std::optional<pid_t> parse_container_name(std::string_view name) {
  if (name.empty() || name.size() > 7 || name[0] == '0') return std::nullopt;
  std::int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > kMaxTreePid) return std::nullopt;
  return static_cast<pid_t>(v);
}

}  // namespace nestbox::fs
