#pragma once
// The authorization a listener block (websocket {}, mqtt {}) may carry for its own
// clients, as nats-server 2.9 reads it: `authorization { user, password, token, timeout }`
// and `no_auth_user`, which, when given, override the server's single user, token and
// no_auth_user for that listener's clients. Read on the main thread before the shards
// start; read-only after.
#include <memory>
#include <string>

#include "core/auth/auth_config.h"
#include "core/conf.h"

namespace tern::core {

struct ListenerAuth {
  auth::AuthConfig block;    // the block's user or token and timeout (0: the server's)
  std::string no_auth_user;  // a user of the server's users list
  // What the listener's clients authenticate against when the block overrides the
  // server's; null: the server's. Set by Resolve.
  std::shared_ptr<const auth::AuthConfig> effective;

  // Reads `authorization {}` (user/password, token, timeout only).
  bool ParseBlock(const ConfValue& v, const std::string& listener, std::string* error);
  // Checks the block against the server's authorization (nats-server's rules and texts,
  // `listener` naming it: "websocket", "mqtt") and builds `effective`.
  bool Resolve(const auth::AuthConfig& server, const std::string& listener, std::string* error);
};

}  // namespace tern::core
