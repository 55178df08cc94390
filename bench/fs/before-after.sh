#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nestbox-fs of an earlier revision beside this tree's, in one run: builds the
# revision's nestbox-fs (release, in a temporary worktree), then runs
# bench/fs for each, alternating ROUNDS times, so both see the same machine.
# Both runs measure lxcfs too; compare the nestbox-fs columns and the ratios.
# Usage (root): bench/fs/before-after.sh REV [BUILD_DIR] [SECONDS] [ROUNDS]
#   BUILD_DIR: this tree's release build (default build/bench), with nestbox_fs_bench.
set -euo pipefail
rev=${1:?usage: before-after.sh REV [BUILD_DIR] [SECONDS] [ROUNDS]}
build=$(realpath "${2:-build/bench}")
seconds=${3:-1}
rounds=${4:-2}
src=$(git rev-parse --show-toplevel)
bench=$build/bench/fs/nestbox_fs_bench
now=$build/fs/nestbox-fs
[[ -x $bench && -x $now ]] || { echo "before-after.sh: build $build first (nestbox-fs, nestbox_fs_bench)" >&2; exit 2; }

work=$(mktemp -d /tmp/nestbox-before-after.XXXXXX)
cleanup() {
  git -C "$src" worktree remove --force "$work/tree" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git -C "$src" worktree add --detach "$work/tree" "$rev" >/dev/null
cmake -S "$work/tree" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNESTBOX_SANITIZE=OFF \
  -DNESTBOX_TESTS=OFF >/dev/null
cmake --build "$work/build" --target nestbox-fs -j"$(nproc)" >/dev/null
before=$work/build/fs/nestbox-fs

for ((i = 1; i <= rounds; i++)); do
  echo "== round $i: before ($(git -C "$src" rev-parse --short "$rev"))"
  "$bench" --nestbox-fs "$before" --seconds "$seconds"
  echo "== round $i: now ($(git -C "$src" rev-parse --short HEAD))"
  "$bench" --nestbox-fs "$now" --seconds "$seconds"
done
