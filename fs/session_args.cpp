// SPDX-License-Identifier: Apache-2.0
#include "session_args.hpp"

#include <string>

namespace nestbox::fs {

FuseArgs::FuseArgs(const Options& opts) {
  std::string mount_opts = "fsname=nestbox-fs,subtype=nestbox-fs";
  if (opts.allow_other) mount_opts += ",allow_other";
  // The per-container tree's directories are guarded by their modes (its
  // entries are cached, so a walk does not always reach the daemon).
  if (opts.container_tree) mount_opts += ",default_permissions";
  fuse_opt_add_arg(&args, "nestbox-fs");
  fuse_opt_add_arg(&args, "-o");
  fuse_opt_add_arg(&args, mount_opts.c_str());
  for (const auto& o : opts.fuse_options) {
    fuse_opt_add_arg(&args, "-o");
    fuse_opt_add_arg(&args, o.c_str());
  }
}

}  // namespace nestbox::fs
