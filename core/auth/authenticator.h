#pragma once
// Checks a CONNECT's credentials against an AuthConfig: a token, a user and password
// (either may be stored as a bcrypt hash), or an nkey with its signature of the INFO
// nonce. Stateless; called by the connection's shard once per CONNECT (bcrypt makes that
// deliberately slow: a few ms at the usual cost 10-11).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/auth_config.h"

namespace tern::core::auth {

struct Credentials {
  std::string auth_token, user, pass, nkey, sig, jwt;
  std::string client_ip;  // where the connection comes from (a JWT's `src`)
  // What connects, as allowed_connection_types names it ("LEAFNODE" for a leafnode).
  std::string_view connection_type = "STANDARD";
};

struct AuthResult {
  bool ok = false;
  std::string user;  // who connected (empty for a token)
  std::shared_ptr<const Permissions> permissions;
  AccountId account = kGlobalAccount;
  // A user JWT's own limits; -1 = none (the server's and the account's still apply).
  int64_t max_subscriptions = -1;
  int64_t max_payload = -1;
  // When the user's right to stay connected ends (unix seconds; 0 = never): the user JWT's
  // expiry or the end of its connect-time window, whichever is first.
  int64_t expires_at = 0;
  std::string reason;  // why not (for the log; the client only hears "Authorization Violation")
};

// `certificate_identities` (TLS verify_and_map) are the names the client's verified
// certificate carries: the first that is a configured user is who connected, and the
// CONNECT's credentials are not consulted.
AuthResult Authenticate(const AuthConfig& config, const Credentials& credentials,
                        std::string_view nonce,
                        const std::vector<std::string>* certificate_identities = nullptr);

// Compares a secret with what is configured: plain text in constant time, or bcrypt.
bool SecretMatches(const std::string& configured, const std::string& given);

}  // namespace tern::core::auth
