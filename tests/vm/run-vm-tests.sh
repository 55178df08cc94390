#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The pure cgroup v2 VM tier: boots a Debian 12 guest (systemd, system bus,
# cgroup2 only) and runs nestbox's integration tests and systemd checks in it.
#
# Usage: tests/vm/run-vm-tests.sh BUILD_DIR
#
# The guest image is built once and cached, keyed by a hash of its inputs, in
# ${NESTBOX_VM_CACHE:-/var/cache/nestbox-vm}/<hash>/. Each run boots it with a
# throw-away disk overlay, shares the source and build trees read-only at their
# host paths, and collects results through a shared output directory
# BUILD_DIR/vm-tier/out. The guest console log is kept in BUILD_DIR/vm-tier/console.log.
#
# Environment: NESTBOX_VM_TIMEOUT (seconds, default 1200), NESTBOX_VM_ACCEL (kvm|tcg),
# NESTBOX_VM_MEMORY (MiB), NESTBOX_VM_CPUS, NESTBOX_VM_CACHE.
# Exit: 0 all passed/skipped, 1 any failure, hang or infrastructure error,
# 77 cannot run here (not root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/qemu.sh"

[[ $# -eq 1 ]] || vm_die "usage: run-vm-tests.sh BUILD_DIR"
build=$(cd "$1" 2>/dev/null && pwd) || vm_die "build dir $1 does not exist"
src=$(cd "$here/../.." && pwd)
[[ -f $build/CMakeCache.txt ]] || vm_die "$build is not a cmake build tree"

if [[ $(id -u) -ne 0 ]]; then
  echo "vm: SKIP: the VM tier needs root (apt, debootstrap, image cache in /var/cache)"
  exit 77
fi

t_start=$SECONDS
vm_host_deps

# ---- image (built once per input hash, under a lock) -------------------------------
cache=${NESTBOX_VM_CACHE:-/var/cache/nestbox-vm}
mkdir -p "$cache"
codename=$(vm_codename)
mirror=$(vm_mirror "$codename") || vm_die "no apt source for $codename in /etc/apt"
key=$(
  cd "$here"
  find image lib/common.sh -type f -print0 | sort -z | xargs -0 sha256sum
  echo "$codename $mirror"
  apt-cache policy linux-image-amd64 | sed -n 's/^ *Candidate: //p'
  dpkg-query -W -f='${Version}\n' debootstrap busybox-static
)
key=$(printf '%s' "$key" | sha256sum | cut -c1-16)
image=$cache/$key

exec 8>"$cache/.lock"
if [[ ! -f $image/rootfs.img ]]; then
  vm_log "waiting for the image lock"
  flock -w 1800 8 || vm_die "timed out waiting for $cache/.lock"
  if [[ ! -f $image/rootfs.img ]]; then
    rm -rf --one-file-system "$cache"/*.build.* 2>/dev/null || true
    t_img=$SECONDS
    bash "$here/image/build-image.sh" "$image"
    vm_log "image build took $((SECONDS - t_img)) s"
    # Keep the newest three images; older ones belong to inputs no longer in use
    # (unless used within the hour: another run may be about to boot one).
    ls -1dt "$cache"/[0-9a-f]*/ 2>/dev/null | tail -n +4 |
      while read -r old; do
        [[ -n $(find "$old" -maxdepth 0 -mmin +60) ]] && rm -rf --one-file-system "$old"
      done || true
  fi
  flock -u 8
fi
touch "$image"
vm_log "image $image"

# ---- this run's output directory (one run per build tree at a time) ------------------
tier=$build/vm-tier
mkdir -p "$tier"
exec 9>"$tier/.run.lock"
flock -w 1800 9 || vm_die "another VM run holds $tier/.run.lock"
out=$tier/out
console=$tier/console.log
rm -rf --one-file-system "$out"
mkdir -p "$out"
: >"$console"

# The integration tests to run in the guest, exactly as ctest would run them
# (command, working directory, timeout, skip pattern), as a sourced shell list.
ctest --test-dir "$build" -L integration --show-only=json-v1 2>/dev/null |
  jq -r '
    .tests[]? |
    (.properties // []) as $p |
    def prop($n): ([$p[] | select(.name == $n) | .value][0]);
    "run_ctest_case \(.name | @sh) \((prop("WORKING_DIRECTORY") // "/") | @sh) \(prop("TIMEOUT") // 300) \((prop("SKIP_REGULAR_EXPRESSION") // [] | if type == "array" then join("\n") else . end) | @sh) \((prop("ENVIRONMENT") // [] | if type == "array" then . else [.] end | join("\n")) | @sh) \(.command | @sh)"
  ' >"$out/integration-tests.list" || vm_die "could not list the integration tests with ctest/jq"
vm_log "$(wc -l <"$out/integration-tests.list") integration test cases listed"

accel=$(vm_pick_accel "$image" "$cache")
timeout_s=${NESTBOX_VM_TIMEOUT:-1200}
vm_log "booting ($accel, hard timeout ${timeout_s} s, console: $console)"
t_boot=$SECONDS
rc=0
vm_boot "$image" "$accel" "$src" "$build" "$out" "$console" "$timeout_s" || rc=$?
vm_log "guest ran for $((SECONDS - t_boot)) s (qemu exit $rc)"
suite_at=$(sed -n -E 's/^\[ *([0-9]+)\.[0-9]*\].*shares mounted.*/\1/p' "$console" | head -n1)
[[ -z $suite_at ]] || vm_log "guest boot to first check: ${suite_at} s"

# ---- report ----------------------------------------------------------------------
status=0
bash "$here/lib/report.sh" "$out" "$console" "$rc" || status=$?
vm_log "tier total $((SECONDS - t_start)) s"
exit "$status"
