#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A packager's configure: -DNESTBOX_TESTS=OFF must configure, and its build
# graph must be complete (ninja's dry run of `all` and `package` finds a rule
# for every input) with nothing of the test kit in it. Nothing is compiled.
# Usage: check-tests-off.sh SOURCE_DIR
set -uo pipefail

src=${1:?usage: check-tests-off.sh SOURCE_DIR}
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_scratch tests-off; work=$scratch

if cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNESTBOX_TESTS=OFF \
     >"$work/configure.log" 2>&1; then
  pass "configure with -DNESTBOX_TESTS=OFF"
else
  fail "configure with -DNESTBOX_TESTS=OFF: $(grep -m3 -i error "$work/configure.log" | paste -sd' ')"
fi
if [[ -f $work/build/build.ninja ]]; then
  if out=$(ninja -C "$work/build" -n all package 2>&1); then
    pass "build graph of all and package is complete ($(grep -c '^\[' <<<"$out") steps)"
  else
    fail "ninja -n all package: $(tail -n 3 <<<"$out" | paste -sd' ')"
  fi
  leaked=$(ninja -C "$work/build" -t targets all 2>/dev/null | grep -E 'testkit|_tests:|gtest' | head -n 3 | paste -sd' ')
  if [[ -z $leaked ]]; then pass "no test target in a tests-off build"
  else fail "test targets in a tests-off build: $leaked"; fi
fi
if ((failures)); then
  echo "check-tests-off: $failures failure(s)"
  exit 1
fi
echo "check-tests-off: a packager's configure works"
