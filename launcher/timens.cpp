// SPDX-License-Identifier: Apache-2.0
#include "timens.hpp"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {
namespace {

// The offset that takes `t` back to 0, in the "<sec> <nsec>" form
// timens_offsets wants (nsec must lie in [0, 1e9)).
struct Offset {
  long long sec;
  long nsec;
};
Offset minus(const timespec& t) {
  if (t.tv_nsec == 0) return {-static_cast<long long>(t.tv_sec), 0};
  return {-static_cast<long long>(t.tv_sec) - 1, 1000000000L - t.tv_nsec};
}

}  // namespace

bool make_container_clocks() {
  // 1. The namespace. EINVAL: the kernel was built without CONFIG_TIME_NS; the
  //    container then shares the host's clocks (as before time namespaces).
  if (::unshare(CLONE_NEWTIME) != 0) {
    if (errno == EINVAL) return false;
    throw_errno(errno, "cannot create the container's time namespace");
  }
  // 2. The clocks now. Read just before the write, so the container's clocks
  //    start at (a few microseconds above) 0: the kernel refuses an offset that
  //    would take a clock below 0 at the moment of the write.
  timespec mono{}, boot{};
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  const Offset m = minus(mono), b = minus(boot);
  // 3. Both offsets in one write, before any process is in the namespace (the
  //    first one to enter freezes them). Both clocks move by the same amount, so
  //    inside boottime >= monotonic still holds.
  char text[96];
  const int n = std::snprintf(text, sizeof text, "monotonic %lld %ld\nboottime %lld %ld\n", m.sec, m.nsec, b.sec, b.nsec);
  UniqueFd fd(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno(errno, "cannot open /proc/self/timens_offsets");
  if (::write(fd.get(), text, static_cast<std::size_t>(n)) != n)
    throw_errno(errno, "cannot set the container's clock offsets");
  return true;
}

}  // namespace nestbox::launcher
