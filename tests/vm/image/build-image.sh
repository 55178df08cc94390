#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the nestbox test VM image into OUT_DIR (which must not exist yet):
#   vmlinux     uncompressed Debian kernel (boots directly via PVH, skipping
#               decompression, which is slow under TCG)
#   initrd.img  busybox + the modules needed to mount the root disk
#   rootfs.img  ext4 Debian minbase with systemd, dbus and nestbox's runtime libs
# Usage: build-image.sh OUT_DIR   (root; called by run-vm-tests.sh under its lock)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"

out=${1:?usage: build-image.sh OUT_DIR}
[[ $(id -u) -eq 0 ]] || vm_die "building the image needs root (debootstrap)"
[[ ! -e $out ]] || vm_die "$out already exists"

work=$(mktemp -d "${out%/}.build.XXXXXX")
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT

codename=$(vm_codename)
mirror=$(vm_mirror "$codename") || vm_die "no apt source for $codename found in /etc/apt"
packages=$(grep -v '^[[:space:]]*\(#\|$\)' "$here/packages.txt" | paste -sd, -)
root=$work/root

t0=$SECONDS
vm_log "debootstrap $codename from $mirror"
debootstrap --variant=minbase --include="$packages" "$codename" "$root" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; vm_die "debootstrap failed"; }
vm_log "debootstrap done in $((SECONDS - t0)) s"

# Second stage: apt in the new root for what debootstrap cannot configure.
# Services are not started (policy-rc.d), /proc is there for maintainer scripts.
late=$(grep -v '^[[:space:]]*\(#\|$\)' "$here/packages-apt.txt" | paste -sd' ' -)
if [[ -n $late ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  trap 'umount "$root/proc" 2>/dev/null; cleanup' EXIT
  chroot "$root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $late" \
    >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; vm_die "apt-get install in the guest root failed"; }
  umount "$root/proc"
  trap cleanup EXIT
  rm -f "$root/usr/sbin/policy-rc.d"
  vm_log "apt stage done in $((SECONDS - t0)) s: $late"
fi

# ---- kernel and modules --------------------------------------------------------
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[[ -n $kpkg ]] || vm_die "cannot resolve linux-image-amd64"
(cd "$work" && apt-get download "$kpkg" >/dev/null 2>&1) || vm_die "apt-get download $kpkg failed"
dpkg -x "$work"/linux-image-*.deb "$work/kernel"
kver=${kpkg#linux-image-}
kmods=$work/kernel/lib/modules/$kver
[[ -d $kmods ]] || vm_die "no modules for $kver in $kpkg"
depmod -b "$work/kernel" "$kver"

# The guest needs filesystems (ext4, fuse, overlay, 9p), virtio and their
# helpers; sound, most drivers and networking are left out to keep the image small.
rmods=$root/lib/modules/$kver
mkdir -p "$rmods/kernel/drivers/block" "$rmods/kernel/net"
cp -a "$kmods"/modules.order "$kmods"/modules.builtin* "$rmods/"
cp -a "$kmods/kernel/fs" "$kmods/kernel/lib" "$kmods/kernel/crypto" "$kmods/kernel/arch" "$rmods/kernel/"
cp -a "$kmods/kernel/drivers/virtio" "$rmods/kernel/drivers/"
cp -a "$kmods/kernel/drivers/block/virtio_blk.ko" "$rmods/kernel/drivers/block/"
cp -a "$kmods/kernel/net/9p" "$rmods/kernel/net/"
depmod -b "$root" "$kver"

# vmlinuz is a bzImage whose payload is an xz stream; find it and unpack the ELF.
vmlinuz=$work/kernel/boot/vmlinuz-$kver
found=0
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
  tail -c +$((off + 1)) "$vmlinuz" | xz -dc >"$work/vmlinux" 2>/dev/null || true
  if [[ $(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
    found=1
    break
  fi
done
((found)) || vm_die "could not extract vmlinux from $vmlinuz"

# ---- initramfs -----------------------------------------------------------------
ird=$work/initrd
imods=$ird/lib/modules/$kver
mkdir -p "$ird/bin" "$imods"
cp /bin/busybox "$ird/bin/busybox"
[[ $(file -b "$ird/bin/busybox" 2>/dev/null || echo static) != *dynamic* ]] || vm_die "busybox is not static"
cp "$here/init" "$ird/init"
cp -a "$kmods"/modules.order "$kmods"/modules.builtin* "$imods/"
# Copy each wanted module plus everything it depends on (from modules.dep).
declare -A want=()
add_module() {
  local name=$1 line path dep
  line=$(grep -E "(^|/)${name//_/[-_]}\.ko(\.[a-z]+)?:" "$kmods/modules.dep" | head -n1) ||
    vm_die "module $name not in modules.dep"
  path=${line%%:*}
  [[ -n ${want[$path]:-} ]] && return 0
  want[$path]=1
  for dep in ${line#*:}; do
    dep=$(basename "$dep"); dep=${dep%%.ko*}
    add_module "$dep"
  done
}
for m in virtio_pci virtio_blk crc32c_generic ext4; do add_module "$m"; done
for path in "${!want[@]}"; do
  mkdir -p "$imods/$(dirname "$path")"
  cp "$kmods/$path" "$imods/$path"
done
depmod -b "$ird" "$kver"
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$work/initrd.img"

# ---- root filesystem configuration ----------------------------------------------
cp -a "$here/rootfs/." "$root/"
echo nestbox-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 nestbox-vm\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 rw,relatime 0 1\n' >"$root/etc/fstab"
: >"$root/etc/machine-id"
chroot "$root" /bin/bash -euo pipefail -c '
  passwd -d root >/dev/null
  useradd -m -u 1000 -s /bin/bash vmuser
  grep -q "^vmuser:" /etc/subuid || echo "vmuser:100000:65536" >>/etc/subuid
  grep -q "^vmuser:" /etc/subgid || echo "vmuser:100000:65536" >>/etc/subgid
  mkdir -p /var/lib/systemd/linger
  touch /var/lib/systemd/linger/vmuser
  systemctl set-default multi-user.target >/dev/null
  systemctl enable nestbox-vm-boot.service >/dev/null 2>&1
  # Nothing on the console may compete with the test run, and nothing periodic may start.
  systemctl mask serial-getty@ttyS0.service getty@tty1.service apt-daily.timer \
    apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-timesyncd.service \
    lxc.service lxc-net.service lxc-monitord.service podman-auto-update.timer podman-restart.service \
    podman-clean-transient.service podman.socket >/dev/null 2>&1
  apt-get clean
'
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

size_mb=$(( $(du -sm "$root" | cut -f1) + 1536 ))
mkfs.ext4 -q -L nestbox-root -d "$root" "$work/rootfs.img" "${size_mb}M" ||
  vm_die "mkfs.ext4 failed"

mkdir -p "$work/final"
mv "$work/vmlinux" "$work/initrd.img" "$work/rootfs.img" "$work/final/"
echo "$kver" >"$work/final/kernel-version"
mv "$work/final" "$out"
vm_log "image built in $((SECONDS - t0)) s: $out"
