// SPDX-License-Identifier: Apache-2.0
// The libfuse arguments for a session of nestbox-fs, the same for the
// supervisor (which mounts) and every server (which must negotiate the same
// connection parameters from the same INIT).
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "options.hpp"

namespace nestbox::fs {

struct FuseArgs {
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  explicit FuseArgs(const Options& opts);
  ~FuseArgs() { fuse_opt_free_args(&args); }
  FuseArgs(const FuseArgs&) = delete;
  FuseArgs& operator=(const FuseArgs&) = delete;
};

}  // namespace nestbox::fs
