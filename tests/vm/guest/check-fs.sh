# SPDX-License-Identifier: Apache-2.0
# nestbox-fs started from its own unit, and values it serves to a process in a
# systemd-managed cgroup with limits set through systemd (sourced).

FS_MNT=/var/lib/nestbox/fs

# in_scope PROPS... -- CMD...: runs CMD in a transient scope with the given unit properties.
in_scope() {
  local -a props=()
  while [[ $1 != -- ]]; do props+=(-p "$1"); shift; done
  shift
  systemd-run --quiet --scope --collect "${props[@]}" "$@"
}

check_fs_service() {
  local t="fs: nestbox-fs.service mounts $FS_MNT"
  if [[ ! -f /etc/systemd/system/nestbox-fs.service ]]; then
    fail "$t" "unit not installed (see install results)"
    return
  fi
  local err
  if ! err=$(timeout 120 systemctl start nestbox-fs.service 2>&1); then
    fail "$t" "start failed: $err"
    journalctl -u nestbox-fs.service --no-pager >"$OUT/logs/fs-journal.txt" 2>&1
    return
  fi
  if ! wait_for 30 mountpoint -q "$FS_MNT"; then
    fail "$t" "unit is $(systemctl is-active nestbox-fs.service) but $FS_MNT is not a mount point"
    journalctl -u nestbox-fs.service --no-pager >"$OUT/logs/fs-journal.txt" 2>&1
    return
  fi
  pass "$t" "$(findmnt -n -o FSTYPE "$FS_MNT")"

  # memory.max set by systemd (MemoryMax=) must come back as MemTotal.
  local limit=$((256 * 1024 * 1024)) got
  got=$(in_scope MemoryMax=$limit -- awk '/^MemTotal:/ { print $2 }' "$FS_MNT/proc/meminfo" 2>&1)
  check "fs: meminfo MemTotal follows MemoryMax= (memory.max)" "expected $((limit / 1024)) kB, got '$got'" \
    test "$got" = $((limit / 1024))

  # cpu.max from CPUQuota= must shrink the visible CPUs.
  local want=1 cpus
  cpus=$(in_scope CPUQuota=100% -- grep -c '^processor' "$FS_MNT/proc/cpuinfo" 2>&1)
  check "fs: cpuinfo follows CPUQuota= (cpu.max)" "expected $want processor(s), got '$cpus'" test "$cpus" = "$want"

  # cpuset.cpus.effective from AllowedCPUs=: exactly that CPU listed as online,
  # with its host number (so taskset and sched_setaffinity accept it), and only
  # its cpuN directory in the sysfs CPU view.
  local online dirs
  online=$(in_scope AllowedCPUs=1 -- cat "$FS_MNT/sys/devices/system/cpu/online" 2>&1)
  check "fs: cpu/online follows AllowedCPUs= (cpuset.cpus.effective)" "expected '1', got '$online'" \
    test "$online" = 1
  dirs=$(in_scope AllowedCPUs=1 -- ls "$FS_MNT/sys/devices/system/cpu" 2>&1 | grep -E '^cpu[0-9]+$' | paste -sd, -)
  check "fs: the sysfs CPU directory lists only the allowed CPU" "expected 'cpu1', got '$dirs'" \
    test "$dirs" = cpu1

  # Uptime is the age of the reader's pid namespace init: read in a fresh pid
  # namespace it can be no larger than the guest time that passed around the read.
  local before after served
  before=$(cut -d' ' -f1 /proc/uptime)
  served=$(unshare --pid --fork cut -d' ' -f1 "$FS_MNT/proc/uptime" 2>&1)
  after=$(cut -d' ' -f1 /proc/uptime)
  check "fs: uptime in a new pid namespace is the namespace's age" \
    "served '$served', guest uptime went $before -> $after s" \
    awk -v s="$served" -v a="$before" -v b="$after" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s + 0 <= b - a + 0.02) }'

  # An unprivileged reader sees its own (user slice) view too.
  local user_mem
  user_mem=$(as_user systemd-run --user --quiet --scope -p MemoryMax=$limit \
    awk '/^MemTotal:/ { print $2 }' "$FS_MNT/proc/meminfo" 2>&1)
  check "fs: unprivileged reader in a user scope sees its MemoryMax=" "expected $((limit / 1024)) kB, got '$user_mem'" \
    test "$user_mem" = $((limit / 1024))
}

# The takeover integration test kills the serving process only where the kernel
# has FUSE_NOTIFY_RESEND (6.9); elsewhere it prints "[ SKIPPED-PART ]". On such a
# kernel, or when the host asks for it (a tier booting a newer kernel for exactly
# this), that part must have run; its summary line becomes the result's reason.
check_takeover_crash_part() {
  local name="fs: takeover test's kill -9 part" log kver summary resend=0
  kver=$(uname -r)
  printf '%s\n' 6.9 "${kver%%-*}" | sort -V -C && resend=1
  ((NESTBOX_VM_REQUIRE_RESEND)) && resend=1
  log=$(ls "$OUT"/logs/FsTakeover.*.log 2>/dev/null | head -n1)
  if [[ -z $log ]]; then
    ((NESTBOX_VM_REQUIRE_RESEND)) && fail "$name" "the takeover test (FsTakeover.*) was not among the integration tests run"
    return 0
  fi
  summary=$(grep -m1 '^takeover: ' "$log")
  if grep -q 'SKIPPED-PART' "$log"; then
    if ((resend)); then
      fail "$name" "skipped on kernel $kver, which must run it: $(grep -m1 'SKIPPED-PART' "$log")"
    else
      skip "$name" "kernel $kver has no FUSE_NOTIFY_RESEND (upgrades only)${summary:+; $summary}"
    fi
  elif [[ -z $summary ]]; then
    fail "$name" "kernel $kver: the test printed no takeover summary (it ended early, see $(basename "$log"))"
  else
    pass "$name" "ran on kernel $kver; $summary$(grep -m1 -o 'KNOWN GAP.*' "$log" | sed 's/^/; /')"
  fi
}
