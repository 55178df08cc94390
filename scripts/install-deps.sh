#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package nestbox needs to build, test, benchmark and demo.
# Idempotent; run as root. Nothing is downloaded from outside Debian's archive.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: run as root (apt-get needs it)" >&2
  exit 1
fi

packages=(
  # toolchain
  build-essential cmake pkg-config ninja-build
  # libraries nestbox links
  libfuse3-dev fuse3
  libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev
  libcap-dev libseccomp-dev
  libspdlog-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (fuzz/, scripts/fuzz.sh): clang and its libFuzzer/sanitizer runtimes
  clang libclang-rt-14-dev
  # manual pages generated from --help (doc/), bash completion they are checked with
  help2man bash-completion
  # the PAM session module (pam/)
  libpam0g-dev
  # runtime pieces the tests and the demo use
  uidmap dbus dbus-daemon systemd procps util-linux passwd bsdutils iproute2 busybox-static
  # real clients the tests run inside containers
  htop tmux sysstat python3 default-jre-headless openjdk-17-jdk-headless
  # other runtimes the delegation, the OCI hook and the LXC hook are tried with
  lxc podman catatonit
  # the kube play check of deploy/kubernetes reads the manifests
  python3-yaml
  # peers measured side by side in bench/
  lxcfs bubblewrap hyperfine runc
  # the pure cgroup v2 VM test tier (tests/vm)
  qemu-system-x86 debootstrap cpio kmod xz-utils jq e2fsprogs
)

export DEBIAN_FRONTEND=noninteractive
# Packages such as lxcfs ship a service; on a machine without systemd we do not
# want apt to start a second FUSE daemon behind our back, so forbid service starts
# for the duration of the install only.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} packages present"
