#pragma once
// ServerOptions: every setting of a tern-server, with nats-server's defaults, filled from
// a config file and then the command line (flags win). Built once by the main thread
// before the shards start; read-only afterwards.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/auth/auth_config.h"
#include "core/cluster_options.h"
#include "core/conf.h"
#include "core/gateway_options.h"
#include "core/leaf_options.h"
#include "core/mqtt_options.h"
#include "core/stan_options.h"
#include "core/tls/tls_context.h"
#include "core/units.h"
#include "core/websocket_options.h"
#include "io/reactor.h"

namespace tern::core {

// What INFO advertises: 2.10, so that clients use the 2.10 JetStream features Tern serves
// (filter_subjects, subject transforms, metadata, first_seq; docs/PROTOCOL.md).
inline constexpr const char* kNatsProtocolVersion = "2.10.29";

// Splits client_advertise's "host[:port]" ("[v6]:port" too); the port is `default_port`
// when none is given. False if the port is not a number in 1..65535.
bool ParseAdvertise(const std::string& text, int default_port, std::string* host, int* port);

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 4222;  // -1 = random
  std::string server_name;
  // client_advertise: the host[:port] INFO tells clients instead of the listen address.
  std::string client_advertise;
  bool no_header_support = false;  // INFO says headers:false; HPUB is refused
  std::string log_file;
  std::string pid_file;
  std::string ports_file_dir;
  std::string config_file;
  bool debug = false;
  bool trace = false;
  int http_port = 0;      // monitoring; 0 = off, -1 = a random free port
  std::string http_host;  // empty = the client listen host
  bool jetstream = false;
  // jetstream { domain }: the JetStream domain; its API is also served on
  // $JS.<domain>.API.> (how clients across a leafnode link reach it). Empty = none.
  std::string js_domain;
  std::string store_dir;
  int64_t max_payload = 1 << 20;
  int64_t max_connections = 64 * 1024;
  int64_t max_subscriptions = 0;  // per connection; 0 = unlimited
  int64_t max_pending = int64_t{64} << 20;
  int64_t max_closed_clients = 10000;  // closed connections /connz remembers (all shards)
  std::size_t max_control_line = 4096;
  int64_t ping_interval_ns = int64_t{120} * 1'000'000'000;
  int ping_max = 2;
  int64_t write_deadline_ns = int64_t{10} * 1'000'000'000;
  int64_t lame_duck_duration_ns = int64_t{120} * 1'000'000'000;
  int64_t lame_duck_grace_period_ns = int64_t{10} * 1'000'000'000;
  int shards = 0;  // 0 = one per core
  io::Backend io = io::Backend::kUring;
  // JetStream group commit: fdatasync through the shard's io_uring instead of on the
  // shard thread (--js_sync ring). Off by default: slower on the 2-core machine measured.
  bool js_sync_in_ring = false;
  // jetstream { streams: [...] }: streams (with their consumers) to create or update at
  // start, as written in the config file (converted by core/jetstream/declared.h).
  std::vector<ConfValue> declared_streams;
  // Who may connect (authorization block, no_auth_user, --auth/--user/--pass).
  auth::AuthConfig auth;
  std::string auth_source;      // what the auth settings were read from, to detect a change
  std::string accounts_source;  // accounts and system_account: a change needs a restart
  std::string cluster_source;   // the cluster block: a change needs a restart (for now)
  // TLS for client connections (tls block, --tls*); the context is built once the config
  // and flags are read, so a bad certificate stops the server (or -t) with a message.
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;
  std::string tls_source;
  ClusterOptions cluster;      // routes to other nodes (cluster block, --cluster, --routes)
  LeafOptions leaf;            // leafnodes block: hub port and remotes
  WebsocketOptions websocket;  // websocket block: NATS over WebSocket
  MqttOptions mqtt;            // mqtt block, --mqtt_port: MQTT 3.1.1 clients
  StanOptions streaming;       // streaming block, --streaming, -cid: STAN clients (docs/STAN.md)
  std::string leaf_source;     // the leafnodes block: a change needs a restart
  GatewayOptions gateway;      // gateway block: this cluster in a supercluster
  std::string gateway_source;  // the gateway block: a change needs a restart
  std::vector<std::string> warnings;  // reported once logging is up
};

enum class ParseResult { kRun, kExitOk, kExitError };

// Parses argv (and the config file it names) into *options. kExitOk after -h / -v (text
// already printed); kExitError with *error set for bad input.
ParseResult ParseCommandLine(int argc, const char* const* argv, ServerOptions* options,
                             std::string* error);

// Applies a config file; unknown-but-NATS keys become warnings, others are errors.
bool LoadConfigFile(const std::string& path, ServerOptions* options, std::string* error);
// The same for config text (`name` stands for the file in errors).
bool LoadConfigText(const std::string& text, const std::string& name, ServerOptions* options,
                    std::string* error);

std::string UsageText();

}  // namespace tern::core
