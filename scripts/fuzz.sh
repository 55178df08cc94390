#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets of fuzz/ (clang, ASan+UBSan) in build/fuzz and
# runs each for SECONDS (default 20), starting from a temp copy of its seeds
# (fuzz/corpus/<target>/; the source tree is never written). Prints one row per
# target: executions, executions per second, result. Exits non-zero if any
# target crashed, and prints where the crashing input was kept.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Environment:
#   NESTBOX_FUZZ_JOBS    build parallelism (default: nproc)
#   NESTBOX_FUZZ_CORPUS  keep each target's grown corpus in $NESTBOX_FUZZ_CORPUS/<target>
#                        across runs (long runs) instead of a temp copy
#   NESTBOX_FUZZ_FLAGS   extra libFuzzer flags, e.g. "-jobs=2 -workers=2"
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build/fuzz
seconds=${1:-20}
shift || true
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in "$root"/fuzz/*_fuzz.cpp; do
    name=${src##*/}
    targets+=("${name%.cpp}")
  done
fi

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNESTBOX_FUZZ=ON -DNESTBOX_TESTS=OFF -DNESTBOX_BENCH=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "${NESTBOX_FUZZ_JOBS:-$(nproc)}"

work=$(mktemp -d "${TMPDIR:-/tmp}/nestbox-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
crashes=$build/crashes
mkdir -p "$crashes"

# Leaks count as findings; stop at the first report of either sanitizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
rows=()
for t in "${targets[@]}"; do
  if [[ -n ${NESTBOX_FUZZ_CORPUS:-} ]]; then
    corpus=$NESTBOX_FUZZ_CORPUS/$t
  else
    corpus=$work/corpus/$t
  fi
  mkdir -p "$corpus" "$work/tmp/$t"
  [[ -d $root/fuzz/corpus/$t ]] && cp -n "$root/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  log=$work/$t.log
  rc=0
  # TMPDIR: targets that read through files keep their fixtures there.
  # shellcheck disable=SC2086
  TMPDIR=$work/tmp/$t "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/$t-" ${NESTBOX_FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if ((rc == 0)); then
    result=ok
  else
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    result="CRASH (exit $rc) input: ${artifact:-none written}"
    cp "$log" "$crashes/$t.log"
    echo "---- $t: last lines of the log (all of it: $crashes/$t.log)" >&2
    tail -40 "$log" >&2
  fi
  rows+=("$(printf '%-22s %12s %10s  %s' "$t" "${execs:-?}" "${rate:-?}" "$result")")
done

printf '%-22s %12s %10s  %s\n' target executions exec/s result
printf '%s\n' "${rows[@]}"
exit "$failed"
