// SPDX-License-Identifier: Apache-2.0
#include "init.hpp"

#include <cerrno>

#include "nestbox/error.hpp"

namespace nestbox::launcher {

sigset_t block_supervised_signals() {
  sigset_t set = supervised_signal_set();
  sigset_t old;
  if (::sigprocmask(SIG_BLOCK, &set, &old) != 0) throw_errno(errno, "sigprocmask");
  return old;
}

}  // namespace nestbox::launcher
