#include "jwt_util.h"

#include <ctime>
#include <fstream>

#include "harness.h"
#include "tests/support/ed25519_key.h"

namespace tern::e2e {

TestKey NewKey(core::auth::KeyRole role) {
  const testing::Ed25519Key key;
  return {core::auth::EncodePublicKey(key.public_key, role), core::auth::EncodeSeed(key.seed, role),
          key.seed};
}

std::string SignJwt(const TestKey& issuer, const std::string& subject, const std::string& type,
                    nlohmann::json nats, int64_t exp, int64_t iat) {
  using core::auth::EncodeBase64Url;
  const nlohmann::json header = {{"typ", "JWT"}, {"alg", "ed25519-nkey"}};
  nats["type"] = type;
  nats["version"] = 2;
  nlohmann::json claims = {{"jti", EncodeBase64Url(core::auth::RandomBytes(20))},
                           {"iat", iat != 0 ? iat : static_cast<int64_t>(std::time(nullptr))},
                           {"iss", issuer.public_key},
                           {"name", type + "-" + subject.substr(0, 6)},
                           {"sub", subject},
                           {"nats", nats}};
  if (exp != 0) claims["exp"] = exp;
  const std::string signed_part =
      EncodeBase64Url(header.dump()) + "." + EncodeBase64Url(claims.dump());
  return signed_part + "." +
         EncodeBase64Url(testing::Ed25519Key(issuer.raw_seed).Sign(signed_part));
}

std::string WriteCreds(const std::string& user_jwt, const TestKey& user) {
  const std::string conf = WriteConfig("");
  const std::string path = conf.substr(0, conf.rfind('/')) + "/user.creds";
  std::ofstream(path) << "-----BEGIN NATS USER JWT-----\n"
                      << user_jwt << "\n------END NATS USER JWT------\n\n"
                      << "************************* IMPORTANT *************************\n"
                      << "NKEY Seed printed below can be used to sign and prove identity.\n\n"
                      << "-----BEGIN USER NKEY SEED-----\n"
                      << user.seed << "\n------END USER NKEY SEED------\n";
  return path;
}

}  // namespace tern::e2e
