// The FUSE low-level operations: a static inode table for the virtualized files
// plus the dynamic cgroup view. Every handler catches every exception; the proc
// files fall back to the host file, the view answers with an errno.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <memory>

#include "cgroup_view.hpp"
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
  // Starts background work (after any fork to the background).
  void start();
  void stop();

  const StaticTree& tree() const { return static_; }
  ProcFiles& files() { return files_; }
  CgroupView& view() { return view_; }
  LoadSampler& sampler() { return sampler_; }

 private:
  std::unique_ptr<CgroupTree> cgroups_;
  LoadSampler sampler_;
  ProcFiles files_;
  StaticTree static_;
  CgroupView view_;
};

}  // namespace nestbox::fs
