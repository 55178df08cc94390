# SPDX-License-Identifier: Apache-2.0
# Side by side: the subtree systemd hands the user for
# `systemd-run --user --scope -p Delegate=yes` versus the one nestbox-cgmgr's
# RequestUserDelegation hands the same user. Both must follow the kernel's
# cgroup v2 delegation model; differences are reported (sourced).

# The files cgroup-v2.rst says a delegatee must own in its subtree root.
DELEGATED_FILES="cgroup.procs cgroup.subtree_control cgroup.threads"

# describe_subtree CGROUP -> "key=value" lines: owner, owners of the delegated
# files, controllers available, and whether the user can create a child.
describe_subtree() {
  local dir=/sys/fs/cgroup$1 f
  echo "owner=$(stat -c %u "$dir")"
  for f in $DELEGATED_FILES; do echo "file.$f=$(stat -c %u "$dir/$f" 2>/dev/null || echo missing)"; done
  echo "controllers=$(tr ' ' '\n' <"$dir/cgroup.controllers" | sort | paste -sd' ')"
  local probe="$dir/nbx-probe-$$"
  if runuser -u "$VMUSER" -- mkdir "$probe" 2>/dev/null; then
    echo "user_mkdir=yes"
    rmdir "$probe"
  else
    echo "user_mkdir=no"
  fi
}

kv() { sed -n "s/^$1=//p" <<<"$2"; }

check_delegation_compare() {
  # ---- systemd's delegation ----
  local script=/tmp/nbx-scope.sh ready=/tmp/nbx-scope.cgroup
  printf '#!/bin/sh\nsed -n "s/^0:://p" /proc/self/cgroup >"$1.tmp" && mv "$1.tmp" "$1"\nexec sleep 600\n' >"$script"
  chmod 755 "$script"
  rm -f "$ready"
  as_user systemd-run --user --quiet --scope -p Delegate=yes --unit=nbx-compare "$script" "$ready" \
    >/dev/null 2>&1 </dev/null &
  local scope_pid=$!
  if ! wait_for 60 test -s "$ready"; then
    fail "delegation: systemd --user scope with Delegate=yes" "scope did not start"
    kill "$scope_pid" 2>/dev/null
    return
  fi
  local sd_cg sd
  sd_cg=$(cat "$ready")
  sd=$(describe_subtree "$sd_cg")
  check "delegation: systemd scope is owned by $VMUSER" "$sd_cg: $(kv owner "$sd")" test "$(kv owner "$sd")" = "$VMUID"
  local f bad=""
  for f in $DELEGATED_FILES; do [[ $(kv "file.$f" "$sd") == "$VMUID" ]] || bad+=" $f"; done
  check "delegation: systemd scope delegates $DELEGATED_FILES" "not owned by $VMUSER:$bad" test -z "$bad"
  check "delegation: user can create cgroups in the systemd scope" "mkdir as $VMUSER failed" \
    test "$(kv user_mkdir "$sd")" = yes
  echo "systemd scope $sd_cg" >"$OUT/logs/delegation-compare.txt"
  echo "$sd" >>"$OUT/logs/delegation-compare.txt"
  as_user systemctl --user stop nbx-compare.scope >/dev/null 2>&1
  kill "$scope_pid" 2>/dev/null
  wait "$scope_pid" 2>/dev/null

  # ---- nestbox-cgmgr's delegation ----
  local t="delegation: RequestUserDelegation as $VMUSER"
  local reply cg
  if ! reply=$(as_user busctl --system --timeout=60 call "$CGM_NAME" "$CGM_PATH" "$CGM_NAME" RequestUserDelegation 2>&1); then
    fail "$t" "call failed: $reply"
    return
  fi
  cg=$(sed -E 's/^s "(.*)"$/\1/' <<<"$reply")
  if [[ ! -d /sys/fs/cgroup$cg ]]; then
    fail "$t" "returned '$reply', not an existing cgroup"
    return
  fi
  pass "$t" "$cg"
  local nb
  nb=$(describe_subtree "$cg")
  { echo "cgmgr subtree $cg"; echo "$nb"; } >>"$OUT/logs/delegation-compare.txt"
  local key
  for key in owner $(for f in $DELEGATED_FILES; do echo "file.$f"; done) user_mkdir; do
    check "delegation: cgmgr matches systemd on $key" "systemd '$(kv "$key" "$sd")', cgmgr '$(kv "$key" "$nb")'" \
      test "$(kv "$key" "$sd")" = "$(kv "$key" "$nb")"
  done
  # Controllers: cgmgr must offer at least what systemd's scope offers.
  local c lacking="" sd_c nb_c
  sd_c=$(kv controllers "$sd") nb_c=$(kv controllers "$nb")
  for c in $sd_c; do [[ " $nb_c " == *" $c "* ]] || lacking+=" $c"; done
  check "delegation: cgmgr offers the controllers systemd delegates" \
    "systemd '$sd_c', cgmgr '$nb_c', lacking:$lacking" test -z "$lacking"
}
