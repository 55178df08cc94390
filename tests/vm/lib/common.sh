# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the VM tier scripts (sourced, not executed).

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }

# Debian codename of this host; the guest uses the same release.
vm_codename() {
  . /etc/os-release
  printf '%s\n' "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
}

# The mirror this machine's apt already uses for the main archive of $1 (codename).
# Read from the sources files rather than hard-coded so the tier works behind
# whatever mirror or proxy the host is configured for.
vm_mirror() {
  local codename=$1 f uri
  # deb822 stanzas (*.sources): a stanza whose Suites lists the codename itself.
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    uri=$(awk -v cn="$codename" '
      BEGIN { RS=""; FS="\n" }
      {
        types=""; uris=""; suites=""; enabled="yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (match(line, /^Types:[ \t]*/)) types = substr(line, RLENGTH + 1)
          else if (match(line, /^URIs:[ \t]*/)) uris = substr(line, RLENGTH + 1)
          else if (match(line, /^Suites:[ \t]*/)) suites = substr(line, RLENGTH + 1)
          else if (match(line, /^Enabled:[ \t]*/)) enabled = substr(line, RLENGTH + 1)
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        if ((" " suites " ") ~ (" " cn " ")) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f")
    [[ -n $uri ]] && { printf '%s\n' "$uri"; return 0; }
  done
  # One-line format: deb [options] URI codename components...
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    uri=$(awk -v cn="$codename" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == cn) { print $i; exit }
      }' "$f")
    [[ -n $uri ]] && { printf '%s\n' "$uri"; return 0; }
  done
  return 1
}

# Installs the host packages the tier needs, only those missing (idempotent).
vm_host_deps() {
  local pkgs=(qemu-system-x86 debootstrap busybox-static e2fsprogs cpio kmod xz-utils jq
              util-linux coreutils)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || vm_die "host packages missing (${missing[*]}) and not root to install them"
  vm_log "installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    vm_die "apt-get install ${missing[*]} failed"
}
