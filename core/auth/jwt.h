#pragma once
// NATS JWTs: header.claims.signature, base64url, signed with Ed25519 by the nkey named in
// `iss`. Both claim layouts the NATS tools write are read: version 2 ("alg":
// "ed25519-nkey", the type in nats.type) and version 1 ("alg": "ed25519", the type at the
// top). Pure functions; the caller decides what a valid token may do.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tern::core::auth {

struct JwtClaims {
  std::string id;       // jti
  std::string issuer;   // iss: the public nkey that signed it
  std::string subject;  // sub: the public nkey it is about
  std::string name;
  std::string type;        // "operator", "account", "user", ...
  int64_t issued_at = 0;   // iat, unix seconds
  int64_t expires = 0;     // exp, unix seconds; 0 = never
  int64_t not_before = 0;  // nbf, unix seconds; 0 = at once
  nlohmann::json nats;     // the NATS-specific claims (an object)
};

// Decodes the token and checks that its signature verifies under the issuer's key. False
// with *error (for the log) when it does not parse or verify. Times are not checked.
bool DecodeJwt(std::string_view token, JwtClaims* claims, std::string* error);

// Is the token valid at `now` (unix seconds)? False with *error when expired or not yet.
bool JwtTimely(const JwtClaims& claims, int64_t now, std::string* error);

// A .creds-style text or a bare token: the JWT it holds (the block between the
// "-----BEGIN NATS ... JWT-----" lines), or the trimmed text itself.
std::string ExtractJwt(std::string_view text);
// The nkey seed a .creds text holds (the block between the "-----BEGIN USER NKEY
// SEED-----" lines, or a line that is a seed); empty if none.
std::string ExtractSeed(std::string_view text);

}  // namespace tern::core::auth
