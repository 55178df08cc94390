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

. "$here/results.sh"
. "$here/system.sh"
. "$here/install.sh"
. "$here/check-cgmgr.sh"
. "$here/check-fs.sh"
. "$here/check-delegation.sh"
. "$here/check-launcher.sh"

mkdir -p "$OUT/logs"
: >"$OUT/results.tsv"

phase() { echo "nestbox-vm: ---- $* ----" >/dev/console; }

phase "guest facts"
check_system
phase "install"
install_nestbox
phase "systemd checks"
check_cgmgr_activation
check_fs_service
check_delegation_compare
check_launcher_as_user
# The integration tests start their own daemons; give them a quiet system.
journalctl -u nestbox-cgmgr.service -u nestbox-fs.service --no-pager >"$OUT/logs/units-journal.txt" 2>&1
systemctl stop nestbox-fs.service nestbox-cgmgr.service >/dev/null 2>&1
# A stop is a clean exit: the units end "inactive", never "failed".
for unit in nestbox-fs.service nestbox-cgmgr.service; do
  state=$(systemctl show -P ActiveState "$unit" 2>/dev/null)
  check "stop: $unit ends inactive after systemctl stop" "ActiveState is '$state'" test "$state" = inactive
done
phase "integration tests"
run_integration_list "$OUT/integration-tests.list"

journalctl -b --no-pager >"$OUT/logs/journal.txt" 2>&1
systemctl --failed --no-pager >"$OUT/logs/failed-units.txt" 2>&1
touch "$OUT/done"
sync
phase "suite done"
