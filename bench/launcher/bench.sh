#!/usr/bin/env bash
# Start-to-exit of `true` in a fresh container, side by side in one hyperfine
# run with the peers, all as the same unprivileged user:
#   nestbox-run --memory 256M -- true   (subuid map, delegated cgroup with a
#                                         memory limit, nestbox-fs binds)
#   nestbox-run --no-cgroup -- true     (the same without nestbox-cgmgr: shows
#                                         what the cgroup step adds)
#   unshare --map-auto -Urmpfiun true
#   bwrap --unshare-all --ro-bind / / true
# Prints the medians and each ratio to the unshare line (goal: nestbox <= 1.2x).
#
#   bash bench/launcher/bench.sh [BUILD_DIR]     (as root; BUILD_DIR default build/demo)
# The build dir must hold nestbox-run, nestbox-cgmgr and nestbox-fs (use a
# Release build: sanitizers dominate the numbers otherwise).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/demo.sh
source "$here/../../scripts/demo.sh"
DEMO_BUILD=$(cd "${1:-$NESTBOX_ROOT/build/demo}" && pwd)
DEMO_FS=$(mktemp -d /tmp/nestbox-bench-fs.XXXXXX)
chmod 0755 "$DEMO_FS"
DEMO_CGROOT=/nestbox-bench

[[ $(id -u) -eq 0 ]] || die "run as root (it starts nestbox-cgmgr and nestbox-fs)"
for tool in hyperfine bwrap unshare; do command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh)"; done
[[ -x $DEMO_BUILD/launcher/nestbox-run ]] || die "no nestbox-run in $DEMO_BUILD"

trap 'demo_cleanup; rmdir "$DEMO_FS" 2>/dev/null || true' EXIT
demo_work=$(mktemp -d /tmp/nestbox-bench.XXXXXX)
chmod 0755 "$demo_work"
install -m 0755 "$DEMO_BUILD/launcher/nestbox-run" "$demo_work/nestbox-run"
demo_user
demo_bus
demo_cgmgr || die "nestbox-cgmgr is needed for the benchmark"
demo_fs || die "nestbox-fs is needed for the benchmark"

bus_env=""
[[ -n $DEMO_BUS ]] && bus_env="DBUS_SYSTEM_BUS_ADDRESS=$DEMO_BUS"
csv=$demo_work/results.csv
chmod 0777 "$demo_work"
nb="$demo_work/nestbox-run --fs $DEMO_FS --memory 256M -- true"
nb_nocg="$demo_work/nestbox-run --fs $DEMO_FS --no-cgroup -- true"
runuser -u "$DEMO_USER" -- env HOME="/home/$DEMO_USER" PATH=/usr/bin:/bin $bus_env \
  hyperfine -N --warmup 5 --runs "${BENCH_RUNS:-50}" --export-csv "$csv" \
  -n nestbox-run "$nb" \
  -n nestbox-run-no-cgroup "$nb_nocg" \
  -n unshare "unshare --map-auto -Urmpfiun true" \
  -n bwrap "bwrap --unshare-all --ro-bind / / true"

echo
awk -F, 'NR > 1 { name[NR] = $1; median[NR] = $4 * 1000; if ($1 == "unshare") base = $4 * 1000 }
  END {
    printf "%-22s %12s %10s\n", "command", "median (ms)", "vs unshare"
    for (i = 2; i <= NR; i++) printf "%-22s %12.2f %9.2fx\n", name[i], median[i], median[i] / base
  }' "$csv"
