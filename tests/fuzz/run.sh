#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, with ASan+UBSan) and runs each for a while from its
# seed corpus. Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] (default 20). Exits non-zero
# on the first crash, leak or hang, leaving the reproducer in the build folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-20}
out="$root/build/fuzz"
mkdir -p "$out"
cflags="-std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all"
cflags+=" -I$root -DTERN_VERSION=\"fuzz\""
libs="$(pkg-config --libs absl_flat_hash_map absl_flat_hash_set absl_hash absl_status absl_statusor \
        absl_strings) -lssl -lcrypto -lcrypt -lz"
auth="core/auth/authenticator.cc core/auth/nkeys.cc core/auth/permissions.cc core/auth/jwt.cc
      core/auth/operator.cc core/auth/accounts.cc core/subject_transform.cc
      core/auth/auth_config.cc core/conf.cc core/options.cc core/signal_command.cc core/subject.cc
      storage/subject_pattern.cc core/tls/tls_context.cc core/auth/time_zone.cc
      core/auth/user_limits.cc core/units.cc core/cluster_options.cc core/leaf_options.cc
      core/gateway_options.cc core/websocket_options.cc core/ws_handshake.cc
      core/listener_auth.cc core/mqtt_options.cc core/stan_options.cc"
protocol="core/parser.cc core/subject.cc storage/subject_pattern.cc"
route="core/route_parser.cc"
gateway="core/route_parser.cc core/gateway_proto.cc core/link_json.cc"
js_api="core/jetstream/api_error.cc core/jetstream/config_json.cc core/jetstream/consumer_config.cc core/subject_transform.cc
        core/jetstream/headers.cc core/jetstream/stream_config.cc core/subject.cc
        storage/subject_pattern.cc"
backup="core/jetstream/backup_format.cc storage/crc32c.cc"
mqtt="core/mqtt_packet.cc core/mqtt_topic.cc core/mqtt_properties.cc"
stan="core/stan/protocol.cc core/stan/proto_wire.cc core/stan/channel.cc core/stan/pub_ack_reply.cc"
websocket="core/ws_handshake.cc core/ws_frame.cc core/ws_deflate.cc core/ws_session.cc"
storage="storage/crc32c.cc storage/env_memory.cc storage/env_posix.cc storage/record.cc
         storage/segment.cc storage/segment_index.cc storage/segment_scan.cc storage/stream_log.cc
         storage/stream_log_read.cc storage/stream_log_remove.cc storage/store_error.cc storage/subject_index.cc
         storage/subject_pattern.cc"
targets="fuzz_connect fuzz_config fuzz_jwt fuzz_protocol fuzz_route fuzz_leaf fuzz_gateway"
targets+=" fuzz_js_api"
targets+=" fuzz_storage_recovery fuzz_backup fuzz_websocket fuzz_mqtt fuzz_stan"
# Each source is compiled once (coverage-instrumented, in parallel) and shared by the targets.
mkdir -p "$out/obj"
object() { echo "$out/obj/$(echo "$1" | tr / _).o"; }
export root out cflags
# shellcheck disable=SC2016
printf '%s\n' $auth $protocol $route $gateway $js_api $storage $backup $websocket $mqtt $stan | sort -u | xargs -P "$(nproc)" -I{} sh -c \
  'cd "$root" && clang++ $cflags -fsanitize=fuzzer-no-link -c {} -o "$out/obj/$(echo {} | tr / _).o"'
build() {  # target, sources...
  local target=$1 objects=()
  shift
  for source in "$@"; do objects+=("$(object "$source")"); done
  (cd "$root" && clang++ $cflags -fsanitize=fuzzer -o "$out/$target" "tests/fuzz/$target.cc" \
     "${objects[@]}" $libs)
}
build fuzz_connect $auth
build fuzz_config $auth
build fuzz_jwt $auth
build fuzz_protocol $protocol
build fuzz_route $route
build fuzz_leaf $route
build fuzz_gateway $gateway
build fuzz_js_api $js_api
build fuzz_storage_recovery $storage
build fuzz_backup $backup
build fuzz_websocket $websocket
build fuzz_mqtt $mqtt
build fuzz_stan $stan
for target in $targets; do
  corpus="$out/corpus-$target"
  mkdir -p "$corpus"
  cp -n "$root/tests/fuzz/corpus/${target#fuzz_}/"* "$corpus/" 2>/dev/null || true
  log="$out/$target.log"
  dict=()  # a target's dictionary (tokens its input format uses), where it has one
  if [ -f "$root/tests/fuzz/${target#fuzz_}.dict" ]; then
    dict=("-dict=$root/tests/fuzz/${target#fuzz_}.dict")
  fi
  if ! (cd "$out" && "./$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
          -max_len=8192 -print_final_stats=1 "${dict[@]}" "$corpus" >"$log" 2>&1); then
    echo "fuzz: $target FAILED (reproducer and log in $out):"
    tail -40 "$log"
    exit 1
  fi
  echo "fuzz: $target: $(grep -E '^Done' "$log"), $(grep -c . <(ls "$corpus")) inputs in the corpus"
done
