#pragma once
// ClusterOptions: the `cluster {}` block and the --cluster/--routes flags, as nats-server
// 2.9 reads them. Filled on the main thread before the shards start; read-only after.
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "core/auth/permissions.h"
#include "core/conf.h"
#include "core/tls/tls_context.h"

namespace tern::core {

struct ClusterOptions {
  bool enabled = false;  // a cluster listen address was given
  std::string name;      // empty: a random name, adopted from peers (cluster_dynamic)
  std::string host = "0.0.0.0";
  int port = 6222;                  // -1 = a random free port
  std::string advertise;            // host[:port] peers are told instead of the listen address
  bool no_advertise = false;        // do not tell clients of the other nodes
  int connect_retries = 0;          // implicit (gossiped) routes: extra attempts, 1 s apart
  std::vector<std::string> routes;  // explicit routes, dialled and redialled forever
  // authorization { user, password, timeout }: what peers must send in CONNECT.
  std::string user, password;
  int64_t auth_timeout_ns = 2'000'000'000;
  // tls {}: routes run TLS from their first byte (the dialler is the TLS client), as in
  // nats-server. The context serves both roles; built once the options are read.
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;
  // permissions { import, export } as nats-server reads them for routes: `import` (kept as
  // the publish side) limits the subjects this node asks peers for (its RS+), `export` (the
  // subscribe side) the subjects peers may ask it for. Null = no limit.
  std::shared_ptr<const auth::Permissions> permissions;
};

// A route URL: nats-route://[user:pass@]host:port (nats:// too). False if malformed.
struct RouteUrl {
  std::string user, password, host;
  int port = 0;
};
// "host:port", ":port", "port" or "[v6]:port" of a listen address; the port in -1..65535
// (-1: a random free one). The host is left as it was when the text has none.
bool ParseHostPort(const std::string& text, std::string* host, int* port);
bool ParseRouteUrl(const std::string& text, RouteUrl* out);
// A listener block's `listen`, `host`/`net` and `port` keys (`listener` names it in errors:
// "websocket", "mqtt"). kOther for any other key; *has_port once listen or port was read.
enum class ListenKey { kOther, kRead, kFailed };
ListenKey ReadListenKey(const std::string& key, const ConfValue& v, const std::string& listener,
                        std::string* host, int* port, bool* has_port, std::string* error);

// Applies a `cluster` block; warnings for what is accepted but not served yet.
bool ParseClusterBlock(const ConfValue& block, ClusterOptions* out,
                       std::vector<std::string>* warnings, std::string* error);
// --cluster nats://host:port (the listen address) and --routes url1,url2.
bool ParseClusterListen(const std::string& url, ClusterOptions* out, std::string* error);
bool ParseRouteList(const std::string& list, ClusterOptions* out, std::string* error);

}  // namespace tern::core
