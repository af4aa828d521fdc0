// libFuzzer target: JWTs as a hostile client would send them. The first byte picks how the
// rest is used: (0) as a token, through the decoder and the .creds reader; (1) as the
// claims of a user JWT, which the target signs with a known account's key so the claims
// reach every check after the signature. Must never crash, and never let a user in
// without a nonce signature unless the claims say it is a bearer token.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/auth/authenticator.h"
#include "core/auth/jwt.h"
#include "core/auth/nkeys.h"
#include "tests/support/ed25519_key.h"

namespace {

using namespace tern::core::auth;

const tern::testing::Ed25519Key& AccountKey() {
  static const tern::testing::Ed25519Key key(std::string(32, '\x2a'));
  return key;
}

const AuthConfig& OperatorMode() {
  static const AuthConfig config = [] {
    AuthConfig c;
    c.op.operator_jwts = {"(resolved)"};
    c.op.resolved = true;
    c.accounts.list.resize(2);
    c.accounts.list[0].name = kGlobalAccountName;
    c.accounts.list[1].name = EncodePublicKey(AccountKey().public_key, KeyRole::kAccount);
    return c;
  }();
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    JwtClaims claims;
    std::string error;
    if (DecodeJwt(text, &claims, &error)) (void)JwtTimely(claims, 0, &error);
    (void)ExtractJwt(text);
    Credentials c;
    c.jwt = text;
    if (Authenticate(OperatorMode(), c, "nonce").ok) std::abort();  // unsigned: a hole
    return 0;
  }
  std::string claims_text = text;
  auto claims = nlohmann::json::parse(claims_text, nullptr, false);
  if (claims.is_object()) claims["iss"] = OperatorMode().accounts.list[1].name;  // reach past it
  if (!claims.is_discarded())
    claims_text = claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string signed_part =
      EncodeBase64Url(R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." + EncodeBase64Url(claims_text);
  Credentials c;
  c.jwt = signed_part + "." + EncodeBase64Url(AccountKey().Sign(signed_part));
  c.sig = EncodeBase64Url(std::string(64, '\x01'));
  c.client_ip = "10.1.2.3";  // reaches the src check
  const AuthResult result = Authenticate(OperatorMode(), c, "nonce");
  if (result.ok) {
    const auto nats = claims.is_object() ? claims.find("nats") : claims.end();
    const bool bearer = claims.is_object() && nats != claims.end() && nats->is_object() &&
                        nats->contains("bearer_token") && (*nats)["bearer_token"] == true;
    if (!bearer) std::abort();  // in without signing the nonce
  }
  return 0;
}
