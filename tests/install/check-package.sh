#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package of a build tree (`cmake --build BUILD --target package`):
# its control fields, the dependencies dpkg-shlibdeps found plus the declared
# ones, its maintainer scripts, and its files, which must be exactly what
# `cmake --install BUILD --prefix /usr` lays out, with units naming /usr paths.
# Usage: check-package.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: check-package.sh BUILD_DIR}
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_scratch package; work=$scratch

rm -f "$build"/nestbox_*.deb
if ! cmake --build "$build" --target package >"$work/cpack.log" 2>&1; then
  echo "FAIL: cmake --build --target package: $(tail -n 5 "$work/cpack.log")"
  exit 1
fi
deb=$(ls "$build"/nestbox_*.deb 2>/dev/null | head -n1)
[[ -f $deb ]] || { echo "FAIL: no nestbox_*.deb in $build"; exit 1; }
pass "built $(basename "$deb")"

# 1. Control fields.
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[[ $(dpkg-deb -f "$deb" Package) == nestbox ]] && pass "Package: nestbox" || fail "Package: $(dpkg-deb -f "$deb" Package)"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] && pass "Version: $version" ||
  fail "Version: $(dpkg-deb -f "$deb" Version), project $version"
[[ $(dpkg-deb -f "$deb" Architecture) == "$(dpkg --print-architecture)" ]] && pass "Architecture" ||
  fail "Architecture: $(dpkg-deb -f "$deb" Architecture)"
depends=$(dpkg-deb -f "$deb" Depends)
for d in fuse3 dbus uidmap libc6 libfuse3-3 libsystemd0 libcap2 libseccomp2 libstdc++6; do
  if [[ ", $depends," == *", $d "* || ", $depends," == *", $d,"* ]]; then pass "Depends: $d"
  else fail "Depends lacks $d: $depends"; fi
done

# 2. Maintainer scripts: present, executable, valid sh.
dpkg-deb -e "$deb" "$work/control"
for s in postinst prerm postrm; do
  f=$work/control/$s
  if [[ ! -x $f ]]; then fail "$s missing or not executable"
  elif ! sh -n "$f"; then fail "$s is not valid sh"
  else pass "$s"; fi
done
grep -q 'systemctl reload nestbox-fs.service' "$work/control/postinst" &&
  pass "postinst upgrades nestbox-fs in place (reload)" || fail "postinst does not reload nestbox-fs on upgrade"
grep -q 'systemctl reload nestbox-fs-tree.service' "$work/control/postinst" &&
  pass "postinst upgrades nestbox-fs-tree in place (reload)" ||
  fail "postinst does not reload nestbox-fs-tree on upgrade"

# 3. Files: the package holds what an install for /usr lays out, nothing else.
DESTDIR=$work/destdir cmake --install "$build" --prefix /usr >"$work/install.log" 2>&1 ||
  fail "cmake --install for /usr: $(tail -n 3 "$work/install.log")"
(cd "$work/destdir" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$work/installed"
dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sed 's|^\./|/|' | sort >"$work/packaged"
if diff -u "$work/installed" "$work/packaged" >"$work/files.diff"; then
  pass "files: the package holds the $(wc -l <"$work/packaged") files of an install for /usr"
else
  fail "files differ from an install for /usr (- installed, + packaged): $(grep -E '^[-+]/' "$work/files.diff" | head -n 10 | paste -sd' ')"
fi
mkdir -p "$work/unpacked"
dpkg-deb -x "$deb" "$work/unpacked"
for unit in nestbox-fs nestbox-cgmgr; do
  f=$work/unpacked/usr/lib/systemd/system/$unit.service
  exec=$(sed -n 's/^ExecStart=//p' "$f" 2>/dev/null | awk '{print $1}')
  if [[ $exec == /usr/* && -x $work/unpacked$exec ]]; then pass "$unit.service runs $exec from the package"
  else fail "$unit.service: ExecStart '$exec' is not a program of the package"; fi
done

if ((failures)); then
  echo "check-package: $failures failure(s)"
  exit 1
fi
echo "check-package: $(basename "$deb") as expected"
