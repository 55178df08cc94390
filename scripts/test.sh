#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the dependencies, builds everything with warnings as errors and
# ASan+UBSan into build/test, and runs the whole suite (unit, real-kernel
# integration and the cgroup v2 VM tier) in one ctest run, so the last thing
# printed is ctest's summary. Run as root on Debian 12, from any directory;
# safe to run again. Exits non-zero if anything fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build/test

if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: run as root (the integration tests create cgroups, users and mounts)" >&2
  exit 1
fi
# Files and directories the tests create must be readable by the unprivileged
# test user regardless of the caller's umask.
umask 022

bash "$root/scripts/install-deps.sh"

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNESTBOX_WERROR=ON \
  -DNESTBOX_SANITIZE=ON \
  -DNESTBOX_TESTS=ON
cmake --build "$build" -j "$(nproc)"

# Sandboxes left by an earlier run that was SIGKILLed (e.g. a ctest timeout)
# would otherwise pile up: remove the empty ones whose creating process is gone.
# Only our own naming pattern at the top of a cgroup hierarchy is considered,
# and rmdir never removes a cgroup that still has processes.
for dir in /sys/fs/cgroup/nestbox-test-* /sys/fs/cgroup/*/nestbox-test-*; do
  [[ -d $dir ]] || continue
  name=${dir##*/}
  [[ $name =~ ^nestbox-test-([0-9]+)-[0-9]+$ ]] || continue
  kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
  find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

# Sanitizers: stop at the first error with a stack trace, and check for leaks.
# Programs the tests start inherit these (the harness passes them through).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-report_objects=0}

# Two jobs: every test works under its own unique cgroup prefix, temp dirs,
# private bus and mount points, so tests are independent; the machine has 2 cores.
# Tests without their own TIMEOUT property (the VM tier sets one) get 15 minutes.
exec ctest --test-dir "$build" --output-on-failure --no-tests=error -j 2 --timeout 900 </dev/null
