#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# nestbox in one screen. Run as root on a fresh Debian 12:
#
#   bash scripts/demo.sh
#
# Installs the build dependencies, builds nestbox (build/demo), starts
# nestbox-cgmgr (on the system bus if one runs, else on a private dbus-daemon
# with the project's bus policy) and nestbox-fs, creates the unprivileged user
# "nestbox-demo" (with a subordinate id range) if needed, and, as that user, runs
#
#   nestbox-run --memory 256M --cpus 1 -- sh -c 'free -m; nproc; uptime; top -bn1 | head'
#
# printing each command's output on the host and inside the container side by
# side. Everything it started is stopped on exit; the demo user, the build and
# the installed packages stay.
#
# The setup functions are reused by bench/launcher/bench.sh (source this file).
set -euo pipefail

NESTBOX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_USER=${DEMO_USER:-nestbox-demo}
DEMO_BUILD=${DEMO_BUILD:-$NESTBOX_ROOT/build/demo}
DEMO_FS=${DEMO_FS:-/var/lib/nestbox/fs}
DEMO_CGROOT=${DEMO_CGROOT:-/nestbox-demo}

demo_work=""
demo_pids=()
demo_fs_mounted=0
DEMO_BUS=""
DEMO_LIMITS=""

# Runs "$@" every 0.1 s until it succeeds; fails after 10 s.
wait_until() {
  local i
  for i in $(seq 100); do "$@" && return 0; sleep 0.1; done
  return 1
}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

