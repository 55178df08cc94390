#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The pure cgroup v2 VM tier: boots a Debian 12 guest (systemd, system bus,
# cgroup2 only) and runs nestbox's integration tests and systemd checks in it.
#
# Usage: tests/vm/run-vm-tests.sh [--kernel default|backports] [--tests REGEX]
#                                 [--checks LIST] BUILD_DIR
#   --kernel   the guest kernel: "default" is the release's own (Debian 12: 6.1);
#              "backports" is the newest of <codename>-backports (6.12), fetched
#              with a private apt configuration and booted with the same root disk.
#   --tests    run only the integration tests whose ctest name matches REGEX.
#   --checks   the in-guest systemd checks to run: "all" (default), "none", or a
#              comma list of cgmgr, fs, delegation, launcher. The guest facts
#              (cgroup2, systemd, bus, kernel) always run.
#
# The guest image is built once and cached, keyed by a hash of its inputs, in
# ${NESTBOX_VM_CACHE:-/var/cache/nestbox-vm}/<hash>/; a backports kernel is cached
# the same way in .../kernels/<hash>/. Each run boots it with a throw-away disk
# overlay, shares the source and build trees read-only at their host paths, and
# collects results through a shared output directory BUILD_DIR/vm-tier/out
# (BUILD_DIR/vm-tier-<kernel>/out for another kernel). The guest console log is
# kept in that directory's console.log.
#
# Environment: NESTBOX_VM_KERNEL, NESTBOX_VM_TESTS, NESTBOX_VM_CHECKS (the options'
# defaults), NESTBOX_VM_TIMEOUT (seconds, default 1500; 600 with --tests), NESTBOX_VM_ACCEL (kvm|tcg),
# NESTBOX_VM_MEMORY (MiB), NESTBOX_VM_CPUS, NESTBOX_VM_CACHE,
# NESTBOX_VM_BACKPORTS_MIRROR (default http://deb.debian.org/debian).
# Exit: 0 all passed/skipped, 1 any failure, hang or infrastructure error,
# 77 cannot run here (not root, or the backports kernel cannot be fetched).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/qemu.sh"

kernel=${NESTBOX_VM_KERNEL:-default}
tests_re=${NESTBOX_VM_TESTS:-}
checks=${NESTBOX_VM_CHECKS:-all}
usage="usage: run-vm-tests.sh [--kernel default|backports] [--tests REGEX] [--checks LIST] BUILD_DIR"
while [[ $# -gt 1 ]]; do
  case $1 in
    --kernel) kernel=$2 ;;
    --tests) tests_re=$2 ;;
    --checks) checks=$2 ;;
    *) vm_die "$usage" ;;
  esac
  shift 2
