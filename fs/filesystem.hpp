// SPDX-License-Identifier: Apache-2.0
// The FUSE low-level operations: a static inode table for the virtualized files,
// the host's sysfs CPU directory seen through the reader's CPUs, the block
// devices' counters seen through the reader's cgroup, and the dynamic
// cgroup view. File and directory handles are entries of handle tables. Every handler catches every exception; the proc
// files fall back to the host file, the view answers with an errno.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <memory>

#include "block_dir.hpp"
#include "cgroup_view.hpp"
#include "cpu_dir.hpp"
#include "handle_table.hpp"
#include "load_sampler.hpp"
#include "nestbox/cgroup_tree.hpp"
#include "options.hpp"
#include "proc_files.hpp"
#include "static_tree.hpp"

namespace nestbox::fs {

class Filesystem {
 public:
  Filesystem(const Options& options, const HostLayout& layout, std::unique_ptr<CgroupTree> tree);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  static const fuse_lowlevel_ops& operations();
  // The epoch of this server on its connection (see handle_table.hpp); before
  // the first request.
  void set_epoch(std::uint16_t epoch);
  // Starts background work (after any fork to the background).
  void start();
  void stop();

  const StaticTree& tree() const { return static_; }
  ProcFiles& files() { return files_; }
  CgroupView& view() { return view_; }
  CpuDir& cpu_dir() { return cpu_dir_; }
  BlockDir& block_dir() { return block_dir_; }

  struct OpenFile;
  struct OpenDir;
  HandleTable<OpenFile>& open_files() { return open_files_; }
  HandleTable<OpenDir>& open_dirs() { return open_dirs_; }
  LoadSampler& sampler() { return sampler_; }

 private:
  std::unique_ptr<CgroupTree> cgroups_;
  LoadSampler sampler_;
  ProcFiles files_;
  StaticTree static_;
  CgroupView view_;
  CpuDir cpu_dir_;
  BlockDir block_dir_;
  HandleTable<OpenFile> open_files_;
  HandleTable<OpenDir> open_dirs_;
};

}  // namespace nestbox::fs
