// SPDX-License-Identifier: Apache-2.0
#include "timens.hpp"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "nestbox/error.hpp"
#include "nestbox/unique_fd.hpp"

namespace nestbox::launcher {
namespace {

constexpr long long kNano = 1000000000LL;

long long to_ns(const timespec& t) { return static_cast<long long>(t.tv_sec) * kNano + t.tv_nsec; }

// An offset in the "<sec> <nsec>" form timens_offsets wants (nsec in [0, 1e9)).
struct Offset {
  long long sec;
  long nsec;
};
Offset from_ns(long long ns) {
  long long sec = ns / kNano, nsec = ns % kNano;
  if (nsec < 0) {
    nsec += kNano;
    --sec;
  }
  return {sec, static_cast<long>(nsec)};
}

// Offsets (in ns) of the time namespace we are in: 0 on the host, the outer
// container's inside a container. Read before the unshare, while the file
// still describes our own namespace.
struct CurrentOffsets {
  long long monotonic = 0, boottime = 0;
};
CurrentOffsets current_offsets() {
  CurrentOffsets out;
  std::FILE* f = std::fopen("/proc/self/timens_offsets", "re");
  if (!f) return out;  // no time namespaces at all: the unshare below says so
  char name[32];
  long long sec = 0, nsec = 0;
  while (std::fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3) {
    if (std::strcmp(name, "monotonic") == 0) out.monotonic = sec * kNano + nsec;
    if (std::strcmp(name, "boottime") == 0) out.boottime = sec * kNano + nsec;
  }
  std::fclose(f);
  return out;
}

}  // namespace

bool make_container_clocks() {
  // 0. The kernel takes offsets relative to the host's clocks, not to the ones
  //    we see: inside another container (a nested nestbox-run) ours are already
  //    shifted by that container's offsets, which must be added back.
  const CurrentOffsets outer = current_offsets();
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
  const Offset m = from_ns(outer.monotonic - to_ns(mono)), b = from_ns(outer.boottime - to_ns(boot));
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
