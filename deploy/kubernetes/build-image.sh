#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the nestbox node image with podman from the Debian package, on a
# Debian root made here with debootstrap; no registry is read or written.
#
#   deploy/kubernetes/build-image.sh [--tag TAG] [--mirror URL] BUILD_DIR
#
# The package is BUILD_DIR/nestbox_*.deb (built with the `package` target when
# missing). The root holds the package's dependencies (from its Depends field)
# and procps; it is built once per dependency list and kept as a tar in
# NESTBOX_IMAGE_CACHE (default /var/cache/nestbox-image). PODMAN names the
# podman command line (default "podman"; the tests add --root and friends).
# Prints the image's tag last. Run as root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tag="" mirror=http://deb.debian.org/debian
while (($# > 1)); do
  case $1 in
    --tag) tag=$2 ;;
    --mirror) mirror=$2 ;;
    *) echo "build-image.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
build=${1:?usage: build-image.sh [--tag TAG] [--mirror URL] BUILD_DIR}
read -r -a podman <<<"${PODMAN:-podman}"
cache=${NESTBOX_IMAGE_CACHE:-/var/cache/nestbox-image}
[[ $(id -u) -eq 0 ]] || { echo "build-image.sh: run as root (debootstrap)" >&2; exit 1; }

debs=("$build"/nestbox_*.deb)
if [[ ! -f ${debs[0]} ]]; then
  cmake --build "$build" --target package >/dev/null
  debs=("$build"/nestbox_*.deb)
fi
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
tag=${tag:-localhost/nestbox:$version}

# 1. The base root: the package's dependencies (first of each alternative,
#    versions dropped) and procps (free, ps: what an operator reaches for).
# debootstrap takes real packages only: a virtual one (libspdlog1.10-fmt9)
# becomes the first package that provides it.
real_package() {
  local shown
  shown=$(apt-cache show --no-all-versions "$1" 2>/dev/null || true)
  if grep -qx "Package: $1" <<<"$shown"; then echo "$1"
  else apt-cache showpkg "$1" 2>/dev/null | sed -n '/^Reverse Provides:/{n;s/ .*//p;q}'; fi
}
deps=procps
for d in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g'); do
  p=$(real_package "$d")
  [[ -n $p ]] || { echo "build-image: no package provides $d" >&2; exit 1; }
  deps="$deps,$p"
done
deps=$(tr ',' '\n' <<<"$deps" | sort -u | paste -sd, -)
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
key=$(printf '%s %s %s' "$codename" "$mirror" "$deps" | sha256sum | cut -c1-16)
base_tar=$cache/base-$key.tar
if [[ ! -f $base_tar ]]; then
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf --one-file-system "$work"' EXIT
  echo "build-image: debootstrap $codename with $deps" >&2
  debootstrap --variant=minbase --include="$deps" "$codename" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; echo "build-image: debootstrap failed" >&2; exit 1; }
  rm -rf "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/*
  tar -C "$work/root" -cf "$work/base.tar" .
  mv "$work/base.tar" "$base_tar"
fi
base=localhost/nestbox-base:$key
if ! "${podman[@]}" image exists "$base"; then
  "${podman[@]}" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$base_tar" "$base" >/dev/null
fi

# 2. The package on it (Containerfile).
ctx=$(mktemp -d /tmp/nestbox-image-ctx.XXXXXX)
trap 'rm -rf "$ctx"; [[ -z ${work:-} ]] || rm -rf --one-file-system "$work"' EXIT
cp "$here/Containerfile" "$ctx/"
cp "$deb" "$ctx/nestbox.deb"
"${podman[@]}" build --quiet --network none --build-arg "BASE=$base" -t "$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
echo "$tag"
