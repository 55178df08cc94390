#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds a second guest kernel for the VM tier into OUT_DIR (which must not exist
# yet), to boot with the tier's cached root disk (image/build-image.sh) unchanged:
#   vmlinux         the uncompressed kernel (PVH boot, no decompression under TCG)
#   initrd.img      busybox, the modules that mount the root disk, and the module
#                   tree the running system needs (filesystems, 9p, virtio), which
#                   the initrd's /init copies into the root disk's overlay at boot
#   kernel-version  uname -r of that kernel
# Usage: build-kernel.sh OUT_DIR KERNEL_DEB   (root; called by run-vm-tests.sh under its lock)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"

out=${1:?usage: build-kernel.sh OUT_DIR KERNEL_DEB}
deb=${2:?usage: build-kernel.sh OUT_DIR KERNEL_DEB}
[[ $(id -u) -eq 0 ]] || vm_die "building a guest kernel needs root"
[[ ! -e $out ]] || vm_die "$out already exists"
[[ -f $deb ]] || vm_die "no kernel package $deb"

work=$(mktemp -d "${out%/}.build.XXXXXX")
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
t0=$SECONDS

dpkg -x "$deb" "$work/kernel"
kmods=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)
[[ -n $kmods ]] || vm_die "no /lib/modules in $deb"
kver=$(basename "$kmods")
vmlinuz=$work/kernel/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || vm_die "no vmlinuz-$kver in $deb"

# ---- vmlinux ------------------------------------------------------------------------
# A bzImage's payload is one compressed stream (Debian: xz up to 6.1, zstd since);
# try each stream start of each known format until one unpacks to an ELF.
extract() { # MAGIC(grep -P) DECOMPRESSOR...
  local magic=$1 off
  shift
  for off in $(LC_ALL=C grep -obUaP "$magic" "$vmlinuz" | cut -d: -f1); do
    tail -c +$((off + 1)) "$vmlinuz" | "$@" >"$work/vmlinux" 2>/dev/null || true
    [[ $(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] && return 0
  done
  return 1
}
extract '\x28\xb5\x2f\xfd' zstd -dcq ||
  extract '\xfd7zXZ\x00' xz -dc ||
  extract '\x1f\x8b\x08' gzip -dc ||
  vm_die "could not extract vmlinux from $vmlinuz (no zstd, xz or gzip stream unpacks to an ELF)"
grep -q '^CONFIG_PVH=y' "$work/kernel/boot/config-$kver" ||
  vm_die "$kver is built without CONFIG_PVH: qemu cannot boot its vmlinux directly"

# ---- modules ------------------------------------------------------------------------
# The same subset the tier's own kernel gets in the root disk (filesystems, virtio,
# 9p and their helpers), kept compressed as shipped (kmod and the kernel read .ko.xz).
ird=$work/initrd
imods=$ird/lib/modules/$kver
mkdir -p "$ird/bin" "$imods/kernel/drivers/block" "$imods/kernel/net"
cp -a "$kmods"/modules.order "$kmods"/modules.builtin* "$imods/"
cp -a "$kmods/kernel/fs" "$kmods/kernel/lib" "$kmods/kernel/crypto" "$kmods/kernel/arch" "$imods/kernel/"
cp -a "$kmods/kernel/drivers/virtio" "$imods/kernel/drivers/"
cp -a "$kmods"/kernel/drivers/block/virtio_blk.ko* "$imods/kernel/drivers/block/"
cp -a "$kmods/kernel/net/9p" "$imods/kernel/net/"
depmod -b "$ird" "$kver"

# The modules /init loads to reach the root disk, with what they depend on, are
# decompressed: busybox's modprobe loads them from memory as plain ELF. Those built
# into this kernel are left out (modprobe of a built-in module is not needed).
declare -A want=()
add_module() {
  local name=$1 pat line path dep
  pat="(^|/)${name//_/[-_]}\.ko(\.[a-z]+)?"
  if grep -qE "$pat\$" "$imods/modules.builtin"; then return 0; fi
  line=$(grep -E "$pat:" "$imods/modules.dep" | head -n1) || vm_die "module $name not in modules.dep of $kver"
  path=${line%%:*}
  [[ -n ${want[$path]:-} ]] && return 0
  want[$path]=1
  for dep in ${line#*:}; do
    dep=$(basename "$dep"); dep=${dep%%.ko*}
    add_module "$dep"
  done
}
boot_modules=()
for m in virtio_pci virtio_blk crc32c_generic ext4; do
  pat="(^|/)${m//_/[-_]}\.ko(\.[a-z]+)?"
  grep -qE "$pat\$" "$imods/modules.builtin" || boot_modules+=("$m")
  add_module "$m"
done
for path in "${!want[@]}"; do
  case $path in
    *.ko.xz) xz -d "$imods/$path" ;;
    *.ko.zst) zstd -dq --rm "$imods/$path" ;;
    *.ko.gz) gzip -d "$imods/$path" ;;
  esac
done
depmod -b "$ird" "$kver"
printf '%s\n' "${boot_modules[@]}" >"$ird/boot-modules"

# ---- initramfs ------------------------------------------------------------------------
cp /bin/busybox "$ird/bin/busybox"
[[ $(file -b "$ird/bin/busybox" 2>/dev/null || echo static) != *dynamic* ]] || vm_die "busybox is not static"
cp "$here/init" "$ird/init"
chmod 0755 "$ird/init"
# Not compressed: the module tree is compressed already, and unpacking a plain cpio
# costs the emulated guest nothing.
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initrd.img"

mkdir -p "$work/final"
mv "$work/vmlinux" "$work/initrd.img" "$work/final/"
echo "$kver" >"$work/final/kernel-version"
mv "$work/final" "$out"
vm_log "guest kernel $kver built in $((SECONDS - t0)) s: $out"
