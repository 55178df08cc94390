// SPDX-License-Identifier: Apache-2.0
#include "container_nodes.hpp"

#include <iterator>

namespace nestbox::fs {

std::uint64_t tree_node_id(pid_t pid, unsigned slot) {
  return static_cast<std::uint64_t>(pid) * kSlotsPerContainer + slot;
}

std::optional<TreeNode> decode_tree_node(std::uint64_t ino) {
  if (ino == kTreeRoot) return TreeNode{};
  const std::uint64_t pid = ino / kSlotsPerContainer;
  const unsigned slot = static_cast<unsigned>(ino % kSlotsPerContainer);
  if (pid < 1 || pid > static_cast<std::uint64_t>(kMaxTreePid)) return std::nullopt;
  if (slot >= kFirstFileSlot && !container_file(slot)) return std::nullopt;
  return TreeNode{static_cast<pid_t>(pid), slot};
}

std::optional<unsigned> container_file_slot(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kContainerFiles); ++i)
    if (kContainerFiles[i].name == name) return kFirstFileSlot + static_cast<unsigned>(i);
  return std::nullopt;
}

const ContainerFile* container_file(unsigned slot) {
  if (slot < kFirstFileSlot || slot - kFirstFileSlot >= std::size(kContainerFiles)) return nullptr;
  return &kContainerFiles[slot - kFirstFileSlot];
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
