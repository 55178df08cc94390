# SPDX-License-Identifier: Apache-2.0
# nestbox-cgmgr under systemd: D-Bus activation through the project's own
# activation file, its delegated unit cgroup, and where the daemon lives (sourced).

CGM_NAME=org.nestbox.CgroupManager1
CGM_PATH=/org/nestbox/CgroupManager1

cgm_prop() {  # cgm_prop PROPERTY -> value (busctl's "s \"...\"" / "as N ..." form)
  busctl --system get-property "$CGM_NAME" "$CGM_PATH" "$CGM_NAME" "$1"
}
unquote() { sed -E 's/^s "(.*)"$/\1/'; }

check_cgmgr_activation() {
  local t="cgmgr: D-Bus activation starts nestbox-cgmgr.service"
  if ! systemctl cat nestbox-cgmgr.service >/dev/null 2>&1 ||
     ! [[ -f /usr/local/share/dbus-1/system-services/$CGM_NAME.service ||
          -f /usr/share/dbus-1/system-services/$CGM_NAME.service ]]; then
    fail "$t" "unit or activation file not installed (see install results)"
    return
  fi
  if systemctl is-active --quiet nestbox-cgmgr.service; then
    fail "$t" "nestbox-cgmgr.service already active before any call (activation not exercised)"
    return
  fi
  local version
  if ! version=$(timeout 120 busctl --system --timeout=90 get-property "$CGM_NAME" "$CGM_PATH" "$CGM_NAME" Version 2>&1); then
    fail "$t" "first call failed: $version; unit: $(systemctl is-active nestbox-cgmgr.service)"
    journalctl -u nestbox-cgmgr.service --no-pager >"$OUT/logs/cgmgr-journal.txt" 2>&1
    return
  fi
  if ! systemctl is-active --quiet nestbox-cgmgr.service; then
    fail "$t" "the call was answered but nestbox-cgmgr.service is $(systemctl is-active nestbox-cgmgr.service)"
    return
  fi
  pass "$t" "Version $version"

  local main owner
  main=$(systemctl show -P MainPID nestbox-cgmgr.service)
  owner=$(busctl --system status "$CGM_NAME" 2>/dev/null | sed -n 's/^PID=//p')
  check "cgmgr: the unit's main process owns $CGM_NAME" "MainPID $main, name owner pid ${owner:-?}" \
    test -n "$owner" -a "$main" = "$owner"

  local root unit_cg
  root=$(cgm_prop Root | unquote)
  unit_cg=$(systemctl show -P ControlGroup nestbox-cgmgr.service)
  check "cgmgr: Root is the unit's delegated cgroup" "Root '$root', unit cgroup '$unit_cg'" \
    test -n "$root" -a "$root" = "$unit_cg"
  check "cgmgr: unit has Delegate=yes" "Delegate=$(systemctl show -P Delegate nestbox-cgmgr.service)" \
    test "$(systemctl show -P Delegate nestbox-cgmgr.service)" = yes
  local own_cg
  own_cg=$(sed -n 's/^0:://p' "/proc/$main/cgroup" 2>/dev/null)
  check "cgmgr: daemon lives in <Root>/supervisor" "daemon in '$own_cg', Root '$root'" \
    test "$own_cg" = "$root/supervisor"
  local layout
  layout=$(cgm_prop Layout | unquote)
  check "cgmgr: Layout is unified" "Layout '$layout'" test "$layout" = unified
  # Every controller the daemon advertises must really be available at its Root.
  local ctrls avail c bad=""
  ctrls=$(cgm_prop Controllers | sed -E 's/^as [0-9]+ //; s/"//g')
  avail=$(cat "/sys/fs/cgroup$root/cgroup.controllers" 2>/dev/null)
  for c in $ctrls; do [[ " $avail " == *" $c "* ]] || bad+=" $c"; done
  check "cgmgr: Controllers are available at Root" "advertised '$ctrls', Root has '$avail'" \
    test -n "$ctrls" -a -z "$bad"
}
