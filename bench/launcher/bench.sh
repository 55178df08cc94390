#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Start-to-exit of `true` in a fresh container, side by side in one hyperfine
# run with the peers, all as the same unprivileged user:
#   nestbox-run --memory 256M -- true   (subuid map, delegated cgroup with a
#                                         memory limit, nestbox-fs binds)
#   nestbox-run --no-cgroup -- true     (the same without nestbox-cgmgr: shows
#                                         what the cgroup step adds)
#   unshare --map-auto -Urmpfiun true
#   bwrap --unshare-all --ro-bind / / true
#   runc run (rootless: `runc spec --rootless`, a single-uid map, a busybox
#             rootfs; skipped with the reason when runc cannot run here)
# Prints the medians and each ratio to the unshare line (goal: nestbox <= 1.2x),
# then the cost of one sysinfo(2) call natively and inside nestbox-run, where
# the notification supervisor answers it (a C probe, BENCH_SYSINFO_CALLS calls).
#
#   bash bench/launcher/bench.sh [BUILD_DIR]     (as root; BUILD_DIR default build/demo)
#   bash bench/launcher/bench.sh BUILD_DIR --compare OTHER_NESTBOX_RUN
# The build dir must hold nestbox-run, nestbox-cgmgr and nestbox-fs (use a
# Release build: sanitizers dominate the numbers otherwise).
#
# --compare times the build's nestbox-run against another nestbox-run binary
# (e.g. one built from an older commit) with the two runs alternating
# (BENCH_RUNS each, default 300), against the same manager and mount: on a
# shared machine whose speed drifts, that is the way to see a change of a few
# percent, which separate runs cannot.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/demo.sh
source "$here/../../scripts/demo.sh"
DEMO_BUILD=$(cd "${1:-$NESTBOX_ROOT/build/demo}" && pwd)
other=""
if [[ ${2:-} == --compare ]]; then
  other=$(realpath "${3:?--compare needs a nestbox-run binary}")
  [[ -x $other ]] || die "$other is not executable"
fi
DEMO_FS=$(mktemp -d /tmp/nestbox-bench-fs.XXXXXX)
chmod 0755 "$DEMO_FS"
DEMO_CGROOT=/nestbox-bench

[[ $(id -u) -eq 0 ]] || die "run as root (it starts nestbox-cgmgr and nestbox-fs)"
for tool in hyperfine bwrap unshare; do command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh)"; done
[[ -x $DEMO_BUILD/launcher/nestbox-run ]] || die "no nestbox-run in $DEMO_BUILD"

trap 'demo_cleanup; rmdir "$DEMO_FS" 2>/dev/null || true' EXIT
demo_work=$(mktemp -d /tmp/nestbox-bench.XXXXXX)
chmod 0755 "$demo_work"
install -m 0755 "$DEMO_BUILD/launcher/nestbox-run" "$DEMO_BUILD/launcher/nestbox-init" "$demo_work/"
[[ -n $other ]] && install -m 0755 "$other" "$demo_work/nestbox-run-other"
demo_user
demo_bus
demo_cgmgr || die "nestbox-cgmgr is needed for the benchmark"
demo_fs || die "nestbox-fs is needed for the benchmark"

bus_env=""
[[ -n $DEMO_BUS ]] && bus_env="DBUS_SYSTEM_BUS_ADDRESS=$DEMO_BUS"
csv=$demo_work/results.csv
chmod 0777 "$demo_work"

if [[ -n $other ]]; then
  # Alternating runs, the order flipped every round; milliseconds per run.
  runuser -u "$DEMO_USER" -- env HOME="/home/$DEMO_USER" PATH=/usr/bin:/bin $bus_env \
    bash -c '
      set -e
      for ((i = 0; i < $3; i++)); do
        if ((i % 2)); then order="other this"; else order="this other"; fi
        for which in $order; do
          bin=$1/nestbox-run; [[ $which == other ]] && bin=$1/nestbox-run-other
          t0=$(date +%s%N); "$bin" --fs "$2" --memory 256M -- true; t1=$(date +%s%N)
          echo "$which $(( (t1 - t0) / 1000 ))" >>"$1/compare.txt"
        done
      done' _ "$demo_work" "$DEMO_FS" "${BENCH_RUNS:-300}"
  median() { grep "^$1 " "$demo_work/compare.txt" | cut -d" " -f2 | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] / 1000 }'; }
  this=$(median this)
  that=$(median other)
  printf '%-30s %10s\n' "nestbox-run" "median (ms)"
  printf '%-30s %10.2f\n' "$DEMO_BUILD (this)" "$this" "$other (other)" "$that"
  awk -v a="$this" -v b="$that" 'BEGIN { printf "this / other: %.3f\n", a / b }'
  exit 0
