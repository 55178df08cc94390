# SPDX-License-Identifier: Apache-2.0
# QEMU helpers for the VM tier (sourced).

# Prints the accelerator to use: "kvm" only if a probe boot of our own kernel and
# initramfs gets to userspace quickly; the nested KVM on some test machines accepts
# a VM but never runs the guest, so TCG is the safe default. The probe result is
# cached per host boot. NESTBOX_VM_ACCEL=kvm|tcg overrides.
vm_pick_accel() {
  local image=$1 cache=$2
  if [[ -n ${NESTBOX_VM_ACCEL:-} ]]; then
    printf '%s\n' "$NESTBOX_VM_ACCEL"
    return
  fi
  if [[ ! -w /dev/kvm ]]; then
    echo tcg
    return
  fi
  local boot_id stamp log result=tcg
  boot_id=$(cat /proc/sys/kernel/random/boot_id)
  stamp=$cache/accel-$boot_id
  if [[ -r $stamp ]]; then
    cat "$stamp"
    return
  fi
  log=$(mktemp)
  timeout --kill-after=2 15 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
    -display none -monitor none -nic none -no-reboot -serial "file:$log" \
    -kernel "$image/vmlinux" -initrd "$image/initrd.img" \
    -append "console=ttyS0 panic=-1 nestbox.probe=1" >/dev/null 2>&1 || true
  grep -q NESTBOX-VM-PROBE-OK "$log" && result=kvm
  rm -f "$log"
  printf '%s\n' "$result" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
  printf '%s\n' "$result"
}

# Boots the image once, with the source tree and build tree shared read-only
# and OUT shared read-write, all at their host paths. Blocks until the guest
# powers off or `timeout_s` passes (then QEMU is killed; returns 124).
# KERNEL_DIR (default: the image) holds the vmlinux and initrd.img to boot the
# image's root disk with (kernel/build-kernel.sh makes one for another kernel).
vm_boot() {
  local image=$1 accel=$2 src=$3 build=$4 out=$5 console=$6 timeout_s=$7 kdir=${8:-$1}
  local cpu=${NESTBOX_VM_CPU:-max} accel_opt=tcg,thread=multi
  if [[ $accel == kvm ]]; then
    cpu=host
    accel_opt=kvm
  fi
  local cmdline="console=ttyS0,115200 panic=-1 rw systemd.unified_cgroup_hierarchy=1"
  cmdline+=" systemd.show_status=auto loglevel=4 nestbox.src=$src nestbox.build=$build nestbox.accel=$accel"
  local fs=local,security_model=none
  timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
    -accel "$accel_opt" -cpu "$cpu" -m "${NESTBOX_VM_MEMORY:-4096}" -smp "${NESTBOX_VM_CPUS:-2}" \
    -display none -monitor none -nic none -no-reboot \
    -serial "file:$console" \
    -kernel "$kdir/vmlinux" -initrd "$kdir/initrd.img" -append "$cmdline" \
    -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -virtfs "$fs,path=$src,mount_tag=nbsrc,readonly=on" \
    -virtfs "$fs,path=$build,mount_tag=nbbuild,readonly=on" \
    -virtfs "$fs,path=$out,mount_tag=nbout"
}
