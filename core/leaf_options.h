#pragma once
// LeafOptions: the `leafnodes {}` block as nats-server 2.9 reads it: a listen port where
// other servers' leafnodes connect (this node is their hub), and remotes: hubs this node
// connects to as a leafnode, each link bound to one local account. Filled on the main
// thread before the shards start; read-only after.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cluster_options.h"
#include "core/conf.h"
#include "core/tls/tls_context.h"

namespace tern::core {

// One `remotes` entry: a hub, at one of its URLs, for one local account.
struct LeafRemote {
  std::vector<RouteUrl> urls;  // tried in turn (nats-leaf://[user:pass@]host:port)
  std::vector<std::string> url_texts;
  std::string account;  // the local account the link serves; empty = $G
  // Subjects whose messages do not come in from the hub (its interest is not asked for),
  // and subjects whose messages do not go out to it.
  std::vector<std::string> deny_imports, deny_exports;
  // tls {}: TLS to the hub (after its INFO, as nats-server). Without it, TLS is still used
  // when the hub requires it, checked against the system's roots.
  std::shared_ptr<const tls::TlsContext> tls_context;
  // credentials: a .creds file (a user's JWT and nkey seed): CONNECT carries the JWT and
  // the hub's nonce signed with the seed, for an operator-mode hub.
  std::string credentials_file, user_jwt, user_seed;  // user_seed: the raw 32 bytes
};

// A leafnode the hub admits, and the account it binds the link to.
struct LeafUser {
  std::string user, password, account;
};

struct LeafOptions {
  bool enabled = false;  // a listen port was given
  std::string host = "0.0.0.0";
  int port = 7422;  // -1 = a random free port
  std::string advertise;
  bool no_advertise = false;
  // authorization { user, password, account, timeout, users [...] }
  std::string user, password, account;
  std::vector<LeafUser> users;
  int64_t auth_timeout_ns = 2'000'000'000;
  int64_t reconnect_ns = 1'000'000'000;  // how long a remote waits before dialling again
  // tls {} on the leafnode port: leafnodes must TLS after the hub's INFO.
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;
  std::vector<LeafRemote> remotes;
};

// Applies a `leafnodes` block; warnings for what is accepted but not served yet.
bool ParseLeafNodesBlock(const ConfValue& block, LeafOptions* out,
                         std::vector<std::string>* warnings, std::string* error);

}  // namespace tern::core
