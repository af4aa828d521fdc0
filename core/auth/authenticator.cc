#include "core/auth/authenticator.h"

#include <crypt.h>

#include "core/auth/nkeys.h"

namespace tern::core::auth {
namespace {

bool IsBcrypt(const std::string& text) {
  return text.size() == 60 && text[0] == '$' && text[1] == '2' &&
         (text[2] == 'a' || text[2] == 'b' || text[2] == 'y') && text[3] == '$';
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool SecretMatches(const std::string& configured, const std::string& given) {
  if (!IsBcrypt(configured)) return ConstantTimeEqual(configured, given);
  crypt_data data{};
  const char* hashed = crypt_r(given.c_str(), configured.c_str(), &data);
  return hashed != nullptr && hashed[0] != '*' && ConstantTimeEqual(hashed, configured);
}

AuthResult Authenticate(const AuthConfig& config, const Credentials& c, std::string_view nonce) {
  AuthResult result;
  if (!c.jwt.empty()) {
    result.reason = "JWT authentication needs operator mode, which this version does not support";
    return result;
  }
  if (!c.nkey.empty()) {
    const User* user = config.FindNkey(c.nkey);
    std::string raw_key, signature;
    if (user == nullptr) {
      result.reason = "unknown nkey " + c.nkey;
    } else if (nonce.empty() || !DecodePublicKey(c.nkey, KeyRole::kUser, &raw_key)) {
      result.reason = "nkey given without a nonce to sign";
    } else if (!DecodeBase64Any(c.sig, &signature) || !VerifyEd25519(raw_key, nonce, signature)) {
      result.reason = "nkey signature does not verify";
    } else {
      result.ok = true;
      result.user = user->name;
      result.permissions = user->permissions;
      result.account = user->account_id;
    }
    return result;
  }
  if (!config.token.empty()) {
    result.ok = !c.auth_token.empty() && SecretMatches(config.token, c.auth_token);
    if (!result.ok) result.reason = "bad or missing token";
    return result;
  }
  const User* user = nullptr;
  if (c.user.empty() && c.auth_token.empty() && !config.no_auth_user.empty()) {
    user = config.FindUser(config.no_auth_user);
  } else if (!c.user.empty()) {
    user = config.FindUser(c.user);
    if (user != nullptr && !SecretMatches(user->password, c.pass)) user = nullptr;
  }
  if (user == nullptr) {
    result.reason = c.user.empty() ? "no credentials" : "bad user or password for " + c.user;
    return result;
  }
  result.ok = true;
  result.user = user->name;
  result.permissions = user->permissions;
  result.account = user->account_id;
  return result;
}

}  // namespace tern::core::auth
