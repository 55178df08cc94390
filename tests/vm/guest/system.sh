# SPDX-License-Identifier: Apache-2.0
# Facts about the guest that every later check relies on (sourced).

VMUSER=vmuser
VMUID=1000

# as_user CMD...: runs CMD as the unprivileged guest user, with its user manager's bus.
as_user() {
  runuser -u "$VMUSER" -- env XDG_RUNTIME_DIR=/run/user/$VMUID \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$VMUID/bus "$@"
}

# wait_for SECONDS CMD...: polls CMD until it succeeds (readiness, not a timed assertion).
wait_for() {
  local limit=$1 i=0
  shift
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    ((i > limit * 5)) && return 1
    sleep 0.2
  done
}

check_system() {
  local fstype v1 kver
  # Which kernel ran, and that it is the one the host booted.
  kver=$(uname -r)
  if [[ -z ${NESTBOX_VM_KERNEL_EXPECTED:-} || $kver == "$NESTBOX_VM_KERNEL_EXPECTED" ]]; then
    pass "guest: kernel" "$kver"
  else
    fail "guest: kernel" "running $kver, the host booted $NESTBOX_VM_KERNEL_EXPECTED"
  fi
  fstype=$(stat -f -c %T /sys/fs/cgroup)
  v1=$(awk '$3 == "cgroup" { print $2 }' /proc/mounts | paste -sd' ')
  if [[ $fstype == cgroup2fs && -z $v1 ]]; then
    pass "guest: pure cgroup v2 at /sys/fs/cgroup"
  else
    fail "guest: pure cgroup v2 at /sys/fs/cgroup" "fstype $fstype, v1 mounts: ${v1:-none}"
  fi
  check "guest: cgroup2 mounted with nsdelegate" "mount options: $(awk '$2 == "/sys/fs/cgroup" { print $4 }' /proc/mounts)" \
    grep -qE '^cgroup2 /sys/fs/cgroup cgroup2 [^ ]*nsdelegate' /proc/mounts
  local ctrls
  ctrls=$(cat /sys/fs/cgroup/cgroup.controllers)
  local c missing=""
  for c in cpuset cpu io memory pids; do [[ " $ctrls " == *" $c "* ]] || missing+=" $c"; done
  check "guest: root cgroup offers cpuset cpu io memory pids" "missing:$missing" test -z "$missing"
  check "guest: systemd is pid 1" "pid 1 is $(cat /proc/1/comm)" test "$(cat /proc/1/comm)" = systemd
  check "guest: system bus is up" "busctl cannot reach the system bus" \
    busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId
  if wait_for 60 systemctl is-active --quiet "user@$VMUID.service"; then
    pass "guest: lingering user manager user@$VMUID.service runs"
  else
    fail "guest: lingering user manager user@$VMUID.service runs" "$(systemctl is-active "user@$VMUID.service")"
  fi
  local ucg=/sys/fs/cgroup/user.slice/user-$VMUID.slice/user@$VMUID.service
  local uctrl missing_u=""
  uctrl=$(cat "$ucg/cgroup.controllers" 2>/dev/null)
  for c in cpuset cpu io memory pids; do [[ " $uctrl " == *" $c "* ]] || missing_u+=" $c"; done
  check "guest: user@.service is delegated cpuset cpu io memory pids" "has '$uctrl', missing:$missing_u" \
    test -z "$missing_u"
  check "guest: unprivileged user namespaces" "unshare -U -r as $VMUSER failed" \
    test "$(runuser -u "$VMUSER" -- unshare -U -r id -u 2>/dev/null)" = 0
  check "guest: /dev/fuse" "no /dev/fuse character device" test -c /dev/fuse
}
