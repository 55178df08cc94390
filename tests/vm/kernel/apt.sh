# SPDX-License-Identifier: Apache-2.0
# A private apt for fetching a guest kernel from another suite (sourced). It has
# its own sources list, package lists, cache and (empty) dpkg status under DIR;
# the host's /etc/apt sources, lists and status are never read or changed (its
# apt.conf.d still applies, so a configured proxy is used).

# vm_kapt_init DIR MIRROR SUITE: prepares DIR; afterwards "${vm_kapt[@]}" are the
# -o options to give apt-get and apt-cache.
vm_kapt_init() {
  local dir=$1 mirror=$2 suite=$3
  mkdir -p "$dir/etc/sources.list.d" "$dir/etc/preferences.d" "$dir/lists/partial" \
    "$dir/cache/archives/partial"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$mirror" "$suite" >"$dir/etc/sources.list"
  [[ -f $dir/status ]] || : >"$dir/status"
  vm_kapt=(
    -o "Dir::Etc::SourceList=$dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$dir/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$dir/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$dir/etc/preferences.d"
    -o "Dir::State::Lists=$dir/lists"
    -o "Dir::State::status=$dir/status"
    -o "Dir::Cache=$dir/cache"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures::=amd64"
    -o "Acquire::Languages=none"
    -o "APT::Sandbox::User=root"
  )
}

# vm_kapt_update: refreshes the private lists (stale ones stay usable if this fails).
vm_kapt_update() {
  apt-get -q "${vm_kapt[@]}" update 2>&1
}

# vm_kapt_kernel_package: the versioned kernel package the suite's
# linux-image-amd64 metapackage depends on, e.g. linux-image-6.12.57+deb12-amd64.
vm_kapt_kernel_package() {
  apt-cache "${vm_kapt[@]}" depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# vm_kapt_version PKG: the candidate version of PKG in the private lists.
vm_kapt_version() {
  apt-cache "${vm_kapt[@]}" policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)'
}

# vm_kapt_download PKG DIR: fetches PKG's .deb into DIR (prints apt's output on failure).
vm_kapt_download() {
  local pkg=$1 dir=$2 log
  log=$(cd "$dir" && apt-get -q "${vm_kapt[@]}" download "$pkg" 2>&1) || { printf '%s\n' "$log" >&2; return 1; }
}

# vm_kernel_host_deps: what build-kernel.sh needs beyond vm_host_deps (Debian's
# kernels since 6.2 compress their payload with zstd).
vm_kernel_host_deps() {
  dpkg-query -W -f='${Status}' zstd 2>/dev/null | grep -q "install ok installed" && return 0
  vm_log "installing host packages: zstd"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zstd >/dev/null ||
    vm_die "apt-get install zstd failed"
}
