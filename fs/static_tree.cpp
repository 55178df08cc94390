// SPDX-License-Identifier: Apache-2.0
#include "static_tree.hpp"

namespace nestbox::fs {

StaticTree::StaticTree() {
  nodes_.push_back({kRoot, kRoot, "", true, FileKind::Static, false, false, false});
  auto proc = add(kRoot, "proc", true);
  add(proc, "meminfo", false, FileKind::Meminfo);
  add(proc, "cpuinfo", false, FileKind::Cpuinfo);
  add(proc, "stat", false, FileKind::Stat);
  add(proc, "uptime", false, FileKind::Uptime);
  add(proc, "loadavg", false, FileKind::Loadavg);
  add(proc, "swaps", false, FileKind::Swaps);
  add(proc, "diskstats", false, FileKind::Diskstats);
  add(proc, "vmstat", false, FileKind::Vmstat);
  auto pressure = add(proc, "pressure", true);
  add(pressure, "cpu", false, FileKind::PressureCpu);
  add(pressure, "memory", false, FileKind::PressureMemory);
  add(pressure, "io", false, FileKind::PressureIo);
  auto sys = add(kRoot, "sys", true);
  auto devices = add(sys, "devices", true);
  auto system = add(devices, "system", true);
  auto cpu = add(system, "cpu", true);
  nodes_[cpu - 1].cpu_dir = true;
  add(cpu, "online", false, FileKind::CpuOnline);
  add(cpu, "possible", false, FileKind::CpuPossible);
  add(cpu, "present", false, FileKind::CpuPresent);
  add(cpu, "enabled", false, FileKind::CpuEnabled);
  add(cpu, "offline", false, FileKind::CpuOffline);
  auto cg = add(kRoot, "cgroup", true);
  nodes_[cg - 1].cgroup_root = true;
  auto hidden = add(kRoot, ".nestbox", true);
  add(hidden, "static", false, FileKind::Static);
  // Added after every older node, so the fixed numbers of earlier releases
  // stay what they were (an upgrade keeps the kernel's node ids).
  auto block = add(sys, "block", true);
  nodes_[block - 1].block_dir = true;
}

std::uint64_t StaticTree::add(std::uint64_t parent, std::string name, bool dir, FileKind kind) {
  std::uint64_t ino = nodes_.size() + 1;
  nodes_.push_back({ino, parent, std::move(name), dir, kind, false, false, false});
  return ino;
}

const StaticNode* StaticTree::find(std::uint64_t ino) const {
  if (ino < 1 || ino > nodes_.size()) return nullptr;
  return &nodes_[ino - 1];
}

const StaticNode* StaticTree::child(std::uint64_t parent, std::string_view name) const {
  for (const auto& n : nodes_)
    if (n.parent == parent && n.ino != kRoot && n.name == name) return &n;
  return nullptr;
}

std::vector<const StaticNode*> StaticTree::children(std::uint64_t parent) const {
  std::vector<const StaticNode*> out;
  for (const auto& n : nodes_)
    if (n.parent == parent && n.ino != kRoot) out.push_back(&n);
  return out;
}

std::string StaticTree::path(std::uint64_t ino) const {
  const StaticNode* n = find(ino);
  if (!n || n->ino == kRoot) return "";
  std::string parent = path(n->parent);
  return parent.empty() ? n->name : parent + "/" + n->name;
}

}  // namespace nestbox::fs
