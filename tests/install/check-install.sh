#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install BUILD --prefix P` into a DESTDIR, for the prefixes packagers
# and administrators use (/usr and /usr/local), checked file by file: every
# program, unit, bus file, hook and document is where that prefix's host looks
# for it, every path a unit or activation file names is an installed program,
# and systemd-analyze verify accepts the installed units.
# Usage: check-install.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: check-install.sh BUILD_DIR}
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_scratch install; stage=$scratch

# Program paths named by a unit (ExecStart=) or an activation file (Exec=).
exec_paths() {
  sed -n -E 's/^(ExecStart|ExecStartPre|ExecReload|Exec)=[-@:+!]*([^ ]+).*/\2/p' "$1" | grep '/nestbox' || true
}

check_prefix() {
  local prefix=$1 root=$stage/${1//\//_} policy_dir f p
  local hooks_dir
  if [[ $prefix == /usr ]]; then policy_dir=/usr/share/dbus-1/system.d; hooks_dir=/usr/share/containers/oci/hooks.d
  else policy_dir=/etc/dbus-1/system.d; hooks_dir=/etc/containers/oci/hooks.d; fi
  if ! DESTDIR=$root cmake --install "$build" --prefix "$prefix" >"$root.log" 2>&1; then
    fail "prefix $prefix: cmake --install failed: $(tail -n 3 "$root.log")"
    return
  fi
  # 1. Each file where that prefix's host reads it (the system bus reads
  #    policies only from /usr/share and /etc; systemd reads units below both
  #    prefixes; bus activation files below both).
  local -A want=(
    ["$prefix/bin/nestbox-fs"]=x
    ["$prefix/bin/nestbox-run"]=x
    ["$prefix/libexec/nestbox/nestbox-cgmgr"]=x
    ["$prefix/libexec/nestbox/nestbox-init"]=x
    ["$prefix/libexec/nestbox/nestbox-oci-hook"]=x
    ["$prefix/share/nestbox/lxc-mount-hook"]=x
    ["$hooks_dir/nestbox-fs.json"]=f
    ["$prefix/lib/systemd/system/nestbox-fs.service"]=f
    ["$prefix/lib/systemd/system/nestbox-fs-tree.service"]=f
    ["$prefix/lib/systemd/system/nestbox-cgmgr.service"]=f
    ["$policy_dir/org.nestbox.CgroupManager1.conf"]=f
    ["$prefix/share/dbus-1/system-services/org.nestbox.CgroupManager1.service"]=f
    ["$prefix/share/doc/nestbox/README.md"]=f
    ["$prefix/share/doc/nestbox/LICENSE"]=f
    ["$prefix/share/doc/nestbox/CHANGELOG.md"]=f
    ["$prefix/share/doc/nestbox/examples/cgmgr.toml.example"]=f
    ["$prefix/share/man/man1/nestbox-run.1"]=f
    ["$prefix/share/man/man8/nestbox-fs.8"]=f
    ["$prefix/share/man/man8/nestbox-cgmgr.8"]=f
    ["$prefix/share/man/man8/nestbox-oci-hook.8"]=f
    ["$prefix/share/bash-completion/completions/nestbox-run"]=f
    ["$prefix/share/bash-completion/completions/nestbox-fs"]=f
  )
  # The PAM module and its pam-auth-update profile (when built) go where libpam
  # and pam-auth-update look, whatever the prefix.
  if [[ -f $build/pam/pam_nestbox.so ]]; then
    local pam_dir
    pam_dir=$(pkg-config --variable=libdir pam)
    [[ $pam_dir == /lib* && -L /lib ]] && pam_dir=/usr$pam_dir  # merged /usr: the same directory
    want["$pam_dir/security/pam_nestbox.so"]=f
    want["/usr/share/pam-configs/nestbox"]=f
  fi
  for f in "${!want[@]}"; do
    if [[ ${want[$f]} == x && ! -x $root$f ]]; then fail "prefix $prefix: $f missing or not executable"
    elif [[ ! -f $root$f ]]; then fail "prefix $prefix: $f missing"
    else pass "prefix $prefix: $f"; fi
  done
  # Nothing else: a file the list does not know is one no host reads.
  while IFS= read -r f; do
    [[ -n ${want[$f]:-} ]] || fail "prefix $prefix: unexpected file $f"
  done < <(cd "$root" && find . -type f -o -type l | sed 's|^\.||')
  # 2. Units and the activation file name the programs this prefix installed,
  #    and their documentation exists.
  for f in "$root$prefix"/lib/systemd/system/*.service \
           "$root$prefix/share/dbus-1/system-services/org.nestbox.CgroupManager1.service"; do
    [[ -f $f ]] || continue
    for p in $(exec_paths "$f"); do
      if [[ -x $root$p ]]; then pass "prefix $prefix: $(basename "$f") runs $p"
      else fail "prefix $prefix: $(basename "$f") names $p, which is not installed"; fi
    done
    p=$(sed -n 's|^Documentation=file:/*|/|p' "$f")
    if [[ -n $p && ! -f $root$p ]]; then fail "prefix $prefix: $(basename "$f") documents $p, which is not installed"; fi
  done
  #    The hooks.d file and the LXC hook run the hook this prefix installed.
  local hook_json=$root$hooks_dir/nestbox-fs.json lxc_hook=$root$prefix/share/nestbox/lxc-mount-hook
  for p in "$(jq -r .hook.path "$hook_json" 2>/dev/null)" "$(sed -n -E 's/^exec "([^"]+)".*/\1/p' "$lxc_hook" 2>/dev/null)"; do
    if [[ -n $p && -x $root$p ]]; then pass "prefix $prefix: a hook file runs $p"
    else fail "prefix $prefix: a hook file names '$p', which is not installed"; fi
  done
  # 3. systemd's own check of the installed units, against the installed tree.
  if ! command -v systemd-analyze >/dev/null; then
    fail "systemd-analyze is not installed (package systemd): units not verified"
  else
    # The installed tree plus what a host provides the units: its own units
    # (sysinit.target, dbus.socket, ...) and the commands they run besides ours.
    local out vroot=$root.verify cmd
    cp -a "$root" "$vroot"
    mkdir -p "$vroot/usr/lib/systemd/system" "$vroot/usr/bin"
    find /usr/lib/systemd/system -maxdepth 1 -type f -exec cp -n -t "$vroot/usr/lib/systemd/system" {} +
    for cmd in mkdir kill; do cp -n "$(type -P "$cmd")" "$vroot/usr/bin/"; done
    [[ -e $vroot/bin ]] || ln -s usr/bin "$vroot/bin"
    if out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --root="$vroot" \
               "$vroot$prefix"/lib/systemd/system/nestbox-*.service 2>&1) && [[ -z $out ]]; then
      pass "prefix $prefix: systemd-analyze verify"
    else
      fail "prefix $prefix: systemd-analyze verify: $out"
    fi
  fi
}

