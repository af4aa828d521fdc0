#include "core/auth/authenticator.h"

#include <crypt.h>

#include <ctime>

#include "core/auth/jwt.h"
#include "core/auth/nkeys.h"
#include "core/auth/user_limits.h"

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

const nlohmann::json& Claim(const nlohmann::json& nats, const char* key) {
  static const nlohmann::json kNull;
  const auto it = nats.find(key);
  return it != nats.end() ? *it : kNull;
}

// As nats-server: revoked when the account lists the user's key, or "*", at or after the
// time the JWT was issued.
bool IsRevoked(const Account& account, const JwtClaims& claims) {
  for (const std::string& key : {claims.subject, std::string("*")}) {
    const auto it = account.revoked_users.find(key);
    if (it != account.revoked_users.end() && it->second >= claims.issued_at) return true;
  }
  return false;
}

bool ConnectionTypesAllow(const nlohmann::json& nats, std::string_view type) {
  const nlohmann::json& types = Claim(nats, "allowed_connection_types");
  if (!types.is_array()) return true;
  std::vector<std::string> list;
  for (const auto& type : types) {
    if (type.is_string()) list.push_back(type.get<std::string>());
  }
  return ConnectionTypeAllowed(list, type);
}

// Operator mode: a user JWT signed by a known account (or its signing key), valid now,
// and the nonce signed by the user's key (unless the JWT is a bearer token).
AuthResult AuthenticateJwt(const AuthConfig& config, const Credentials& c, std::string_view nonce) {
  AuthResult result;
  if (c.jwt.empty()) {
    result.reason = "operator mode: no user JWT";
    return result;
  }
  JwtClaims claims;
  std::string problem;
  const auto now = static_cast<int64_t>(std::time(nullptr));
  if (!DecodeJwt(c.jwt, &claims, &problem) || !JwtTimely(claims, now, &problem)) {
    result.reason = "user JWT: " + problem;
    return result;
  }
  if (claims.type != "user" || claims.subject.empty() || claims.subject[0] != 'U') {
    result.reason = "the JWT is not a user JWT";
    return result;
  }
  const auto issuer_account = claims.nats.find("issuer_account");
  const std::string account_key = issuer_account != claims.nats.end() &&
                                          issuer_account->is_string() &&
                                          !issuer_account->get<std::string>().empty()
                                      ? issuer_account->get<std::string>()
                                      : claims.issuer;
  const int id = config.accounts.Find(account_key);
  if (id <= 0 || account_key[0] != 'A') {
    result.reason = "user JWT: account " + account_key + " is not known";
    return result;
  }
  const Account& account = config.accounts[static_cast<AccountId>(id)];
  std::shared_ptr<const Permissions> permissions;
  bool signer_known = claims.issuer == account.name;
  for (const std::string& key : account.signing_keys) signer_known |= claims.issuer == key;
  bool scoped = false;
  for (const auto& [key, scope] : account.scoped_keys) {
    if (claims.issuer == key) {
      signer_known = scoped = true;
      permissions = scope;
    }
  }
  if (!signer_known) {
    result.reason = "user JWT: signed by " + claims.issuer + ", not by account " + account.name;
    return result;
  }
  const auto bearer = claims.nats.find("bearer_token");
  if (bearer == claims.nats.end() || *bearer != true) {
    std::string raw_key, signature;
    if (nonce.empty() || !DecodePublicKey(claims.subject, KeyRole::kUser, &raw_key) ||
        !DecodeBase64Any(c.sig, &signature) || !VerifyEd25519(raw_key, nonce, signature)) {
      result.reason = "user JWT: the nonce signature does not verify";
      return result;
    }
  }
  if (IsRevoked(account, claims)) {
    result.reason = "user JWT: revoked by account " + account.name;
    return result;
  }
  if (!ConnectionTypesAllow(claims.nats, c.connection_type)) {
    result.reason =
        "user JWT: allowed_connection_types leaves out " + std::string(c.connection_type);
    return result;
  }
  if (!SourceAllowed(Claim(claims.nats, "src"), c.client_ip)) {
    result.reason = "user JWT: " + c.client_ip + " is not in its src networks";
    return result;
  }
  int64_t window_end = 0;
  const auto location = claims.nats.find("times_location");
  if (!WithinTimes(Claim(claims.nats, "times"),
                   location != claims.nats.end() && location->is_string()
                       ? location->get_ref<const std::string&>()
                       : std::string_view(),
                   now, &window_end, &problem)) {
    result.reason = "user JWT: " + problem;
    return result;
  }
  result.expires_at = claims.expires;
  if (window_end != 0 && (result.expires_at == 0 || window_end < result.expires_at)) {
    result.expires_at = window_end;
  }
  result.ok = true;
  result.user = claims.subject;
  result.account = static_cast<AccountId>(id);
  result.permissions = scoped ? permissions : PermissionsFromClaims(claims.nats);
  // Version 1 JWTs leave limits out: only a limit that is there counts.
  const auto limit = [&](const char* key) {
    const auto it = claims.nats.find(key);
    return it != claims.nats.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
  };
  result.max_subscriptions = limit("subs");
  result.max_payload = limit("payload");
  return result;
}

}  // namespace

bool SecretMatches(const std::string& configured, const std::string& given) {
  if (!IsBcrypt(configured)) return ConstantTimeEqual(configured, given);
  crypt_data data{};
  const char* hashed = crypt_r(given.c_str(), configured.c_str(), &data);
  return hashed != nullptr && hashed[0] != '*' && ConstantTimeEqual(hashed, configured);
}

AuthResult Authenticate(const AuthConfig& config, const Credentials& c, std::string_view nonce,
                        const std::vector<std::string>* certificate_identities) {
  if (config.op.enabled()) return AuthenticateJwt(config, c, nonce);
  AuthResult result;
  if (certificate_identities != nullptr) {
    for (const std::string& identity : *certificate_identities) {
      if (const User* user = config.FindUser(identity);
          user != nullptr && StandardConnectionAllowed(user->connection_types)) {
        result.ok = true;
        result.user = user->name;
        result.permissions = user->permissions;
        result.account = user->account_id;
        return result;
      }
    }
    result.reason = "no user matches the client certificate";
    return result;
  }
  if (!c.jwt.empty()) {
    result.reason = "a JWT was given but the server is not in operator mode";
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
      // Both are public (the nonce went out in INFO): logged to diagnose a client's signing.
      result.reason = "nkey signature does not verify (nonce \"" + std::string(nonce) +
                      "\", sig \"" + c.sig.substr(0, 128) + "\")";
    } else if (!ConnectionTypeAllowed(user->connection_types, c.connection_type)) {
      result.reason = "allowed_connection_types of " + user->name + " leaves out " +
                      std::string(c.connection_type);
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
  if (!ConnectionTypeAllowed(user->connection_types, c.connection_type)) {
    result.reason = "allowed_connection_types of " + user->name + " leaves out " +
                    std::string(c.connection_type);
    return result;
  }
  result.ok = true;
  result.user = user->name;
  result.permissions = user->permissions;
  result.account = user->account_id;
  return result;
}

}  // namespace tern::core::auth
