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

# install_nestbox [UNIT...]: the project's Debian package (built on the host
# with `cmake --build BUILD --target package`, NESTBOX_VM_DEB) installed with
# dpkg, as an administrator would; its postinst must have started both units.
# Then each given unit (default: nestbox-cgmgr.service, nestbox-fs.service and
# nestbox-fs-tree.service)
# must be where systemd finds it, name installed programs, and pass
# systemd-analyze verify. The units are stopped again so that the checks
# after this one see D-Bus activation and a first start.
install_nestbox() {
  local f p unit dir out
  local -a units=("$@")
  ((${#units[@]})) || units=(nestbox-cgmgr.service nestbox-fs.service nestbox-fs-tree.service)
  if [[ -z ${NESTBOX_VM_DEB:-} || ! -f $NESTBOX_VM_DEB ]]; then
    fail "install: the .deb" "no package built on the host (${NESTBOX_VM_DEB:-unset})"
    return 1
  fi
  write_cgmgr_policy
  if out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$NESTBOX_VM_DEB" 2>&1); then
    pass "install: dpkg -i $(basename "$NESTBOX_VM_DEB")" "$(dpkg-query -W -f='${Version}' nestbox 2>/dev/null)"
  else
    echo "$out" >"$OUT/logs/dpkg-install.txt"
    fail "install: dpkg -i $(basename "$NESTBOX_VM_DEB")" "$(tail -n 4 <<<"$out" | paste -sd' ')"
    return 1
  fi
  local inactive=""
  local shipped=(nestbox-fs.service nestbox-fs-tree.service nestbox-cgmgr.service) enabled=""
  for unit in "${shipped[@]}"; do
    wait_for 60 systemctl is-active -q "$unit" || inactive+=" $unit:$(systemctl is-active "$unit")"
    systemctl is-enabled -q "$unit" || enabled+=" $unit:$(systemctl is-enabled "$unit")"
  done
  check "install: the package's postinst started nestbox-fs, nestbox-fs-tree and nestbox-cgmgr" \
    "not active:$inactive" test -z "$inactive"
  check "install: the package enabled the three units" "not enabled:$enabled" test -z "$enabled"
  systemctl stop "${shipped[@]}" >/dev/null 2>&1
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
    programs[/usr/bin/nestbox-run]=1
    programs[/usr/libexec/nestbox/nestbox-init]=1
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
  systemctl daemon-reload
  # The bus daemon reads policy and activation files on reload.
  busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig \
    >/dev/null 2>&1 || systemctl reload dbus
}

# The policy an administrator would write before installing: the unprivileged
# guest user gets a delegation with a memory ceiling (the checks compare it
# with systemd's).
write_cgmgr_policy() {
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
}
