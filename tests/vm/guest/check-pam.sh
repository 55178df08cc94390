# SPDX-License-Identifier: Apache-2.0
# pam_nestbox through a real login under systemd: the module and its
# pam-auth-update profile as installed, enabled the Debian way, then
# `su - vmuser`: the login's shell must live in a session cgroup inside the
# user's delegation, owned by the user, gone after the login (sourced).

check_pam_login() {
  local module="" dir
  for dir in /usr/lib/x86_64-linux-gnu/security /lib/x86_64-linux-gnu/security; do
    [[ -f $dir/pam_nestbox.so ]] && { module=$dir/pam_nestbox.so; break; }
  done
  if [[ -z $module || ! -f /usr/share/pam-configs/nestbox ]]; then
    fail "pam: module and pam-auth-update profile installed" \
      "module '${module:-missing}', profile $(ls /usr/share/pam-configs/nestbox 2>&1)"
    return
  fi
  pass "pam: module and pam-auth-update profile installed" "$module"
  if ! DEBIAN_FRONTEND=noninteractive pam-auth-update --enable nestbox >"$OUT/logs/pam-auth-update.txt" 2>&1 ||
     ! grep -q pam_nestbox.so /etc/pam.d/common-session; then
    fail "pam: pam-auth-update --enable nestbox" "common-session: $(grep -c pam_nestbox /etc/pam.d/common-session) lines"
    return
  fi
  pass "pam: pam-auth-update --enable nestbox adds it to common-session"

  local root out session
  root=$(cgm_prop Root | unquote)
  out=$(timeout 120 su - "$VMUSER" -c 'sed -n "s/^0:://p" /proc/self/cgroup; stat -c owner=%u "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)"' 2>&1)
  session=$(head -n1 <<<"$out")
  echo "$out" >"$OUT/logs/pam-login.txt"
  check "pam: su - $VMUSER runs in a session cgroup of the user's delegation" "the login's cgroup: $out" \
    test "${session%/session-*}" = "$root/user-$VMUID"
  check "pam: the session cgroup is the user's" "$out" grep -qx "owner=$VMUID" <<<"$out"
  check "pam: the session cgroup goes with the login" "$session still exists" \
    wait_for 60 test ! -d "/sys/fs/cgroup$session"
  journalctl -b --no-pager -t su -t nestbox-cgmgr >"$OUT/logs/pam-journal.txt" 2>&1

  # Back as it was: the later checks log in with runuser, which reads common-session too.
  DEBIAN_FRONTEND=noninteractive pam-auth-update --disable nestbox >>"$OUT/logs/pam-auth-update.txt" 2>&1
  check "pam: pam-auth-update --disable nestbox removes it" "still in common-session" \
    bash -c '! grep -q pam_nestbox.so /etc/pam.d/common-session'
}
