#!/usr/bin/env bash
# Sets up, builds and passes every test:
#   Release:    unit tests + end-to-end tests with 1 and 2 shards on io_uring, the clients
#   ASan+UBSan: unit tests + every suite once (4 shards on io_uring), the JS and Go clients
#   TSan:       unit and storage tests + the end-to-end tests with 2 shards on epoll
# (the sanitizer stages run the Release-built suites against their sanitizer-built server)
# Each shard count runs on io_uring (4 shards under ASan, which runs the same suite slower,
# so timing holes show more), and the epoll fallback runs the whole suite under TSan; more
# pairs in every stage would not fit CI's 45 minutes on 2 cores (three builds take about half
# of it). `ctest` in a build folder runs every pair (1, 2, 4 shards x both), each in two
# halves that run side by side.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
export TERN_REQUIRE_NATS_SERVER=1  # the conformance test must compare against the real one

stage() { echo "== $1 (at ${SECONDS}s)"; }
# The end-to-end runs mostly wait (timeouts, redelivery, expiry): one per core halves the
# stage, and each run's servers listen on ports of their own.
run_ctest() {  # dir, ctest args...
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure --parallel "$(nproc)" "$@")
}

stage "Test dependencies (nats.go, Sprig, yamllint, clang's libFuzzer, Chromium, mosquitto clients from Debian; nats.js from npm)"
client_packages=(golang-go golang-github-nats-io-go-nats-dev golang-github-nats-io-jwt-dev
                 golang-github-masterminds-sprig-dev golang-github-klauspost-compress-dev
                 golang-gopkg-yaml.v3-dev python3-yaml yamllint systemd clang libclang-rt-14-dev
                 chromium mosquitto-clients)
command -v node >/dev/null && command -v npm >/dev/null || client_packages+=(nodejs npm)
missing=()
for p in "${client_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(cd "$root/tests/js" && npm ci --no-audit --no-fund --loglevel=error)

stage "Release build"
release=$("$root/scripts/build.sh" release)
run_ctest "$release" -E 'e2e_epoll|e2e_uring_4'
stage "Micro-benchmarks (smoke run; numbers are not judged here)"
"$release/bench/micro_bench" --benchmark_min_time=0.01
TERN_BENCH_DIR="$release" "$release/bench/storage_bench" --benchmark_min_time=0.01
stage "Deployment files (systemd unit, Containerfile, Helm chart)"
/usr/bin/python3 "$root/deploy/check/check.py" "$release/tools/tern-server"
stage "Fuzzing: CONNECT and authentication, config, JWTs, protocol, routes, JetStream API bodies, storage recovery (libFuzzer)"
"$root/tests/fuzz/run.sh" 6
stage "Side-by-side smoke row against nats-server (delivery is checked, speed is not)"
"$root/bench/compare" --smoke
"$root/bench/compare-mqtt" --smoke

# The sanitizer stages build the server and the unit tests with the sanitizer, and run the
# Release build's end-to-end suites and clients against that server (TERN_SERVER_UNDER_TEST):
# the server is what they check, and compiling the suites twice more took a fifth of CI.
stage "ASan + UBSan build"
asan=$("$root/scripts/build.sh" asan tern-server tern-segdump unit_tests storage_tests)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_ctest "$asan" -R 'unit|storage'
TERN_SERVER_UNDER_TEST="$asan/tools/tern-server" \
  run_ctest "$release" -R 'e2e_uring_4|e2e_js_sync_ring|js_client_2|go_client_4'
unset ASAN_OPTIONS UBSAN_OPTIONS

stage "TSan build"
tsan=$("$root/scripts/build.sh" tsan tern-server tern-segdump unit_tests storage_tests)
# The TLS tests run under ASan/UBSan only: when the suite itself was TSan-built, TSan reported
# libnats (the test's client) using one SSL from two threads; against a TSan server alone
# they are still to be tried.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
run_ctest "$tsan" -R 'unit|storage'
TERN_SERVER_UNDER_TEST="$tsan/tools/tern-server" GTEST_FILTER='-Tls*' \
  run_ctest "$release" -R 'e2e_epoll_2'
echo "All test suites passed in ${SECONDS}s."
