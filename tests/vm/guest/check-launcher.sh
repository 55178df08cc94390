# SPDX-License-Identifier: Apache-2.0
# nestbox-run as the unprivileged guest user, on top of the activated
# nestbox-cgmgr, the nestbox-fs unit's mount and the nestbox-fs-tree unit's
# (sourced).

check_launcher_as_user() {
  local run=/usr/bin/nestbox-run
  if [[ ! -x $run ]]; then
    fail "launcher: nestbox-run as $VMUSER" "$run not installed (see install results)"
    return
  fi
  # The shipped per-container tree, which nestbox-run uses by default.
  local tree=/var/lib/nestbox/tree tree_up=1
  if ! timeout 120 systemctl start nestbox-fs-tree.service >/dev/null 2>&1 ||
    [[ $(findmnt -n -o FSTYPE "$tree" 2>/dev/null) != fuse.nestbox-fs ]]; then
    tree_up=0
    journalctl -u nestbox-fs-tree.service --no-pager >"$OUT/logs/fs-tree-journal.txt" 2>&1
    fail "launcher: nestbox-fs-tree.service mounts $tree" "unit is $(systemctl is-active nestbox-fs-tree.service)"
  fi
  local limit=$((128 * 1024 * 1024)) out rc=0
  # MemTotal, then where the container's /proc/meminfo comes from: the root of
  # its mount (field 4 of mountinfo) is /<host pid of pid 1>/proc/meminfo in
  # the tree, /proc/meminfo in the compatible layout.
  out=$(cd / && as_user timeout 180 "$run" --memory 128M -- sh -c \
    "awk '\$5 == \"/proc/meminfo\" { print \$4 }' /proc/self/mountinfo; awk '/^MemTotal:/ { print \$2 }' /proc/meminfo" \
    2>&1) || rc=$?
  echo "$out" >"$OUT/logs/launcher-memory.txt"
  check "launcher: nestbox-run --memory 128M as $VMUSER sees MemTotal of the limit" \
    "exit $rc, expected $((limit / 1024)) kB, got '$(tail -n1 <<<"$out")'" \
    test "$rc" = 0 -a "$(tail -n1 <<<"$out")" = $((limit / 1024))
  if ((tree_up)); then
    local source
    source=$(head -n1 <<<"$out")
    check "launcher: by default the container's /proc/meminfo comes from its own directory of $tree" \
      "its mount's root is '$source'" grep -qE '^/[0-9]+/proc/meminfo$' <<<"$source"
  fi

  # One CPU by the affinity mask (nproc), by the sysfs CPU directory (glibc's
  # _NPROCESSORS_CONF lists it) and its online list, which come from the
  # container's own directory of the tree.
  rc=0
  out=$(cd / && as_user timeout 180 "$run" --cpus 1 -- sh -c \
    "echo NPROC \$(nproc); echo CONF \$(getconf _NPROCESSORS_CONF); echo ONLINE \$(cat /sys/devices/system/cpu/online); \
     awk '\$5 == \"/sys/devices/system/cpu\" { print \"SOURCE \" \$4 }' /proc/self/mountinfo" 2>&1) || rc=$?
  echo "$out" >"$OUT/logs/launcher-cpus.txt"
  check "launcher: nestbox-run --cpus 1 as $VMUSER sees 1 CPU (nproc, getconf, sysfs online)" \
    "exit $rc, got '$(tr '\n' ' ' <<<"$out")'" \
    test "$rc" = 0 -a "$(grep -c -x -E 'NPROC 1|CONF 1|ONLINE 0' <<<"$out")" = 3
  if ((tree_up)); then
    check "launcher: by default the container's /sys/devices/system/cpu comes from its own directory of $tree" \
      "its mount's root is '$(grep '^SOURCE' <<<"$out")'" grep -qE '^SOURCE /[0-9]+/sys/devices/system/cpu$' <<<"$out"
  fi

  rc=0
  out=$(cd / && as_user timeout 180 "$run" -- id -u 2>&1) || rc=$?
  check "launcher: the container is user-namespaced (uid 0 inside, $VMUSER outside)" \
    "exit $rc, got '$(tail -n1 <<<"$out")'" test "$rc" = 0 -a "$(tail -n1 <<<"$out")" = 0
}
