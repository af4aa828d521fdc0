#pragma once
// Test-only Ed25519 keys through OpenSSL: a fresh key pair (raw 32-byte seed and public key)
// and signatures with it. Shared by the unit, end-to-end and fuzz tests that make nkeys and
// JWTs; header-only so the separately built fuzz targets can use it too.
#include <openssl/evp.h>

#include <string>

namespace tern::testing {

struct Ed25519Key {
  std::string seed, public_key;  // raw 32 bytes each

  // A fresh random key.
  Ed25519Key() {
    EVP_PKEY* key = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_keygen(ctx, &key);
    seed.resize(32);
    std::size_t n = 32;
    EVP_PKEY_get_raw_private_key(key, reinterpret_cast<unsigned char*>(seed.data()), &n);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    public_key = PublicOf(seed);
  }
  // The key with this raw seed (fixed keys for fuzzing).
  explicit Ed25519Key(std::string raw_seed) : seed(std::move(raw_seed)) {
    public_key = PublicOf(seed);
  }

  std::string Sign(const std::string& message) const {
    EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), 32);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::string signature(64, '\0');
    std::size_t n = 64;
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &n,
                   reinterpret_cast<const unsigned char*>(message.data()), message.size());
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return signature;
  }

 private:
  static std::string PublicOf(const std::string& raw_seed) {
    EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_seed.data()), 32);
    std::string pub(32, '\0');
    std::size_t n = 32;
    EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(pub.data()), &n);
    EVP_PKEY_free(key);
    return pub;
  }
};

}  // namespace tern::testing
