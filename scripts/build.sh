#!/usr/bin/env bash
# Configures and builds one variant: build.sh [release|asan|tsan] [target...]. Without
# targets it builds everything (tests too); with them only those. Prints the build dir.
# Release builds with the system compiler (GCC). The sanitizer builds use clang where it is
# installed (scripts/test.sh installs it): it compiles them about 2.5 times faster than GCC,
# and a second compiler's warnings (-Werror) check the code too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
case "$variant" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DTERN_SANITIZE=address,undefined" -DTERN_BUILD_BENCH=OFF) ;;
  tsan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_SANITIZE=thread -DTERN_BUILD_BENCH=OFF) ;;
  *) echo "build.sh: unknown variant '$variant' (release, asan, tsan)" >&2; exit 2 ;;
esac
generator="Unix Makefiles"
command -v ninja >/dev/null && generator=Ninja
compiler=default
if [ "$variant" != release ] && command -v clang++ >/dev/null; then
  compiler=clang
  flags+=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
fi
dir="$root/build/$variant"
# A folder configured with another generator or compiler can not be reconfigured: start over.
choice="$generator, $compiler"
if [ -f "$dir/CMakeCache.txt" ] && [ "$(cat "$dir/.tern-choice" 2>/dev/null)" != "$choice" ]; then
  rm -rf "$dir"
fi
cmake -S "$root" -B "$dir" -G "$generator" "${flags[@]}" >/dev/null
echo "$choice" >"$dir/.tern-choice"
cmake --build "$dir" -j"$(nproc)" "${targets[@]}" >&2
echo "$dir"
