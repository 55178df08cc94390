#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints the guest's per-test results on the host and decides the tier's exit status.
# Usage: report.sh OUT_DIR CONSOLE_LOG QEMU_EXIT
# results.tsv lines: STATUS<TAB>NAME<TAB>REASON, STATUS one of PASS FAIL SKIP.
set -uo pipefail
out=$1 console=$2 qemu_rc=$3
results=$out/results.tsv
pass=0 fail=0 skip=0

if [[ -r $results ]]; then
  while IFS=$'\t' read -r status name reason; do
    [[ -n $status ]] || continue
    case $status in
      PASS) pass=$((pass + 1)) ;;
      SKIP) skip=$((skip + 1)) ;;
      *) fail=$((fail + 1)); status=FAIL ;;
    esac
    if [[ -n $reason ]]; then
      printf '%-4s %s  (%s)\n' "$status" "$name" "$reason"
    else
      printf '%-4s %s\n' "$status" "$name"
    fi
  done <"$results"
fi

# The guest writes "done" only after its last check; anything else is a crash,
# a hang cut by the hard timeout, or a boot failure.
infra=""
if [[ ! -f $out/done ]]; then
  if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
    infra="guest hit the hard timeout (hang)"
  else
    infra="guest stopped before finishing the suite (qemu exit $qemu_rc)"
  fi
elif [[ $qemu_rc -ne 0 ]]; then
  infra="qemu exited with $qemu_rc"
fi
if [[ -n $infra ]]; then
  fail=$((fail + 1))
  printf 'FAIL vm-infrastructure  (%s)\n' "$infra"
fi
if ((fail)); then
  echo "---- last 40 lines of the guest console ($console) ----"
  tail -n 40 "$console" 2>/dev/null | sed 's/\r$//'
  echo "---- per-test logs: $out/logs ----"
fi
echo "vm: $pass passed, $fail failed, $skip skipped"
((fail == 0))
