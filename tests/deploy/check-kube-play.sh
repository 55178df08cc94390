#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/kubernetes with podman kube play (there is no cluster here): the
# image built from this tree's .deb by build-image.sh, the DaemonSet's pod and
# the example consumer pod, their node paths moved below a scratch "node"
# directory whose /var/lib/nestbox is a shared mount, as a node's is (kubelet
# needs the same for a Bidirectional mount). Checks what an operator and a
# pod see: the mount reaches the node, the readiness command answers, the
# consumer's free -m says its limit, a rolling update (a second pod taking
# the mount over, then the first one removed) costs the consumer no read, and
# removing the pod unmounts cleanly.
# Exits 77 (skipped, with the reason) when podman, runc, catatonit or
# debootstrap is missing.
# Usage: check-kube-play.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: check-kube-play.sh BUILD_DIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../install/common.sh
. "$src/tests/install/common.sh"
for tool in podman runc catatonit debootstrap jq; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: needs $tool (scripts/install-deps.sh installs it)"; exit 77; }
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || { echo "SKIPPED: needs python3-yaml"; exit 77; }

install_scratch kube
work=$scratch
node=$work/node
mkdir -p "$node/var/lib/nestbox" "$node/opt/nestbox/bin" "$node/etc/containers/oci/hooks.d" "$work/tmp"
# podman's default rlimits exceed the hard limits of a host without
# CAP_SYS_RESOURCE, where runc cannot raise them: the pods get these.
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' >"$work/containers.conf"
# podman 4.3's kube play ignores hostPID: the DaemonSet's pod is played with
# the host's pid namespace as podman's default instead.
{ cat "$work/containers.conf"; echo 'pidns = "host"'; } >"$work/containers-hostpid.conf"
export CONTAINERS_CONF=$work/containers.conf
export PODMAN="podman --root=$work/storage --runroot=$work/run --tmpdir=$work/tmp --storage-driver=vfs
  --cgroup-manager=cgroupfs --runtime=runc --events-backend=file"
read -r -a P <<<"$PODMAN"
created_parent=()
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [[ -d ${h}libpod_parent ]] || created_parent+=("${h}libpod_parent")
done

