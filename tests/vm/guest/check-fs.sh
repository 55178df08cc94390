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
  if ! systemctl cat nestbox-fs.service >/dev/null 2>&1; then
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
  log=$OUT/logs/FsTakeover.ReadersSeeNoErrorAcrossUpgradeCrashesAndAFailedUpgrade.log
  [[ -f $log ]] || log=
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
    pass "$name" "ran on kernel $kver; $summary"
  fi
}

# fs_processes: pids of nestbox-fs processes (supervisor and servers).
# nestbox-fs processes of nestbox-fs.service (nestbox-fs-tree.service runs the
# same program).
fs_processes() {
  local p
  for p in $(pgrep -x nestbox-fs); do
    grep -qs '/nestbox-fs\.service$' "/proc/$p/cgroup" && echo "$p"
  done | paste -sd' ' -
}

# Readers on a bind mount of the unit's meminfo (as a container has it) while
# the service is reloaded (live upgrade), the package is upgraded (its postinst
# reloads), its server is killed (kernels with
# FUSE_NOTIFY_RESEND), and its supervisor - the unit's main process - is
# killed, which systemd answers with a restart that takes the connection back
# from the fd store. Then a real stop must unmount and end "inactive".
check_fs_restarts_under_systemd() {
  local t="fs: under nestbox-fs.service, readers see no error across reload, package upgrade, kill -9 of server and of supervisor"
  if ! systemctl is-active -q nestbox-fs.service; then
    skip "$t" "nestbox-fs.service is not running (see the service check)"
    return
  fi
  local limit=$((256 * 1024 * 1024)) stop=/run/nestbox-readers.stop res=$OUT/logs/fs-restart-readers.json
  local readers=${NESTBOX_TAKEOVER_READERS:-100} kver resend=0 steps=() main server before
  kver=$(uname -r)
  printf '%s\n' 6.9 "${kver%%-*}" | sort -V -C && resend=1
  rm -f "$stop"
  in_scope MemoryMax=$limit -- unshare -m sh -c \
    "mount --bind $FS_MNT/proc/meminfo /proc/meminfo && exec python3 $SRC/tests/vm/guest/meminfo-readers.py /proc/meminfo $readers $stop $((limit / 1024))" \
    >"$res" 2>"$OUT/logs/fs-restart-readers.err" &
  local load=$!
  sleep 3

  # 1. systemctl reload: the binary at the unit's path takes over.
  before=$(fs_processes)
  systemctl reload nestbox-fs.service && steps+=("reload")
  sleep 3
  # 1b. A package upgrade: dpkg -i of the package again (prerm upgrade, then
  #     postinst configure <old version>), whose postinst upgrades in place.
  if [[ -n ${NESTBOX_VM_DEB:-} && -f $NESTBOX_VM_DEB ]]; then
    DEBIAN_FRONTEND=noninteractive dpkg -i "$NESTBOX_VM_DEB" >"$OUT/logs/dpkg-upgrade.txt" 2>&1 &&
      steps+=("dpkg -i (upgrade)")
    sleep 3
  fi
  # 2. kill -9 of the server (the supervisor's child), where the kernel can
  #    re-queue what it had read.
  if ((resend)); then
    for _ in 1 2 3; do
      main=$(systemctl show -P MainPID nestbox-fs.service)
      server=$(pgrep -P "$main" -x nestbox-fs | head -n1)
      [[ -n $server ]] && kill -9 "$server" && steps+=("kill -9 server $server")
      sleep 2
    done
  fi
  # 3. kill -9 of the supervisor: systemd restarts the unit (Restart=always),
  #    the new supervisor adopts the connection and drains the old server.
  main=$(systemctl show -P MainPID nestbox-fs.service)
  kill -9 "$main" && steps+=("kill -9 supervisor $main")
  wait_for 30 sh -c "[ \"\$(systemctl show -P MainPID nestbox-fs.service)\" != $main ] && systemctl is-active -q nestbox-fs.service"
  # The old server drains once the new one serves: one supervisor and one server remain.
  wait_for 30 bash -c "$(declare -f fs_processes); [[ \$(fs_processes | wc -w) -eq 2 ]]"
  local after
  after=$(fs_processes)
  sleep 3
  touch "$stop"
  wait "$load"
  rm -f "$stop"
  journalctl -u nestbox-fs.service --no-pager >"$OUT/logs/fs-restart-journal.txt" 2>&1

  local summary
  summary=$(tail -n1 "$res" 2>/dev/null)
  if [[ -z $summary ]]; then
    fail "$t" "the readers printed nothing: $(head -c 300 "$OUT/logs/fs-restart-readers.err" 2>/dev/null)"
  elif ! python3 -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(not (r["reads"] > 0 and not r["errors"] and r["wrong"] == 0 and r["slow"] == 0))' "$summary"; then
    fail "$t" "kernel $kver; ${steps[*]}; $summary"
  elif [[ $(wc -w <<<"$after") -ne 2 ]]; then
    fail "$t" "kernel $kver; after the restarts nestbox-fs processes are '$after' (before: '$before'), not one supervisor and one server"
  else
    pass "$t" "kernel $kver; ${steps[*]}; $summary"
  fi
  ((resend)) || skip "fs: under nestbox-fs.service, kill -9 of the server" \
    "kernel $kver has no FUSE_NOTIFY_RESEND (the supervisor kill runs on every kernel)"

  # 4. A real stop unmounts and ends inactive (not failed), nothing left running.
  local t2="fs: systemctl stop nestbox-fs unmounts after the restarts"
  systemctl stop nestbox-fs.service
  local state
  state=$(systemctl show -P ActiveState nestbox-fs.service)
  if mountpoint -q "$FS_MNT"; then
    fail "$t2" "$FS_MNT is still a mount point (unit $state)"
  elif [[ $state != inactive ]]; then
    fail "$t2" "unit ends '$state'"
  elif [[ -n $(fs_processes) ]]; then
    fail "$t2" "nestbox-fs processes left: $(fs_processes)"
  else
    pass "$t2"
  fi
  # Later checks expect the unit running.
  systemctl start nestbox-fs.service >/dev/null 2>&1
}
