#include "core/auth/nkeys.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <memory>

namespace tern::core::auth {
namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr uint8_t kSeedPrefix = 18 << 3;  // 'S'

// CRC-16/XMODEM (polynomial 0x1021, initial value 0), as nkeys uses.
uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32[(buffer << (5 - bits)) & 31]);
  return out;
}

bool Base32Decode(std::string_view text, std::string* out) {
  out->clear();
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= '2' && c <= '7') {
      value = c - '2' + 26;
    } else {
      return false;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out->push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return true;
}

std::string WithChecksum(std::string payload) {
  const uint16_t crc = Crc16(payload);
  payload.push_back(static_cast<char>(crc & 0xff));
  payload.push_back(static_cast<char>(crc >> 8));
  return Base32Encode(payload);
}

}  // namespace

bool DecodePublicKey(std::string_view text, KeyRole role, std::string* raw) {
  std::string bytes;
  if (text.size() != 56 || !Base32Decode(text, &bytes) || bytes.size() != 35) return false;
  const uint16_t stored = static_cast<uint16_t>(static_cast<unsigned char>(bytes[33]) |
                                                (static_cast<unsigned char>(bytes[34]) << 8));
  if (Crc16(std::string_view(bytes).substr(0, 33)) != stored) return false;
  if (static_cast<uint8_t>(bytes[0]) != static_cast<uint8_t>(role)) return false;
  *raw = bytes.substr(1, 32);
  return true;
}

std::string EncodePublicKey(std::string_view raw, KeyRole role) {
  std::string payload(1, static_cast<char>(role));
  payload.append(raw);
  return WithChecksum(std::move(payload));
}

std::string EncodeSeed(std::string_view raw_seed, KeyRole role) {
  const uint8_t prefix = static_cast<uint8_t>(role);
  std::string payload;
  payload.push_back(static_cast<char>(kSeedPrefix | (prefix >> 5)));
  payload.push_back(static_cast<char>((prefix & 31) << 3));
  payload.append(raw_seed);
  return WithChecksum(std::move(payload));
}

bool DecodeBase64Any(std::string_view text, std::string* out) {
  out->clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      value = 62;
    } else if (c == '/' || c == '_') {
      value = 63;
    } else {
      return false;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      out->push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return true;
}

std::string EncodeBase64Url(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      out.push_back(kAlphabet[(buffer >> (bits - 6)) & 63]);
      bits -= 6;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

bool DecodeSeed(std::string_view text, KeyRole role, std::string* raw_seed) {
  std::string bytes;
  if (text.size() != 58 || !Base32Decode(text, &bytes) || bytes.size() != 36) return false;
  const uint16_t stored = static_cast<uint16_t>(static_cast<unsigned char>(bytes[34]) |
                                                (static_cast<unsigned char>(bytes[35]) << 8));
  if (Crc16(std::string_view(bytes).substr(0, 34)) != stored) return false;
  const uint8_t b0 = static_cast<uint8_t>(bytes[0]);
  const uint8_t b1 = static_cast<uint8_t>(bytes[1]);
  if ((b0 & 0xf8) != kSeedPrefix) return false;
  const uint8_t prefix = static_cast<uint8_t>(((b0 & 7) << 5) | ((b1 & 0xf8) >> 3));
  if (prefix != static_cast<uint8_t>(role)) return false;
  *raw_seed = bytes.substr(2, 32);
  return true;
}

std::string SignEd25519(std::string_view raw_seed, std::string_view message) {
  if (raw_seed.size() != 32) return {};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                   reinterpret_cast<const unsigned char*>(raw_seed.data()), 32),
      EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  EVP_MD_CTX_free);
  if (!key || !context ||
      EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return {};
  }
  std::string signature(64, '\0');
  std::size_t length = signature.size();
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return {};
  }
  return signature;
}

bool VerifyEd25519(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(public_key.data()), 32),
      EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  EVP_MD_CTX_free);
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t filled = 0;
  while (filled < n) {
    const ssize_t got = getrandom(out.data() + filled, n - filled, 0);
    if (got > 0) filled += static_cast<std::size_t>(got);
  }
  return out;
}

}  // namespace tern::core::auth
