# SPDX-License-Identifier: Apache-2.0
# Installs the project the way a package does: the tree `cmake --install` laid
# out for the build (staged on the host) goes to /, then every unit, bus file and
# program it names is checked (sourced). Each piece is a result: a missing file
# or program is a FAIL naming what is missing.

# built_program NAME: the executable NAME in the build tree (not under CMakeFiles).
built_program() {
  find "$BUILD" -path '*/CMakeFiles' -prune -o -path "$BUILD/vm-tier" -prune -o \
    -type f -name "$1" -perm -u+x -print 2>/dev/null | head -n1
}

# check_program PATH: an installed program that runs in the guest (every shared
# library it needs exists in the guest image).
check_program() {
  local path=$1 missing
  if [[ ! -x $path ]]; then
    fail "install: $(basename "$path")" "$path is not installed"
    return 1
  fi
  missing=$(ldd "$path" 2>&1 | awk '/not found/ { print $1 }' | paste -sd' ')
  if [[ -n $missing ]]; then
    fail "install: $(basename "$path")" "libraries missing in the guest: $missing"
    return 1
  fi
  pass "install: $(basename "$path") at $path"
}

# Program paths named by a unit (ExecStart=) or an activation file (Exec=).
exec_paths() {
  sed -n -E 's/^(ExecStart|ExecStartPre|Exec)=[-@:+!]*([^ ]+).*/\2/p' "$1" | grep '/nestbox-' || true
}

# install_nestbox [UNIT...]: what `cmake --install` of the build tree laid out
# (staged on the host, NESTBOX_VM_STAGE) copied to /, as a package would be;
# then each given unit (default: nestbox-cgmgr.service and nestbox-fs.service)
# must be where systemd finds it, name installed programs, and pass
# systemd-analyze verify.
install_nestbox() {
  local f p unit dir out
  local -a units=("$@")
  ((${#units[@]})) || units=(nestbox-cgmgr.service nestbox-fs.service)
  if [[ -z ${NESTBOX_VM_STAGE:-} || ! -d $NESTBOX_VM_STAGE ]]; then
    fail "install: cmake --install" "no staged install tree (${NESTBOX_VM_STAGE:-unset})"
    return 1
  fi
  if cp -a --no-preserve=ownership "$NESTBOX_VM_STAGE"/. /; then
    pass "install: cmake --install tree copied to / ($(cd "$NESTBOX_VM_STAGE" && find . -type f | wc -l) files)"
  else
    fail "install: cmake --install" "copying $NESTBOX_VM_STAGE to / failed"
    return 1
  fi
  declare -A programs=()
  for unit in "${units[@]}"; do
    f=
    for dir in /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
      [[ -f $dir/$unit ]] && { f=$dir/$unit; break; }
    done
    if [[ -z $f ]]; then
      fail "install: $unit" "not installed where systemd reads units"
      continue
    fi
    for p in $(exec_paths "$f"); do programs[$p]=1; done
    if out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$f" 2>&1) && [[ -z $out ]]; then
      pass "install: systemd-analyze verify $unit"
    else
      fail "install: systemd-analyze verify $unit" "$out"
    fi
  done
  if [[ " ${units[*]} " == *" nestbox-cgmgr.service "* ]]; then
    programs[/usr/local/bin/nestbox-run]=1
    programs[/usr/local/libexec/nestbox/nestbox-init]=1
    for f in /etc/dbus-1/system.d/org.nestbox.CgroupManager1.conf /usr/share/dbus-1/system.d/org.nestbox.CgroupManager1.conf; do
      [[ -f $f ]] && break
    done
    if [[ -f $f ]]; then pass "install: bus policy at $f"
    else fail "install: bus policy" "org.nestbox.CgroupManager1.conf is not where the system bus reads policies"; fi
    f=
    for dir in /usr/local/share/dbus-1/system-services /usr/share/dbus-1/system-services; do
      [[ -f $dir/org.nestbox.CgroupManager1.service ]] && { f=$dir/org.nestbox.CgroupManager1.service; break; }
    done
    if [[ -n $f ]]; then
      pass "install: bus activation file at $f"
      for p in $(exec_paths "$f"); do programs[$p]=1; done
    else
      fail "install: bus activation file" "org.nestbox.CgroupManager1.service is not where the system bus reads it"
    fi
  fi
  for p in "${!programs[@]}"; do check_program "$p"; done
  # The policy an administrator would write: the unprivileged guest user gets a
  # delegation with a memory ceiling (the checks compare it with systemd's).
  mkdir -p /etc/nestbox
  cat >/etc/nestbox/cgmgr.toml <<EOF
[defaults]
max_cgroups = 64
max_depth = 8

[user.$VMUSER]
[user.$VMUSER.limits]
"memory.max" = "1G"
"pids.max" = 1024
EOF
  systemctl daemon-reload
  # The bus daemon reads policy and activation files on reload.
  busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig \
    >/dev/null 2>&1 || systemctl reload dbus
}
