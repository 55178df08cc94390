#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures (Ninja) and builds the whole tree with warnings as errors.
#   scripts/build.sh [--asan] [--release] [BUILD_DIR]
#     --asan     AddressSanitizer + UndefinedBehaviorSanitizer
#     --release  optimized build without debug info (default: RelWithDebInfo)
#     BUILD_DIR  defaults to build/ in the checkout; relative paths are taken from the current directory
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=OFF
build_type=RelWithDebInfo
build_dir=

usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
  case $1 in
    --asan) sanitize=ON ;;
    --release) build_type=Release ;;
    -h|--help) usage ;;
    -*) echo "build.sh: unknown option $1" >&2; usage ;;
    *)
      [[ -z $build_dir ]] || { echo "build.sh: more than one BUILD_DIR given" >&2; usage; }
      build_dir=$1 ;;
  esac
  shift
done
build_dir=${build_dir:-$root/build}

cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DNESTBOX_WERROR=ON \
  -DNESTBOX_SANITIZE="$sanitize"
cmake --build "$build_dir" -j "$(nproc)"
