#pragma once
// NATS nkeys: Ed25519 keys written as base32 text with a one-letter role prefix ('U' for
// users, 'A' accounts, 'O' operators, 'N' servers; seeds start with 'S' and the role) and a
// CRC16 check, and the signature check behind nkey and JWT authentication. Pure
// functions; OpenSSL's libcrypto does the Ed25519 arithmetic.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core::auth {

enum class KeyRole : uint8_t {
  kOperator = 14 << 3,  // 'O'
  kServer = 13 << 3,    // 'N'
  kAccount = 0,         // 'A'
  kUser = 20 << 3,      // 'U'
};

// Decodes a public nkey of the given role into its 32 raw bytes; false if the text is not
// one (wrong length, alphabet, role or checksum).
bool DecodePublicKey(std::string_view text, KeyRole role, std::string* raw);
// The text form of a raw 32-byte public key / seed (tests and tools make keys with these).
std::string EncodePublicKey(std::string_view raw, KeyRole role);
std::string EncodeSeed(std::string_view raw_seed, KeyRole role);

// Decodes a seed ("SU...") of the given role into its 32 raw bytes; false if it is not one.
bool DecodeSeed(std::string_view text, KeyRole role, std::string* raw_seed);
// Ed25519: the 64-byte signature of `message` with the key of this raw seed (a leafnode
// signing its hub's nonce with its credentials); empty if the seed is not 32 bytes.
std::string SignEd25519(std::string_view raw_seed, std::string_view message);

// Base64 as the clients send signatures: URL-safe or standard, padded or not.
bool DecodeBase64Any(std::string_view text, std::string* out);
std::string EncodeBase64Url(std::string_view bytes);  // raw URL-safe, no padding

// Ed25519: does `signature` (64 bytes) sign `message` under `public_key` (32 bytes)?
bool VerifyEd25519(std::string_view public_key, std::string_view message,
                   std::string_view signature);

// Fresh random bytes (for INFO nonces), from the OS.
std::string RandomBytes(std::size_t n);

}  // namespace tern::core::auth
