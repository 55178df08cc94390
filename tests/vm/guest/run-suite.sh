#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# In-guest entry point (started by nestbox-vm-boot.service once the shares are
# mounted). Installs what the build tree offers, runs the integration tests and
# the systemd checks, and leaves per-test results in OUT/results.tsv.
# Usage: run-suite.sh SRC BUILD OUT
set -u
SRC=$1 BUILD=$2 OUT=$3
here=$SRC/tests/vm/guest
export SRC BUILD OUT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8
# Under software emulation (TCG) 100 busy reader processes alone keep a read
# waiting for seconds, which the takeover test would count as a blocked reader:
# it runs fewer readers there (the host run keeps 100).
if grep -qw "nestbox.accel=tcg" /proc/cmdline; then
  export NESTBOX_TAKEOVER_READERS=20
fi

# What the host asked for (run-vm-tests.sh --checks, the kernel it booted).
NESTBOX_VM_CHECKS=all NESTBOX_VM_KERNEL_EXPECTED="" NESTBOX_VM_REQUIRE_RESEND=0
# shellcheck disable=SC1091
[[ -r $OUT/suite.conf ]] && . "$OUT/suite.conf"
wants() { [[ " $NESTBOX_VM_CHECKS " == *" all "* || " $NESTBOX_VM_CHECKS " == *" $1 "* ]]; }

. "$here/results.sh"
. "$here/system.sh"
. "$here/install.sh"
. "$here/check-cgmgr.sh"
. "$here/check-fs.sh"
. "$here/check-delegation.sh"
. "$here/check-pam.sh"
. "$here/check-launcher.sh"

mkdir -p "$OUT/logs"
: >"$OUT/results.tsv"

phase() { echo "nestbox-vm: ---- $* ----" >/dev/console; }

phase "guest facts"
check_system
units=()
if wants cgmgr || wants delegation || wants launcher; then
  units=(nestbox-cgmgr.service nestbox-fs.service nestbox-fs-tree.service)
elif wants fs; then
  units=(nestbox-fs.service nestbox-fs-tree.service)
fi
if ((${#units[@]})); then
  phase "install"
  install_nestbox "${units[@]}"
  phase "systemd checks"
  wants cgmgr && check_cgmgr_activation
  wants fs && check_fs_service
  wants fs && check_fs_restarts_under_systemd
  wants delegation && check_delegation_compare
  wants delegation && check_pam_login
  wants launcher && check_launcher_as_user
  # The integration tests start their own daemons; give them a quiet system.
  journalctl "${units[@]/#/-u}" --no-pager >"$OUT/logs/units-journal.txt" 2>&1
  systemctl stop "${units[@]}" >/dev/null 2>&1
  # A stop is a clean exit: the units end "inactive", never "failed".
  for unit in "${units[@]}"; do
    state=$(systemctl show -P ActiveState "$unit" 2>/dev/null)
    check "stop: $unit ends inactive after systemctl stop" "ActiveState is '$state'" test "$state" = inactive
  done
fi
phase "integration tests"
run_integration_list "$OUT/integration-tests.list"
check_takeover_crash_part

journalctl -b --no-pager >"$OUT/logs/journal.txt" 2>&1
systemctl --failed --no-pager >"$OUT/logs/failed-units.txt" 2>&1
touch "$OUT/done"
sync
phase "suite done"