done
[[ $# -eq 1 ]] || vm_die "$usage"
[[ $kernel == default || $kernel == backports ]] || vm_die "--kernel: default or backports, not '$kernel'"
checks=${checks//,/ }
for c in $checks; do
  [[ $c =~ ^(all|none|cgmgr|fs|delegation|launcher)$ ]] || vm_die "--checks: unknown check '$c'"
done
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

# ---- the guest kernel: the image's own, or one from backports -------------------------
kdir=$image
require_resend=0
if [[ $kernel == backports ]]; then
  . "$here/kernel/apt.sh"
  vm_kernel_host_deps
  kernel_skip() {
    local line
    line=$(printf '=%.0s' {1..78})
    printf '%s\nvm: SKIP: %s\nvm: SKIP: the %s-kernel tier did not run; nothing was tested on that kernel.\n%s\n' \
      "$line" "$1" "$kernel" "$line"
    exit 77
  }
  suite=$codename-backports
  kmirror=${NESTBOX_VM_BACKPORTS_MIRROR:-http://deb.debian.org/debian}
  kcache=$cache/kernels
  mkdir -p "$kcache"
  exec 7>"$kcache/.apt.lock"
  flock -w 600 7 || vm_die "timed out waiting for $kcache/.apt.lock"
  vm_kapt_init "$kcache/apt-$suite" "$kmirror" "$suite"
  if ! kapt_log=$(vm_kapt_update); then
    vm_log "WARNING: apt update of $suite from $kmirror failed; trying the lists fetched before:"
    printf '%s\n' "$kapt_log" | tail -n 5 >&2
  fi
  kpkg=$(vm_kapt_kernel_package) || true
  [[ -n $kpkg ]] || kernel_skip "cannot resolve linux-image-amd64 in $suite from $kmirror (no network or no such suite)"
  kpver=$(vm_kapt_version "$kpkg") || true
  kver=${kpkg#linux-image-}
  # The point of this tier is the FUSE_NOTIFY_RESEND path (6.9 and newer).
  printf '%s\n' 6.9 "${kver%%-*}" | sort -V -C ||
    vm_die "$suite's kernel is $kver, older than 6.9: it would test nothing the default kernel does not"
  kkey=$(
    cd "$here"
    find kernel lib/common.sh -type f -print0 | sort -z | xargs -0 sha256sum
    echo "$suite $kpkg $kpver"
    dpkg-query -W -f='${Version}\n' busybox-static
  )
  kdir=$kcache/$(printf '%s' "$kkey" | sha256sum | cut -c1-16)
  if [[ ! -f $kdir/vmlinux ]]; then
    vm_log "waiting for the image lock"
    flock -w 1800 8 || vm_die "timed out waiting for $cache/.lock"
    if [[ ! -f $kdir/vmlinux ]]; then
      rm -rf --one-file-system "$kcache"/*.build.* "$kcache"/download.* 2>/dev/null || true
      t_img=$SECONDS
      kdl=$(mktemp -d "$kcache/download.XXXXXX")
      vm_log "fetching $kpkg $kpver from $kmirror $suite"
      vm_kapt_download "$kpkg" "$kdl" || { rm -rf "$kdl"; kernel_skip "apt-get download $kpkg from $suite failed"; }
      bash "$here/kernel/build-kernel.sh" "$kdir" "$kdl"/*.deb || { rm -rf "$kdl"; exit 1; }
      rm -rf "$kdl"
      vm_log "guest kernel build took $((SECONDS - t_img)) s"
      ls -1dt "$kcache"/[0-9a-f]*/ 2>/dev/null | tail -n +3 |
        while read -r old; do
          [[ -n $(find "$old" -maxdepth 0 -mmin +60) ]] && rm -rf --one-file-system "$old"
        done || true
    fi
    flock -u 8
  fi
  flock -u 7
  touch "$kdir"
  vm_log "guest kernel $(cat "$kdir/kernel-version") ($kpver from $suite): $kdir"
  require_resend=1
fi

# ---- this run's output directory (one run per build tree at a time) ------------------
tier=$build/vm-tier
[[ $kernel == default ]] || tier=$build/vm-tier-$kernel
mkdir -p "$tier"
exec 9>"$tier/.run.lock"
flock -w 1800 9 || vm_die "another VM run holds $tier/.run.lock"
out=$tier/out
console=$tier/console.log
rm -rf --one-file-system "$out"
mkdir -p "$out"
: >"$console"
# The project's Debian package (CPack: what `cmake --install` lays out for
# /usr, with its maintainer scripts); the guest installs it with dpkg
# (guest/install.sh) and upgrades it in place (guest/check-fs.sh).
rm -f "$build"/nestbox_*.deb "$tier"/nestbox_*.deb
cmake --build "$build" --target package >"$tier/package.log" 2>&1 ||
  vm_die "cmake --build $build --target package failed: $(tail -n 3 "$tier/package.log")"
deb=$(ls "$build"/nestbox_*.deb 2>/dev/null | head -n1)
[[ -f $deb ]] || vm_die "the package target made no nestbox_*.deb in $build"
cp "$deb" "$tier/" || vm_die "cannot copy $deb to $tier"
deb=$tier/$(basename "$deb")

# The integration tests to run in the guest, exactly as ctest would run them
# (command, working directory, timeout, skip pattern), as a sourced shell list.
ctest --test-dir "$build" -L integration ${tests_re:+-R "$tests_re"} --show-only=json-v1 2>/dev/null |
  jq -r '
    .tests[]? |
    (.properties // []) as $p |
    def prop($n): ([$p[] | select(.name == $n) | .value][0]);
    "run_ctest_case \(.name | @sh) \((prop("WORKING_DIRECTORY") // "/") | @sh) \(prop("TIMEOUT") // 300) \((prop("SKIP_REGULAR_EXPRESSION") // [] | if type == "array" then join("\n") else . end) | @sh) \((prop("ENVIRONMENT") // [] | if type == "array" then . else [.] end | join("\n")) | @sh) \(.command | @sh)"
  ' >"$out/integration-tests.list" || vm_die "could not list the integration tests with ctest/jq"
vm_log "$(grep -c '^run_ctest_case' "$out/integration-tests.list") integration test cases listed${tests_re:+ (matching $tests_re)}"
[[ -z $tests_re || -s $out/integration-tests.list ]] || vm_die "no integration test matches '$tests_re'"
# What the guest is asked to run and to expect.
{
  printf 'NESTBOX_VM_CHECKS=%q\n' "$checks"
  printf 'NESTBOX_VM_KERNEL_EXPECTED=%q\n' "$(cat "$kdir/kernel-version" 2>/dev/null)"
  printf 'NESTBOX_VM_REQUIRE_RESEND=%q\n' "$require_resend"
  printf 'NESTBOX_VM_DEB=%q\n' "$deb"
} >"$out/suite.conf"

accel=$(vm_pick_accel "$image" "$cache")
# A subset (--tests) gets a shorter hard timeout than the whole suite.
timeout_s=${NESTBOX_VM_TIMEOUT:-$([[ -n $tests_re ]] && echo 600 || echo 1500)}
vm_log "booting ($accel, hard timeout ${timeout_s} s, console: $console)"
# A guest whose kernel panics before the suite ends is booted once more, with
# the panic printed here and its console kept: seen once in CI on
# bookworm-backports' 6.12.95 under TCG (a scheduler oops, update_curr in a
# timer interrupt, during a systemd-run), not reproduced by the next runs of
# the same image and kernel. A second panic fails the tier like any crash.
attempt=1
while :; do
  t_boot=$SECONDS
  rc=0
  vm_boot "$image" "$accel" "$src" "$build" "$out" "$console" "$timeout_s" "$kdir" || rc=$?
  vm_log "guest ran for $((SECONDS - t_boot)) s (qemu exit $rc)"
  [[ $attempt -eq 1 && ! -f $out/done ]] && grep -q 'Kernel panic - not syncing' "$console" || break
  cp "$console" "$tier/console.panic.log"
  vm_log "WARNING: the guest kernel panicked before the suite ended; its console is in $tier/console.panic.log:"
  grep -m 12 -E 'BUG:|Oops|RIP: 0010|Comm:|Kernel panic|nestbox-vm: (PASS|FAIL)' "$console" | tail -n 12 >&2
  vm_log "WARNING: booting the guest once more (a second panic fails the tier)"
  rm -rf --one-file-system "$out/logs" "$out/results.tsv" "$out/done"
  : >"$console"
  attempt=2
done
suite_at=$(sed -n -E 's/^\[ *([0-9]+)\.[0-9]*\].*shares mounted.*/\1/p' "$console" | head -n1)
[[ -z $suite_at ]] || vm_log "guest boot to first check: ${suite_at} s"

# ---- report ----------------------------------------------------------------------
status=0
bash "$here/lib/report.sh" "$out" "$console" "$rc" || status=$?
vm_log "tier total $((SECONDS - t_start)) s"
exit "$status"
