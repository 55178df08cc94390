# SPDX-License-Identifier: Apache-2.0
# Installs the project's systemd units, D-Bus policy/activation files and the
# programs they name from the shared source and build trees (sourced). Each piece
# is a result: a missing file or program is a FAIL naming what is missing.

# built_program NAME: the executable NAME in the build tree (not under CMakeFiles).
built_program() {
  find "$BUILD" -path '*/CMakeFiles' -prune -o -path "$BUILD/vm-tier" -prune -o \
    -type f -name "$1" -perm -u+x -print 2>/dev/null | head -n1
}

# install_file SRC DEST_DIR: records install:<basename>.
install_file() {
  local from=$1 dir=$2 name
  name=$(basename "$from")
  if [[ ! -f $from ]]; then
    fail "install: $name" "missing from the source tree: ${from#"$SRC"/}"
    return 1
  fi
  mkdir -p "$dir" && install -m 0644 "$from" "$dir/$name" && pass "install: $name -> $dir"
}

# install_program DEST_PATH: copies the built program named like DEST_PATH's basename.
install_program() {
  local dest=$1 name bin
  name=$(basename "$dest")
  bin=$(built_program "$name")
  if [[ -z $bin ]]; then
    fail "install: $name" "not built in $BUILD"
    return 1
  fi
  mkdir -p "$(dirname "$dest")" && install -m 0755 "$bin" "$dest" || { fail "install: $name" "copy failed"; return 1; }
  # Every shared library the program needs must exist in the guest image.
  local missing
  missing=$(ldd "$dest" 2>&1 | awk '/not found/ { print $1 }' | paste -sd' ')
  if [[ -n $missing ]]; then
    fail "install: $name" "libraries missing in the guest: $missing"
    return 1
  fi
  pass "install: $name -> $dest"
}

# Program paths named by a unit (ExecStart=) or an activation file (Exec=).
exec_paths() {
  sed -n -E 's/^(ExecStart|ExecStartPre|Exec)=[-@:+!]*([^ ]+).*/\2/p' "$1" | grep '/nestbox-' || true
}

# install_nestbox [UNIT...]: the given units (default: nestbox-cgmgr.service and
# nestbox-fs.service) and what they run; with nestbox-cgmgr.service also its bus
# files and the launcher (nestbox-run, nestbox-init).
install_nestbox() {
  local f p unit
  local -a units=("$@")
  ((${#units[@]})) || units=(nestbox-cgmgr.service nestbox-fs.service)
  declare -A programs=()
  for unit in "${units[@]}"; do
    f=$SRC/systemd/$unit
    install_file "$f" /etc/systemd/system || continue
    for p in $(exec_paths "$f"); do programs[$p]=1; done
  done
  if [[ " ${units[*]} " == *" nestbox-cgmgr.service "* ]]; then
    programs[/usr/local/bin/nestbox-run]=1
    programs[/usr/local/bin/nestbox-init]=1
    install_file "$SRC/dbus/org.nestbox.CgroupManager1.conf" /usr/share/dbus-1/system.d
    f=$SRC/dbus/org.nestbox.CgroupManager1.service
    if install_file "$f" /usr/share/dbus-1/system-services; then
      for p in $(exec_paths "$f"); do programs[$p]=1; done
    fi
  fi
  for p in "${!programs[@]}"; do install_program "$p"; done
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
