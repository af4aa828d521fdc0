#pragma once
// Test-side NATS JWTs: fresh nkeys, version 2 JWTs signed with them, and .creds files as
// nsc writes them, so the tests build operators, accounts and users at run time.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"

namespace tern::e2e {

struct TestKey {
  std::string public_key;  // "O...", "A...", "U..."
  std::string seed;        // "SO...", "SA...", "SU..."
  std::string raw_seed;    // 32 bytes
};

TestKey NewKey(core::auth::KeyRole role);
// A version 2 JWT about `subject`, issued (signed) by `issuer`. `nats` gets type and
// version; `exp` (unix seconds) is set when non-zero; `iat` is now unless given.
std::string SignJwt(const TestKey& issuer, const std::string& subject, const std::string& type,
                    nlohmann::json nats, int64_t exp = 0, int64_t iat = 0);
// Writes a .creds file (user JWT and seed) in a fresh directory; returns its path.
std::string WriteCreds(const std::string& user_jwt, const TestKey& user);

}  // namespace tern::e2e
