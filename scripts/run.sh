#!/usr/bin/env bash
# Sets up, builds (Release) and starts tern-server on port 4222 with JetStream requested and
# its store in ./data/jetstream. Extra arguments go to tern-server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
# Only the server: the tests and benchmarks are test.sh's to build.
dir=$("$root/scripts/build.sh" release tern-server)
mkdir -p "$root/data/jetstream"
exec "$dir/tools/tern-server" -js -sd "$root/data/jetstream" "$@"
