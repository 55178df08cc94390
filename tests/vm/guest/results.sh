# SPDX-License-Identifier: Apache-2.0
# Result recording for the in-guest suite (sourced by run-suite.sh).

# record STATUS NAME [REASON]: one line in results.tsv, echoed to the console.
record() {
  local status=$1 name=$2 reason=${3:-}
  reason=${reason//$'\t'/ }
  reason=${reason//$'\n'/ | }
  printf '%s\t%s\t%s\n' "$status" "$name" "$reason" >>"$OUT/results.tsv"
  printf 'nestbox-vm: %s %s %s\n' "$status" "$name" "$reason" >/dev/console
}
pass() { record PASS "$@"; }
fail() { record FAIL "$@"; }
skip() { record SKIP "$@"; }

# check NAME REASON-IF-FALSE CMD...: PASS when CMD succeeds, else FAIL with the reason.
check() {
  local name=$1 reason=$2
  shift 2
  if "$@" >/dev/null; then pass "$name"; else fail "$name" "$reason"; fi
}

log_name() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'; }

# run_ctest_case NAME WORKDIR TIMEOUT SKIP_REGEX ENV CMD...: runs one test case
# the way ctest would (its working directory, environment, timeout and skip
# pattern) and records the outcome; the full output goes to logs/<name>.log.
run_ctest_case() {
  local name=$1 wd=$2 tmo=$3 skip_re=$4 envs=$5
  shift 5
  local log="$OUT/logs/$(log_name "$name").log" rc=0 e t0=$SECONDS
  local -a envargs=()
  while IFS= read -r e; do [[ -n $e ]] && envargs+=("$e"); done <<<"$envs"
  tmo=${tmo%%.*}
  ((tmo > 0)) || tmo=300
  (cd "$wd" && timeout -k 10 "$tmo" env "${envargs[@]}" "$@") >"$log" 2>&1 </dev/null || rc=$?
  printf '%s\t%s\t%s\n' "$((SECONDS - t0))" "$rc" "$name" >>"$OUT/logs/timings.tsv"
  if [[ -n $skip_re ]] && grep -qE -- "$skip_re" "$log"; then
    skip "$name" "$(grep -m1 -A1 -E -- ': Skipped$' "$log" | tail -n1 | head -c 200)"
  elif ((rc == 0)); then
    pass "$name"
  elif ((rc == 124 || rc == 137)); then
    fail "$name" "timed out after ${tmo}s"
  else
    fail "$name" "exit $rc: $(grep -m1 -E 'Failure|error|ERROR|what\(\)' "$log" | head -c 200)"
  fi
}

run_integration_list() {
  local list=$1
  if [[ ! -s $list ]]; then
    fail "integration" "no ctest cases labelled integration in $BUILD"
    return
  fi
  # shellcheck disable=SC1090
  . "$list"
}
