#pragma once
// GatewayOptions: the `gateway {}` block as nats-server 2.9 reads it: this cluster's name
// in a supercluster, the port other clusters' gateways connect to, and the gateways this
// node dials. Filled on the main thread before the shards start; read-only after.
#include <cstdint>
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
  std::vector<RemoteGateway> gateways;
};

// Applies a `gateway` block; warnings for what is accepted but not served yet.
bool ParseGatewayBlock(const ConfValue& block, GatewayOptions* out,
                       std::vector<std::string>* warnings, std::string* error);

}  // namespace tern::core
