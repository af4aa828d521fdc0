#include "core/auth/jwt.h"

#include <cctype>

#include "core/auth/nkeys.h"

namespace tern::core::auth {
namespace {

// The key's role from its first letter; false for anything that is not a public nkey.
bool PublicKeyBytes(std::string_view key, std::string* raw) {
  if (key.empty()) return false;
  switch (key[0]) {
    case 'O':
      return DecodePublicKey(key, KeyRole::kOperator, raw);
    case 'A':
      return DecodePublicKey(key, KeyRole::kAccount, raw);
    case 'U':
      return DecodePublicKey(key, KeyRole::kUser, raw);
    case 'N':
      return DecodePublicKey(key, KeyRole::kServer, raw);
    default:
      return false;
  }
}

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return std::string(text);
}

int64_t IntField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool DecodeJwt(std::string_view token, JwtClaims* claims, std::string* error) {
  constexpr std::size_t kMaxToken = 64 * 1024;
  if (token.size() > kMaxToken) {
    *error = "JWT is too long";
    return false;
  }
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    *error = "JWT does not have three parts";
    return false;
  }
  std::string header_text, body_text, signature;
  if (!DecodeBase64Any(token.substr(0, dot1), &header_text) ||
      !DecodeBase64Any(token.substr(dot1 + 1, dot2 - dot1 - 1), &body_text) ||
      !DecodeBase64Any(token.substr(dot2 + 1), &signature)) {
    *error = "JWT is not base64url";
    return false;
  }
  const auto header = nlohmann::json::parse(header_text, nullptr, false);
  const auto body = nlohmann::json::parse(body_text, nullptr, false);
  if (!header.is_object() || !body.is_object()) {
    *error = "JWT header or claims are not JSON objects";
    return false;
  }
  const std::string alg = StringField(header, "alg");
  if (alg != "ed25519-nkey" && alg != "ed25519") {
    *error = "JWT algorithm \"" + alg + "\" is not supported";
    return false;
  }
  claims->issuer = StringField(body, "iss");
  std::string issuer_key;
  if (!PublicKeyBytes(claims->issuer, &issuer_key)) {
    *error = "JWT issuer is not a public nkey";
    return false;
  }
  // Version 2 signs "header.claims"; version 1 signed the claims part alone.
  const std::string_view signed_part =
      alg == "ed25519-nkey" ? token.substr(0, dot2) : token.substr(dot1 + 1, dot2 - dot1 - 1);
  if (!VerifyEd25519(issuer_key, signed_part, signature)) {
    *error = "JWT signature does not verify";
    return false;
  }
  claims->id = StringField(body, "jti");
  claims->subject = StringField(body, "sub");
  claims->name = StringField(body, "name");
  claims->issued_at = IntField(body, "iat");
  claims->expires = IntField(body, "exp");
  claims->not_before = IntField(body, "nbf");
  const auto nats = body.find("nats");
  claims->nats = nats != body.end() && nats->is_object() ? *nats : nlohmann::json::object();
  claims->type = StringField(claims->nats, "type");
  if (claims->type.empty()) claims->type = StringField(body, "type");  // version 1
  if (claims->subject.empty() || claims->type.empty()) {
    *error = "JWT has no subject or type";
    return false;
  }
  return true;
}

bool JwtTimely(const JwtClaims& claims, int64_t now, std::string* error) {
  if (claims.expires != 0 && now >= claims.expires) {
    *error = "JWT expired";
    return false;
  }
  if (claims.not_before != 0 && now < claims.not_before) {
    *error = "JWT not valid yet";
    return false;
  }
  return true;
}

std::string ExtractJwt(std::string_view text) {
  const auto begin = text.find("-----BEGIN NATS");
  if (begin == std::string_view::npos) return Trim(text);
  const auto start = text.find('\n', begin);
  if (start == std::string_view::npos) return {};
  auto end = text.find("END NATS", start);
  if (end == std::string_view::npos) return {};
  end = text.rfind('\n', end);  // the dashes before END belong to its line
  if (end == std::string_view::npos || end < start) return {};
  return Trim(text.substr(start + 1, end - start - 1));
}

std::string ExtractSeed(std::string_view text) {
  // Every line that is a seed: "S" then the role letter, 58 characters (nsc's creds hold
  // exactly one, inside its BEGIN/END USER NKEY SEED block).
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string line = Trim(text.substr(at, end - at));
    if (line.size() == 58 && line[0] == 'S') return line;
    at = end + 1;
  }
  return {};
}

}  // namespace tern::core::auth