demo_cleanup() {
  local pid
  # Reverse order: the fs and the manager before the bus they use.
  if ((demo_fs_mounted)); then fusermount3 -u "$DEMO_FS" 2>/dev/null || umount -l "$DEMO_FS" 2>/dev/null || true; fi
  for ((i = ${#demo_pids[@]} - 1; i >= 0; i--)); do
    pid=${demo_pids[i]}
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # The manager's root cgroup of this demo, if it is empty now.
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [[ -d $h${DEMO_CGROOT#/} ]] && find "$h${DEMO_CGROOT#/}" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  [[ -n $demo_work ]] && rm -rf "$demo_work"
}

demo_install_and_build() {
  say "installing dependencies (scripts/install-deps.sh)"
  bash "$NESTBOX_ROOT/scripts/install-deps.sh"
  say "building nestbox in $DEMO_BUILD"
  cmake -S "$NESTBOX_ROOT" -B "$DEMO_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DNESTBOX_TESTS=OFF -DNESTBOX_BENCH=OFF >/dev/null
  local targets=(nestbox-run)
  local t
  for t in nestbox-cgmgr nestbox-fs; do
    if cmake --build "$DEMO_BUILD" --target help | grep -q "^$t:"; then targets+=("$t"); fi
  done
  cmake --build "$DEMO_BUILD" --target "${targets[@]}" -j "$(nproc)"
  # A copy the demo user can execute whatever the permissions of the checkout.
  demo_work=$(mktemp -d /tmp/nestbox-demo.XXXXXX)
  chmod 0755 "$demo_work"
  install -m 0755 "$DEMO_BUILD/launcher/nestbox-run" "$DEMO_BUILD/launcher/nestbox-init" "$demo_work/"
}

demo_user() {
  if ! id "$DEMO_USER" >/dev/null 2>&1; then
    say "creating user $DEMO_USER"
    useradd --create-home --shell /bin/sh "$DEMO_USER"
  fi
  local f start
  for f in /etc/subuid /etc/subgid; do
    touch "$f"
    if ! grep -q "^$DEMO_USER:" "$f"; then
      # The first free 65536-id block after every existing range.
      start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
      echo "$DEMO_USER:$start:65536" >>"$f"
      say "gave $DEMO_USER the subordinate range $start-$((start + 65535)) in $f"
    fi
  done
}

demo_bus() {
  # A running system bus (systemd or not) is used as is, with our policy added.
  if [[ -S /run/dbus/system_bus_socket ]] &&
     dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.GetId >/dev/null 2>&1; then
    install -m 0644 "$NESTBOX_ROOT/dbus/org.nestbox.CgroupManager1.conf" /etc/dbus-1/system.d/
    dbus-send --system --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null 2>&1 || true
    DEMO_BUS=""
    say "using the system bus"
    return
  fi
  # Otherwise a private bus that behaves like the system bus: anyone may connect
  # and call, only the project's policy decides who owns our name.
  local dir=$demo_work/bus
  mkdir -p "$dir"
  chmod 0755 "$dir"
  sed -e "s|@SOCKET@|$dir/socket|g" \
      -e "s|@POLICY@|$NESTBOX_ROOT/dbus/org.nestbox.CgroupManager1.conf|g" \
      "$NESTBOX_ROOT/dbus/private-system-bus.conf.in" >"$dir/bus.conf"
  dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile &
  demo_pids+=($!)
  wait_until test -S "$dir/socket" || die "the private dbus-daemon did not start"
  chmod 0666 "$dir/socket"
  DEMO_BUS="unix:path=$dir/socket"
  say "no system bus running: started a private one at $DEMO_BUS"
}

cgmgr_on_bus() {
  local addr=(--system)
  [[ -n $DEMO_BUS ]] && addr=(--bus="$DEMO_BUS")
  dbus-send "${addr[@]}" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
    string:org.nestbox.CgroupManager1 2>/dev/null | grep -q 'boolean true'
}

demo_cgmgr() {
  local cgmgr=$DEMO_BUILD/cgmgr/nestbox-cgmgr
  if [[ ! -x $cgmgr ]]; then
    say "nestbox-cgmgr is not built in this checkout: the container runs without limits (--no-cgroup)"
    return 1
  fi
  cat >"$demo_work/cgmgr.toml" <<EOF
[user.$DEMO_USER]
max_cgroups = 32
EOF
  local bus_arg=(--bus "${DEMO_BUS:-system}")
  "$cgmgr" "${bus_arg[@]}" --root "$DEMO_CGROOT" --policy "$demo_work/cgmgr.toml" \
    --state "$demo_work/cgmgr-state.json" --log-level error &
  demo_pids+=($!)
  wait_until cgmgr_on_bus || die "nestbox-cgmgr did not appear on the bus"
  say "nestbox-cgmgr is running"
}

demo_fs() {
  local fsd=$DEMO_BUILD/fs/nestbox-fs
  if [[ ! -x $fsd ]]; then
    say "nestbox-fs is not built in this checkout: /proc inside will show the host's values"
    return 1
  fi
  mkdir -p "$DEMO_FS"
  if mountpoint -q "$DEMO_FS"; then
    say "something is already mounted at $DEMO_FS; using it"
    return 0
  fi
  "$fsd" -f --log-level warn "$DEMO_FS" &
  demo_pids+=($!)
  wait_until mountpoint -q "$DEMO_FS" || die "nestbox-fs did not mount $DEMO_FS"
  demo_fs_mounted=1
  say "nestbox-fs is mounted at $DEMO_FS"
}

# Runs a command line as the demo user inside a container (extra launcher
# options first).
demo_in_container() {
  local env=(env HOME="/home/$DEMO_USER" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM="${TERM:-xterm}")
  [[ -n $DEMO_BUS ]] && env+=(DBUS_SYSTEM_BUS_ADDRESS="$DEMO_BUS")
  runuser -u "$DEMO_USER" -- "${env[@]}" "$demo_work/nestbox-run" --fs "$DEMO_FS" "$@"
}

side_by_side() {
  local title=$1 host=$2 box=$3
  printf '\n\033[1m$ %s\033[0m\n' "$title"
  # Two columns: the host's output padded to its widest line, then the container's.
  paste -d $'\x01' <(printf 'HOST\n%s\n' "$host" | expand) \
                    <(printf 'CONTAINER (%s)\n%s\n' "$DEMO_LIMITS" "$box" | expand) |
    awk -F $'\x01' '{ l[NR] = $1; r[NR] = $2; if (length($1) > w) w = length($1) }
      END { for (i = 1; i <= NR; i++) printf "%s | %s\n", sprintf("%-" w "s", l[i]), r[i] }'
}

main() {
  [[ $(id -u) -eq 0 ]] || die "run as root: it installs packages, starts the manager and creates a user"
  trap demo_cleanup EXIT
  trap 'exit 130' INT TERM
  demo_install_and_build
  demo_user
  local limits=(--memory 256M --cpus 1)
  DEMO_LIMITS="--memory 256M --cpus 1"
  demo_bus
  if ! demo_cgmgr; then limits=(--no-cgroup); DEMO_LIMITS="no limits: nestbox-cgmgr missing"; fi
  demo_fs || true

  local script='free -m; echo @@; nproc; echo @@; uptime; echo @@; top -bn1 | head -5'
  say "running as $DEMO_USER: nestbox-run ${limits[*]} -- sh -c '...'"
  local inside
  if ! inside=$(demo_in_container "${limits[@]}" --name demo -- sh -c "$script"); then
    die "the container failed (output above)"
  fi
  local host
  host=$(runuser -u "$DEMO_USER" -- sh -c "$script")

  local titles=("free -m" "nproc" "uptime" "top -bn1 | head -5") i
  local IFS=$'\x1e'
  local -a h b
  mapfile -t -d $'\x1e' h < <(printf '%s' "${host//@@$'\n'/$'\x1e'}")
  mapfile -t -d $'\x1e' b < <(printf '%s' "${inside//@@$'\n'/$'\x1e'}")
  unset IFS
  for i in "${!titles[@]}"; do side_by_side "${titles[i]}" "${h[i]:-}" "${b[i]:-}"; done
  echo
  say "the container saw its own limits; everything started here is stopped now"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
