#!/usr/bin/env bash
# Configures and builds one variant: build.sh [release|asan|tsan]. Prints the build dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
case "$variant" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DTERN_SANITIZE=address,undefined" -DTERN_BUILD_BENCH=OFF) ;;
  tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_SANITIZE=thread -DTERN_BUILD_BENCH=OFF) ;;
  *) echo "build.sh: unknown variant '$variant' (release, asan, tsan)" >&2; exit 2 ;;
esac
dir="$root/build/$variant"
cmake -S "$root" -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" >&2
echo "$dir"
