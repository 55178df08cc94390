// SPDX-License-Identifier: Apache-2.0
// Command line of nestbox-fs.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string>
#include <vector>

#include "render.hpp"

namespace nestbox::fs {

struct Options {
  std::string mountpoint;
  bool foreground = false;
  CpuView cpu_view = CpuView::Both;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::vector<std::string> fuse_options;  // -o a,b -o c -> {"a,b", "c"}
  unsigned max_threads = 4;  // parse_options() starts from default_worker_threads()
  bool allow_other = true;
  unsigned load_interval_ms = 5000;
  // Nodes the cgroup view's table holds at most (NodeLimits::of_nodes).
  std::size_t max_nodes = std::size_t{1} << 20;
  // The host directory behind MOUNTPOINT/sys/devices/system/cpu (tests use fixtures).
  std::string sys_cpu_dir = "/sys/devices/system/cpu";
  std::string sys_block_dir = "/sys/block";
  // The handover socket (handover.hpp); empty: none.
  std::string handover;
  // Written (our pid) while this process serves the mount; empty: none.
  std::string ready_file;
  // Serve the per-container, page-cached tree (container_tree.hpp) instead of
  // the compatible layout.
  bool container_tree = false;
};

// Parses argv. Returns nullopt and sets `exit_code` when the program should exit
// right away (--help, --version: 0; bad usage: non-zero, message on stderr).
std::optional<Options> parse_options(int argc, const char* const* argv, int& exit_code);
CpuView parse_cpu_view(std::string_view text);
// Two workers per online CPU, at least 4 and at most 16: each request is short
// CPU work, so more workers than that only add wake-ups of cold threads.
unsigned default_worker_threads();

}  // namespace nestbox::fs
