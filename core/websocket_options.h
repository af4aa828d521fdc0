#pragma once
// WebsocketOptions: the `websocket {}` block (alias `ws`) as nats-server 2.9 reads it: a
// port where NATS clients connect over WebSocket (browsers, nats.ws), TLS unless `no_tls`,
// origin checks and compression. Filled on the main thread before the shards start;
// read-only after.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/auth/auth_config.h"
#include "core/conf.h"
#include "core/listener_auth.h"
#include "core/tls/tls_context.h"
#include "core/ws_handshake.h"

namespace tern::core {

struct WebsocketOptions {
  bool enabled = false;  // a port was given
  std::string host = "0.0.0.0";
  int port = 0;  // -1 = a random free port
  std::string advertise;
  bool no_tls = false;
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;  // set when a tls {} block is given
  WsPolicy policy;                                     // origins, compression
  int64_t handshake_timeout_ns = 0;                    // 0: none
  // The block's own authorization and no_auth_user: nats-server's override for WebSocket
  // clients (auth.effective, set by ResolveWebsocketAuth once the server's is final).
  ListenerAuth auth;
  std::string jwt_cookie;  // the upgrade's cookie that carries a JWT (operator mode)
};

// Checks the block's authorization against the server's (nats-server's rules and texts)
// and builds WebsocketOptions::auth.
bool ResolveWebsocketAuth(const auth::AuthConfig& server, WebsocketOptions* ws, std::string* error);

// Applies a `websocket` block; warnings for what is accepted but not served yet. Fails,
// as nats-server does, without TLS unless no_tls is true.
bool ParseWebsocketBlock(const ConfValue& block, WebsocketOptions* out,
                         std::vector<std::string>* warnings, std::string* error);

}  // namespace tern::core
