#include "core/auth/auth_config.h"

#include "core/auth/nkeys.h"
#include "core/auth/user_limits.h"
#include "core/subject.h"
#include "core/units.h"

namespace tern::core::auth {
namespace {

// "subject", ["a", "b"], or {allow: ..., deny: ...}.
bool ReadSubjects(const ConfValue& v, const std::string& key, std::vector<std::string>* out,
                  std::string* error) {
  for (const ConfValue* item : ConfItems(v)) {
    if (item->type != ConfValue::Type::kString) {
      return ConfFail(*item, "'" + key + "' expects subjects", error);
    }
    const std::string subject = item->text.substr(0, item->text.find(' '));
    if (!IsValidSubject(subject)) {
      return ConfFail(*item, "'" + key + "' has an invalid subject \"" + item->text + "\"", error);
    }
    out->push_back(item->text);
  }
  return true;
}

bool ReadPermissions(const ConfValue& v, Permissions* out, std::string* error) {
  if (v.type != ConfValue::Type::kMap) return ConfFail(v, "'permissions' expects a block", error);
  for (const auto& [k, sub] : v.map) {
    if (k == "publish" || k == "pub") {
      out->publish.emplace();
      if (!ReadSubjectPermission(sub, "publish", &*out->publish, error)) return false;
    } else if (k == "subscribe" || k == "sub") {
      out->subscribe.emplace();
      if (!ReadSubjectPermission(sub, "subscribe", &*out->subscribe, error)) return false;
    } else if (k == "allow_responses" || k == "publish_allow_responses") {
      if (sub.type == ConfValue::Type::kBool) {
        if (sub.boolean) out->responses.emplace();
      } else if (sub.type == ConfValue::Type::kMap) {
        ResponsePermission r;
        for (const auto& [rk, rv] : sub.map) {
          if (rk == "max" || rk == "max_msgs" || rk == "max_messages" || rk == "max_responses") {
            if (rv.type != ConfValue::Type::kInteger || rv.integer < 0) {
              return ConfFail(rv, "'allow_responses." + rk + "' expects a number", error);
            }
            r.max_msgs = rv.integer == 0 ? 1 : rv.integer;
          } else if (rk == "expires" || rk == "expiration" || rk == "ttl") {
            int64_t ns = 0;
            if (rv.type == ConfValue::Type::kInteger) {
              if (!SecondsToNs(static_cast<double>(rv.integer), &ns)) {
                return ConfFail(rv, "'allow_responses.expires' is out of range", error);
              }
            } else if (rv.type != ConfValue::Type::kString || !ParseDuration(rv.text, &ns)) {
              return ConfFail(rv, "'allow_responses.expires' expects a duration", error);
            }
            if (ns > 0) r.expires_ns = ns;
          } else {
            return ConfFail(rv, "unknown key '" + rk + "' in 'allow_responses'", error);
          }
        }
        out->responses = r;
      } else {
        return ConfFail(sub, "'allow_responses' expects true/false or a block", error);
      }
    } else {
      return ConfFail(sub, "unknown permission '" + k + "'", error);
    }
  }
  out->Normalize();
  return true;
}

bool ReadConnectionTypes(const ConfValue& v, const std::string& key, std::vector<std::string>* out,
                         std::string* error) {
  const std::vector<ConfValue> one{v};  // a single type may stand alone
  if (v.type != ConfValue::Type::kArray && v.type != ConfValue::Type::kString) {
    return ConfFail(v, "'" + key + "' expects a list of connection types", error);
  }
  for (const ConfValue& item : v.type == ConfValue::Type::kArray ? v.array : one) {
    std::string type;
    if (!ConfString(item, key, &type, error)) return false;
    if (!IsConnectionType(type)) {
      return ConfFail(item, "unknown connection type \"" + type + "\"", error);
    }
    out->push_back(std::move(type));
  }
  return true;
}

bool ReadUser(const ConfValue& v, std::shared_ptr<const Permissions> defaults, User* user,
              std::string* error) {
  if (v.type != ConfValue::Type::kMap) return ConfFail(v, "each user expects a block", error);
  user->permissions = std::move(defaults);
  for (const auto& [k, sub] : v.map) {
    if (k == "user" || k == "username") {
      if (!ConfString(sub, k, &user->name, error)) return false;
    } else if (k == "password" || k == "pass") {
      if (!ConfString(sub, k, &user->password, error)) return false;
    } else if (k == "nkey") {
      if (!ConfString(sub, k, &user->nkey, error)) return false;
      std::string raw;
      if (!DecodePublicKey(user->nkey, KeyRole::kUser, &raw)) {
        return ConfFail(sub, "not a valid public user nkey: \"" + user->nkey + "\"", error);
      }
    } else if (k == "permissions" || k == "permission") {
      auto permissions = std::make_shared<Permissions>();
      if (!ReadPermissions(sub, permissions.get(), error)) return false;
      user->permissions = std::move(permissions);
    } else if (k == "account") {
      if (!ConfString(sub, k, &user->account, error)) return false;
    } else if (k == "allowed_connection_types" || k == "connection_types" || k == "clients") {
      if (!ReadConnectionTypes(sub, k, &user->connection_types, error)) return false;
    } else {
      return ConfFail(sub, "unknown user key '" + k + "'", error);
    }
  }
  if (user->nkey.empty() && user->name.empty()) {
    return ConfFail(v, "a user needs 'user' (with 'password') or 'nkey'", error);
  }
  if (!user->nkey.empty() && !user->password.empty()) {
    return ConfFail(v, "an nkey user has no password", error);
  }
  if (!user->nkey.empty()) user->name = user->nkey;
  return true;
}

}  // namespace

bool ReadSubjectPermission(const ConfValue& v, const std::string& key, SubjectPermission* out,
                           std::string* error) {
  if (v.type != ConfValue::Type::kMap) {  // a bare list is an allow list
    out->allow.emplace();
    return ReadSubjects(v, key, &*out->allow, error);
  }
  for (const auto& [k, sub] : v.map) {
    if (k == "allow") {
      if (!out->allow) out->allow.emplace();
      if (!ReadSubjects(sub, key + ".allow", &*out->allow, error)) return false;
    } else if (k == "deny") {
      if (!ReadSubjects(sub, key + ".deny", &out->deny, error)) return false;
    } else {
      return ConfFail(sub, "unknown key '" + k + "' in '" + key + "' (allow or deny)", error);
    }
  }
  return true;
}

bool ReadUserList(const ConfValue& v, std::shared_ptr<const Permissions> defaults,
                  const std::string& account, std::vector<User>* out, std::string* error) {
  if (v.type != ConfValue::Type::kArray) return ConfFail(v, "'users' expects an array", error);
  for (const ConfValue& entry : v.array) {
    User user;
    if (!ReadUser(entry, defaults, &user, error)) return false;
    if (!account.empty()) {
      if (!user.account.empty() && user.account != account) {
        return ConfFail(entry, "a user of account \"" + account + "\" names another account",
                        error);
      }
      user.account = account;
    }
    out->push_back(std::move(user));
  }
  return true;
}

bool AuthConfig::wants_nonce() const {
  if (op.enabled()) return true;
  for (const User& u : users) {
    if (!u.nkey.empty()) return true;
  }
  return false;
}

const User* AuthConfig::FindUser(const std::string& name) const {
  for (const User& u : users) {
    if (u.nkey.empty() && u.name == name) return &u;
  }
  return nullptr;
}

const User* AuthConfig::FindNkey(const std::string& nkey) const {
  for (const User& u : users) {
    if (!u.nkey.empty() && u.nkey == nkey) return &u;
  }
  return nullptr;
}

bool ParseAuthorization(const ConfValue& block, AuthConfig* config, std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "'authorization' expects a block", error);
  }
  std::shared_ptr<const Permissions> defaults;
  if (const ConfValue* d = block.Find("default_permissions")) {
    auto permissions = std::make_shared<Permissions>();
    if (!ReadPermissions(*d, permissions.get(), error)) return false;
    defaults = std::move(permissions);
  }
  User single;
  bool have_single = false;
  for (const auto& [k, v] : block.map) {
    if (k == "token" || k == "auth_token") {
      if (!ConfString(v, k, &config->token, error)) return false;
    } else if (k == "user" || k == "username") {
      have_single = true;
      if (!ConfString(v, k, &single.name, error)) return false;
    } else if (k == "password" || k == "pass") {
      have_single = true;
      if (!ConfString(v, k, &single.password, error)) return false;
    } else if (k == "timeout") {
      if (v.type == ConfValue::Type::kInteger || v.type == ConfValue::Type::kFloat) {
        const double seconds =
            v.type == ConfValue::Type::kInteger ? static_cast<double>(v.integer) : v.number;
        if (!SecondsToNs(seconds, &config->timeout_ns)) {
          return ConfFail(v, "'timeout' is out of range", error);
        }
      } else if (v.type != ConfValue::Type::kString ||
                 !ParseDuration(v.text, &config->timeout_ns)) {
        return ConfFail(v, "'timeout' expects seconds or a duration", error);
      }
      if (config->timeout_ns <= 0) return ConfFail(v, "'timeout' must be positive", error);
    } else if (k == "users") {
      if (!ReadUserList(v, defaults, "", &config->users, error)) return false;
    } else if (k == "permissions") {
      auto permissions = std::make_shared<Permissions>();
      if (!ReadPermissions(v, permissions.get(), error)) return false;
      single.permissions = std::move(permissions);
    } else if (k == "default_permissions") {
      // read above, before the users it applies to
    } else {
      return ConfFail(v, "unknown authorization key '" + k + "'", error);
    }
  }
  if (have_single) {
    if (!config->users.empty()) {
      return ConfFail(block, "can not have a single user/pass and a users array", error);
    }
    if (single.name.empty()) return ConfFail(block, "'password' without 'user'", error);
    config->users.push_back(std::move(single));
    config->single_user = true;
  }
  if (!config->token.empty() && !config->users.empty()) {
    return ConfFail(block, "can not have a token and a users array", error);
  }
  return true;
}

bool ValidateAuth(AuthConfig* config, std::string* error) {
  if (config->op.enabled() && !config->op.resolved) {
    if (!config->users.empty() || !config->token.empty() || config->accounts.configured) {
      *error = "operator mode can not be combined with users, a token or an accounts block";
      return false;
    }
    if (!ResolveOperator(&config->op, &config->accounts, error)) return false;
    config->op.resolved = true;
  }
  if (!ResolveAccounts(&config->accounts, error)) return false;
  for (User& user : config->users) {
    if (user.account.empty()) continue;
    const int id = config->accounts.Find(user.account);
    if (id < 0) {
      *error = "user \"" + user.name + "\" names an unknown account \"" + user.account + "\"";
      return false;
    }
    user.account_id = static_cast<AccountId>(id);
  }
  if (!config->no_auth_user.empty() && config->FindUser(config->no_auth_user) == nullptr) {
    *error = "no_auth_user: \"" + config->no_auth_user + "\" not present as user in authorization";
    return false;
  }
  return true;
}

}  // namespace tern::core::auth
