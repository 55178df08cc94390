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
install -m 0755 "$DEMO_BUILD/launcher/nestbox-run" "$demo_work/nestbox-run"
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