# The manual pages say what --help says (they are generated from it) and
# render; the completion offers what --help lists.
check_docs() {
  local root=$stage/_usr entry prog page opts reply o
  for entry in bin/nestbox-run:man1/nestbox-run.1 bin/nestbox-fs:man8/nestbox-fs.8 \
               libexec/nestbox/nestbox-cgmgr:man8/nestbox-cgmgr.8 \
               libexec/nestbox/nestbox-oci-hook:man8/nestbox-oci-hook.8; do
    prog=$root/usr/${entry%%:*}
    page=$root/usr/share/man/${entry#*:}
    [[ -f $page && -x $prog ]] || continue
    local text missing=()
    text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
    opts=$(ASAN_OPTIONS=detect_leaks=0 "$prog" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
    [[ -n $opts ]] || { fail "$(basename "$prog") --help lists no option"; continue; }
    for o in $opts; do grep -q -- "$o" <<<"$text" || missing+=("$o"); done
    if ((${#missing[@]})); then fail "man page $(basename "$page") lacks ${missing[*]}"
    else pass "man page $(basename "$page") renders every option of --help ($(wc -w <<<"$opts"))"; fi
  done
  local comp=$root/usr/share/bash-completion/completions/nestbox-run
  [[ -f $comp ]] || return
  reply=$(ASAN_OPTIONS=detect_leaks=0 bash -c '. "$1"
    COMP_WORDS=("$2" --mem); COMP_CWORD=1; _nestbox; echo "${COMPREPLY[*]}"
    COMP_WORDS=("$2" ex); COMP_CWORD=1; _nestbox; echo "${COMPREPLY[*]}"' _ "$comp" "$root/usr/bin/nestbox-run")
  if [[ $reply == $'--memory\nexec' ]]; then pass "bash completion: nestbox-run --mem -> --memory, ex -> exec"
  else fail "bash completion for nestbox-run offered: $reply"; fi
}

check_prefix /usr
check_prefix /usr/local
check_docs
if ((failures)); then
  echo "check-install: $failures failure(s)"
  exit 1
fi
echo "check-install: every file in place for /usr and /usr/local"