cleanup() {
  local f
  for f in "$work"/*.pod.yaml; do [[ -f $f ]] && "${P[@]}" kube play --down "$f" >/dev/null 2>&1; done
  "${P[@]}" pod rm --all --force >/dev/null 2>&1
  umount -R "$node/var/lib/nestbox" 2>/dev/null
  # The pods' cgroups: podman puts them below libpod_parent; that too when this test made it.
  for f in "${created_parent[@]}"; do [[ -d $f ]] && find "$f" -depth -type d -exec rmdir {} + 2>/dev/null; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
mount --bind "$node/var/lib/nestbox" "$node/var/lib/nestbox" && mount --make-shared "$node/var/lib/nestbox" ||
  { fail "cannot make $node/var/lib/nestbox a shared mount"; exit 1; }

# 1. The image, from the package (build-image.sh builds it when missing).
if image=$(bash "$src/deploy/kubernetes/build-image.sh" --tag localhost/nestbox-test:kube "$build" 2>"$work/image.log" | tail -n 1) &&
   [[ -n $image ]]; then
  pass "build-image.sh built $image from the .deb"
else
  fail "build-image.sh: $(tail -n 5 "$work/image.log" | paste -sd' ')"
  exit 1
fi
if v=$("${P[@]}" run --rm --network=none --entrypoint /usr/bin/nestbox-fs "$image" --version 2>&1) &&
   [[ $v == "nestbox-fs $(dpkg-deb -f "$build"/nestbox_*.deb Version)"* ]]; then
  pass "the image runs the package's nestbox-fs ($v)"
else
  fail "nestbox-fs --version in the image: $v"
fi

# 2. The DaemonSet's pod: its mount reaches the node.
/usr/bin/python3 "$src/tests/deploy/pod_from.py" "$src/deploy/kubernetes/nestbox-fs.yaml" "$node" "$image" >"$work/fs.pod.yaml"
if out=$(CONTAINERS_CONF=$work/containers-hostpid.conf "${P[@]}" kube play --network=none "$work/fs.pod.yaml" 2>&1); then
  pass "kube play of the DaemonSet's pod"
else
  fail "kube play of the DaemonSet's pod: $out"
  exit 1
fi
mnt=$node/var/lib/nestbox/fs
for _ in $(seq 1 120); do mountpoint -q "$mnt" && [[ -r $mnt/proc/uptime ]] && break; sleep 0.5; done
if mountpoint -q "$mnt" && grep -q '^MemTotal:' "$mnt/proc/meminfo"; then
  pass "the pod's nestbox-fs mount reaches the node at /var/lib/nestbox/fs"
else
  fail "no nestbox-fs mount on the node at $mnt; pod log: $("${P[@]}" logs nestbox-fs-node-nestbox-fs 2>&1 | tail -n 5 | paste -sd' ')"
  exit 1
fi
mapfile -t probe_cmd < <(/usr/bin/python3 -c 'import sys, yaml
print("\n".join(yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["exec"]["command"]))' \
  "$src/deploy/kubernetes/nestbox-fs.yaml")
probe=${probe_cmd[*]}
if "${P[@]}" exec nestbox-fs-node-nestbox-fs "${probe_cmd[@]}" >/dev/null 2>&1; then
  pass "the readiness command ($probe) answers in the pod"
else
  fail "the readiness command ($probe) fails in the pod"
fi

# 3. The hook for CRI-O nodes, installed by the init container: a static
#    program and a hooks.d file naming it. Run by podman (CRI-O reads the same
#    format) from a copy of that file pointed at this scratch node, it gives an
#    annotated container its limit with no volume.
hook=$node/opt/nestbox/bin/nestbox-oci-hook
hooks_json=$node/etc/containers/oci/hooks.d/nestbox-fs.json
if [[ -x $hook ]] && ! ldd "$hook" >/dev/null 2>&1 && "$hook" --version >/dev/null 2>&1; then
  pass "the init container installed a static nestbox-oci-hook on the node"
else
  fail "no static, runnable nestbox-oci-hook at /opt/nestbox/bin on the node"
fi
if [[ $(jq -r .hook.path "$hooks_json" 2>/dev/null) == /opt/nestbox/bin/nestbox-oci-hook ]]; then
  pass "the init container wrote hooks.d/nestbox-fs.json naming /opt/nestbox/bin/nestbox-oci-hook"
else
  fail "hooks.d/nestbox-fs.json on the node: $(cat "$hooks_json" 2>&1 | paste -sd' ')"
fi
mkdir -p "$work/hooks.d"
jq --arg hook "$hook" --arg fs "$mnt" '.hook.path = $hook | .hook.args = ["nestbox-oci-hook", "--fs", $fs]' \
  "$hooks_json" >"$work/hooks.d/nestbox-fs.json" 2>/dev/null
out=$("${P[@]}" --hooks-dir="$work/hooks.d" run --rm --network=none --memory=256m --annotation=io.nestbox.fs=true \
        --entrypoint=/usr/bin/free "$image" -m 2>&1)
total=$(awk '$1 == "Mem:" { print $2 }' <<<"$out")
if [[ $total == 256 ]]; then pass "an annotated container started with the installed hook: free -m says 256"
else fail "an annotated container with the installed hook: free -m says '$total': $out"; fi

# 4. The example consumer: its own limit, through hostPath volumes.
/usr/bin/python3 "$src/tests/deploy/pod_from.py" "$src/deploy/kubernetes/consumer-pod.yaml" "$node" "$image" \
  >"$work/consumer.pod.yaml"
if out=$("${P[@]}" kube play --network=none "$work/consumer.pod.yaml" 2>&1); then
  pass "kube play of the consumer pod"
else
  fail "kube play of the consumer pod: $out"
fi
for _ in $(seq 1 60); do
  log=$("${P[@]}" logs nestbox-consumer-app 2>&1)
  [[ $log == *load\ average* ]] && break
  sleep 0.5
done
total=$(awk '$1 == "Mem:" { print $2 }' <<<"$log")
if [[ $total == 256 ]]; then pass "the consumer's free -m says 256 (its limit)"
else fail "the consumer's free -m says '$total', not 256: $log"; fi
cpus=$(grep -m1 -E '^[0-9]+$' <<<"$log")
if [[ $cpus == 1 ]]; then pass "the consumer's /proc/cpuinfo lists 1 CPU (its cpu limit)"
else fail "the consumer's /proc/cpuinfo lists '$cpus' CPUs, not 1: $log"; fi

# 5. A rolling update (maxSurge 1): the new pod starts beside the old one and
#    its nestbox-fs takes the mount over; the old pod is deleted once the new
#    one is ready. The consumer, reading meminfo all along, sees nothing of it.
"${P[@]}" exec -d nestbox-consumer-app /bin/sh -c \
  'n=0; e=0; while [ ! -e /tmp/stop ]; do if grep -q "^MemTotal:" /proc/meminfo; then n=$((n+1)); else e=$((e+1)); fi; done; echo "$n $e" >/tmp/result'  >/dev/null
/usr/bin/python3 "$src/tests/deploy/pod_from.py" "$src/deploy/kubernetes/nestbox-fs.yaml" "$node" "$image" \
  nestbox-fs-next >"$work/fs-next.pod.yaml"
if out=$(CONTAINERS_CONF=$work/containers-hostpid.conf "${P[@]}" kube play --network=none "$work/fs-next.pod.yaml" 2>&1); then
  pass "kube play of the updated DaemonSet's pod beside the running one"
else
  fail "kube play of the second DaemonSet pod: $out"
fi
ready=0
for _ in $(seq 1 120); do
  "${P[@]}" exec nestbox-fs-next-nestbox-fs "${probe_cmd[@]}" >/dev/null 2>&1 && { ready=1; break; }
  sleep 0.5
done
if ((ready)) && ! "${P[@]}" exec nestbox-fs-node-nestbox-fs "${probe_cmd[@]}" >/dev/null 2>&1; then
  pass "the new pod took the mount over: it is ready, the old one no longer is"
else
  fail "after the new pod started: new ready=$ready; new pod log: $("${P[@]}" logs nestbox-fs-next-nestbox-fs 2>&1 | tail -n 5 | paste -sd' ')"
fi
mounts_before=$(grep -c " $mnt " /proc/self/mountinfo)
"${P[@]}" kube play --down "$work/fs.pod.yaml" >/dev/null 2>&1
sleep 1
if mountpoint -q "$mnt" && [[ $(grep -c " $mnt " /proc/self/mountinfo) == "$mounts_before" ]] &&
   grep -q '^MemTotal:' "$mnt/proc/meminfo"; then
  pass "deleting the old pod left the mount in place, served by the new pod"
else
  fail "after the old pod went: mounted=$(mountpoint -q "$mnt" && echo yes || echo no)"
fi
out=$("${P[@]}" exec nestbox-consumer-app free -m 2>&1)
total=$(awk '$1 == "Mem:" { print $2 }' <<<"$out")
if [[ $total == 256 ]]; then pass "the consumer's free -m still says 256 after the update, with no restart"
else fail "the consumer's free -m after the update: '$total': $out"; fi
"${P[@]}" exec nestbox-consumer-app touch /tmp/stop
result=
for _ in $(seq 1 20); do
  result=$("${P[@]}" exec nestbox-consumer-app cat /tmp/result 2>/dev/null) && break
  sleep 0.5
done
read -r reads errors <<<"$result"
if [[ -n $reads ]] && ((reads > 0 && errors == 0)); then
  pass "the consumer read meminfo $reads times across the update, 0 failed"
else
  fail "the consumer's reads across the update: '$result' (reads errors)"
fi

# 6. Removing the pods unmounts from the node; nothing dead is left behind.
"${P[@]}" kube play --down "$work/consumer.pod.yaml" >/dev/null 2>&1
"${P[@]}" kube play --down "$work/fs-next.pod.yaml" >/dev/null 2>&1
for _ in $(seq 1 60); do mountpoint -q "$mnt" || break; sleep 0.5; done
if ! mountpoint -q "$mnt"; then pass "removing the pod unmounted nestbox-fs from the node"
else fail "nestbox-fs is still mounted at $mnt after the pod was removed"; fi

if ((failures)); then
  echo "check-kube-play: $failures failure(s)"
  exit 1
fi
echo "check-kube-play: the DaemonSet's pod serves the consumer pod"
