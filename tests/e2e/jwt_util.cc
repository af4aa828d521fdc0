#include "jwt_util.h"

#include <openssl/evp.h>

#include <ctime>
#include <fstream>

#include "harness.h"

namespace tern::e2e {

TestKey NewKey(core::auth::KeyRole role) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY_keygen_init(ctx);
  EVP_PKEY_keygen(ctx, &key);
  std::string seed(32, '\0'), pub(32, '\0');
  std::size_t n = 32;
  EVP_PKEY_get_raw_private_key(key, reinterpret_cast<unsigned char*>(seed.data()), &n);
  n = 32;
  EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(pub.data()), &n);
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(ctx);
  return {core::auth::EncodePublicKey(pub, role), core::auth::EncodeSeed(seed, role), seed};
}

namespace {

std::string Sign(const std::string& raw_seed, const std::string& message) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_seed.data()), 32);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  std::string signature(64, '\0');
  std::size_t len = signature.size();
  EVP_DigestSignInit(md, nullptr, nullptr, nullptr, key);
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(signature.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  return signature;
}

}  // namespace

std::string SignJwt(const TestKey& issuer, const std::string& subject, const std::string& type,
                    nlohmann::json nats, int64_t exp) {
  using core::auth::EncodeBase64Url;
  const nlohmann::json header = {{"typ", "JWT"}, {"alg", "ed25519-nkey"}};
  nats["type"] = type;
  nats["version"] = 2;
  nlohmann::json claims = {{"jti", EncodeBase64Url(core::auth::RandomBytes(20))},
                           {"iat", static_cast<int64_t>(std::time(nullptr))},
                           {"iss", issuer.public_key},
                           {"name", type + "-" + subject.substr(0, 6)},
                           {"sub", subject},
                           {"nats", nats}};
  if (exp != 0) claims["exp"] = exp;
  const std::string signed_part =
      EncodeBase64Url(header.dump()) + "." + EncodeBase64Url(claims.dump());
  return signed_part + "." + EncodeBase64Url(Sign(issuer.raw_seed, signed_part));
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
