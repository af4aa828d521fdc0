#pragma once
// Operator mode (decentralized JWT authentication), as nats-server's `operator`,
// `resolver: MEMORY` and `resolver_preload`: the operator's JWT is trusted; account JWTs
// signed by it (or by its signing keys) define the accounts, their exports, imports and
// JetStream limits; a user connects with a user JWT signed by its account (or one of the
// account's signing keys) and signs the INFO nonce with the user's nkey. Built at start
// with the other options; immutable afterwards.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/auth/accounts.h"
#include "core/auth/permissions.h"

namespace tern::core::auth {

struct OperatorConfig {
  std::vector<std::string> operator_jwts;  // tokens, read from the files the config names
  std::string resolver;                    // only "MEMORY"
  std::vector<std::pair<std::string, std::string>> preload;  // account public key, JWT
  // Resolved by ResolveOperator:
  std::vector<std::string> trusted_keys;  // the operators' keys and signing keys
  bool resolved = false;

  bool enabled() const { return !operator_jwts.empty(); }
};

// Verifies the operators and the preloaded accounts and appends those accounts (named by
// their public keys) to *accounts. Fails for a JWT that
// does not verify, is expired, or is signed by a key the operator does not trust.
bool ResolveOperator(OperatorConfig* op, Accounts* accounts, std::string* error);

// Reads a JWT's nats.pub / nats.sub / nats.resp into Permissions; null if it sets none.
std::shared_ptr<const Permissions> PermissionsFromClaims(const nlohmann::json& nats);

}  // namespace tern::core::auth
