# SPDX-License-Identifier: Apache-2.0
# nestbox-run as the unprivileged guest user, on top of the activated
# nestbox-cgmgr and the nestbox-fs unit's mount (sourced).

check_launcher_as_user() {
  local run=/usr/bin/nestbox-run
  if [[ ! -x $run ]]; then
    fail "launcher: nestbox-run as $VMUSER" "$run not installed (see install results)"
    return
  fi
  local limit=$((128 * 1024 * 1024)) out rc=0
  out=$(cd / && as_user timeout 180 "$run" --memory 128M -- awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>&1) || rc=$?
  echo "$out" >"$OUT/logs/launcher-memory.txt"
  check "launcher: nestbox-run --memory 128M as $VMUSER sees MemTotal of the limit" \
    "exit $rc, expected $((limit / 1024)) kB, got '$(tail -n1 <<<"$out")'" \
    test "$rc" = 0 -a "$(tail -n1 <<<"$out")" = $((limit / 1024))

  rc=0
  out=$(cd / && as_user timeout 180 "$run" --cpus 1 -- nproc 2>&1) || rc=$?
  echo "$out" >"$OUT/logs/launcher-cpus.txt"
  check "launcher: nestbox-run --cpus 1 as $VMUSER sees 1 CPU" "exit $rc, got '$(tail -n1 <<<"$out")'" \
    test "$rc" = 0 -a "$(tail -n1 <<<"$out")" = 1

  rc=0
  out=$(cd / && as_user timeout 180 "$run" -- id -u 2>&1) || rc=$?
  check "launcher: the container is user-namespaced (uid 0 inside, $VMUSER outside)" \
    "exit $rc, got '$(tail -n1 <<<"$out")'" test "$rc" = 0 -a "$(tail -n1 <<<"$out")" = 0
}