fi
# Rootless runc: a busybox rootfs and the spec runc writes for the caller.
bundle=$demo_work/runc-bundle
mkdir -p "$bundle/rootfs/bin"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
ln -sf busybox "$bundle/rootfs/bin/true"
ln -sf busybox "$bundle/rootfs/bin/sh"
chown -R "$DEMO_USER" "$bundle"
runc_cmd=""
if command -v runc >/dev/null; then
  runuser -u "$DEMO_USER" -- sh -c "cd '$bundle' && runc spec --rootless" &&
    python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
json.dump(spec, open(path, "w"), indent=1)
PY
  runc_cmd="runc --root $demo_work/runc-state run --bundle $bundle nestbox-bench"
  if ! runuser -u "$DEMO_USER" -- env HOME="/home/$DEMO_USER" XDG_RUNTIME_DIR= $runc_cmd >"$demo_work/runc.log" 2>&1; then
    echo "runc line skipped: rootless runc cannot run here: $(tail -n1 "$demo_work/runc.log")" >&2
    runc_cmd=""
  fi
else
  echo "runc line skipped: runc is not installed" >&2
fi
runc_args=()
[[ -n $runc_cmd ]] && runc_args=(-n runc-rootless "$runc_cmd")

nb="$demo_work/nestbox-run --fs $DEMO_FS --memory 256M -- true"
nb_nocg="$demo_work/nestbox-run --fs $DEMO_FS --no-cgroup -- true"
runuser -u "$DEMO_USER" -- env HOME="/home/$DEMO_USER" PATH=/usr/bin:/bin $bus_env \
  hyperfine -N --warmup 5 --runs "${BENCH_RUNS:-50}" --export-csv "$csv" \
  -n nestbox-run "$nb" \
  -n nestbox-run-no-cgroup "$nb_nocg" \
  -n unshare "unshare --map-auto -Urmpfiun true" \
  -n bwrap "bwrap --unshare-all --ro-bind / / true" \
  "${runc_args[@]}"

echo
awk -F, 'NR > 1 { name[NR] = $1; median[NR] = $4 * 1000; if ($1 == "unshare") base = $4 * 1000 }
  END {
    printf "%-22s %12s %10s\n", "command", "median (ms)", "vs unshare"
    for (i = 2; i <= NR; i++) printf "%-22s %12.2f %9.2fx\n", name[i], median[i], median[i] / base
  }' "$csv"

# sysinfo(2): native, then answered by the notification supervisor.
probe=$demo_work/sysinfo-probe
cat >"$probe.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <time.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  struct sysinfo si;
  struct timespec a, b;
  sysinfo(&si);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) sysinfo(&si);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.2f %lu\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0,
         (unsigned long)(si.totalram / (1024 * 1024) * si.mem_unit));
  return 0;
}
C
if command -v gcc >/dev/null && gcc -O2 -o "$probe" "$probe.c"; then
  calls=${BENCH_SYSINFO_CALLS:-2000}
  native=$(runuser -u "$DEMO_USER" -- "$probe" "$calls")
  inside=$(runuser -u "$DEMO_USER" -- env HOME="/home/$DEMO_USER" PATH=/usr/bin:/bin $bus_env \
    "$demo_work/nestbox-run" --fs "$DEMO_FS" --memory 256M --bind "$demo_work:/tmp/bench:ro" -- \
    /tmp/bench/sysinfo-probe "$calls")
  echo
  printf '%-32s %14s %14s\n' "sysinfo(2), $calls calls" "us per call" "totalram (MiB)"
  printf '%-32s %14s %14s\n' "native (host)" $native "nestbox-run (intercepted)" $inside
  awk -v a="${inside%% *}" -v b="${native%% *}" 'BEGIN { printf "intercepted / native: %.0fx\n", a / b }'
else
  echo "sysinfo cost skipped: no C compiler" >&2
fi
