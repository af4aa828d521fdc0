#pragma once
// GatewayOptions: the `gateway {}` block as nats-server 2.9 reads it: this cluster's name
// in a supercluster, the port other clusters' gateways connect to, and the gateways this
// node dials. Filled on the main thread before the shards start; read-only after.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cluster_options.h"
#include "core/conf.h"

namespace tern::core {

// One `gateways` entry: another cluster, at its URLs.
struct RemoteGateway {
  std::string name;
  std::vector<RouteUrl> urls;
  std::vector<std::string> url_texts;
  // tls {} of this entry (its own CA or certificate); the block's otherwise.
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;
};

struct GatewayOptions {
  bool enabled = false;  // a gateway block with a name and a port
  std::string name;
  std::string host = "0.0.0.0";
  int port = 7222;  // -1 = a random free port
  std::string advertise;
  // authorization { user, password, timeout }: what other gateways must send in CONNECT.
  std::string user, password;
  int64_t auth_timeout_ns = 2'000'000'000;
  bool reject_unknown = false;  // refuse gateways that are not configured here
  // tls {}: TLS from the first byte on every gateway link, as nats-server's; the dialler
  // is the TLS client (and, with verify, presents the same certificate).
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;
  std::vector<RemoteGateway> gateways;
};

// Applies a `gateway` block; warnings for what is accepted but not served yet.
bool ParseGatewayBlock(const ConfValue& block, GatewayOptions* out,
                       std::vector<std::string>* warnings, std::string* error);

}  // namespace tern::core
