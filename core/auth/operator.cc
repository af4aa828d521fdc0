#include "core/auth/operator.h"

#include <algorithm>
#include <ctime>

#include "core/auth/jwt.h"
#include "core/subject.h"

namespace tern::core::auth {
namespace {

std::string Text(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Number(const nlohmann::json& object, const char* key, int64_t fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

std::vector<std::string> Strings(const nlohmann::json& object, const char* key) {
  std::vector<std::string> out;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const auto& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// {allow: [...], deny: [...]}; unset when both are empty (no limit).
std::optional<SubjectPermission> ReadPermission(const nlohmann::json& nats, const char* key) {
  const auto it = nats.find(key);
  if (it == nats.end() || !it->is_object()) return std::nullopt;
  SubjectPermission p;
  const std::vector<std::string> allow = Strings(*it, "allow");
  if (!allow.empty()) p.allow = allow;
  p.deny = Strings(*it, "deny");
  if (!p.allow && p.deny.empty()) return std::nullopt;
  return p;
}

bool ReadAccountJwt(const std::string& key, const std::string& token,
                    const std::vector<std::string>& trusted, int64_t now, Account* account,
                    std::string* error) {
  JwtClaims claims;
  std::string problem;
  if (!DecodeJwt(token, &claims, &problem) || !JwtTimely(claims, now, &problem)) {
    *error = "resolver_preload: account " + key + ": " + problem;
    return false;
  }
  if (claims.type != "account" || claims.subject != key) {
    *error = "resolver_preload: the JWT for " + key + " is not that account's";
    return false;
  }
  if (!Contains(trusted, claims.issuer)) {
    *error = "resolver_preload: account " + key + " is signed by " + claims.issuer +
             ", which no trusted operator names";
    return false;
  }
  const nlohmann::json& nats = claims.nats;
  account->name = key;
  if (const auto it = nats.find("signing_keys"); it != nats.end() && it->is_array()) {
    for (const auto& entry : *it) {
      if (entry.is_string()) {
        account->signing_keys.push_back(entry.get<std::string>());
      } else if (entry.is_object() && Text(entry, "kind") == "user_scope") {
        const auto scope = entry.find("template");
        account->scoped_keys.emplace_back(
            Text(entry, "key"),
            scope != entry.end() && scope->is_object() ? PermissionsFromClaims(*scope) : nullptr);
      }
    }
  }
  if (const auto limits = nats.find("limits"); limits != nats.end() && limits->is_object()) {
    JetStreamLimits& js = account->jetstream;
    js.max_memory = Number(*limits, "mem_storage", 0);
    js.max_file = Number(*limits, "disk_storage", 0);
    js.max_streams = Number(*limits, "streams", -1);
    js.max_consumers = Number(*limits, "consumer", -1);
    js.enabled = js.max_memory != 0 || js.max_file != 0;
    account->jetstream_set = true;
    account->max_connections = Number(*limits, "conn", -1);
    account->max_payload = Number(*limits, "payload", -1);
  }
  if (const auto revoked = nats.find("revocations");
      revoked != nats.end() && revoked->is_object()) {
    for (const auto& [user, at] : revoked->items()) {
      if (at.is_number_integer()) account->revoked_users[user] = at.get<int64_t>();
    }
  }
  if (const auto exports = nats.find("exports"); exports != nats.end() && exports->is_array()) {
    for (const auto& e : *exports) {
      Export out;
      out.kind = Text(e, "type") == "service" ? ExchangeKind::kService : ExchangeKind::kStream;
      out.subject = Text(e, "subject");
      if (!IsValidSubject(out.subject)) {
        *error = "account " + key + ": an export has an invalid subject";
        return false;
      }
      if (const std::string type = Text(e, "response_type"); !type.empty()) {
        out.response_type = type;
      }
      // An export that requires a token admits only imports that carry one (checked when
      // imports are resolved): no account is approved by name.
      if (const auto req = e.find("token_req"); req != e.end() && *req == true) {
        out.accounts.push_back("");
      }
      account->exports.push_back(std::move(out));
    }
  }
  if (const auto imports = nats.find("imports"); imports != nats.end() && imports->is_array()) {
    for (const auto& i : *imports) {
      Import out;
      out.kind = Text(i, "type") == "service" ? ExchangeKind::kService : ExchangeKind::kStream;
      out.account = Text(i, "account");
      const std::string subject = Text(i, "subject");
      const std::string to = Text(i, "to");
      const std::string local = Text(i, "local_subject");
      if (out.kind == ExchangeKind::kStream) {
        out.subject = subject;
        out.to = !local.empty() ? local : to.empty() ? "" : to + "." + subject;
      } else if (!local.empty()) {
        out.subject = subject;
        out.to = local;
      } else {
        out.subject = to.empty() ? subject : to;
        out.to = subject;
      }
      out.activation = Text(i, "token");
      account->imports.push_back(std::move(out));
    }
  }
  return true;
}

}  // namespace

std::shared_ptr<const Permissions> PermissionsFromClaims(const nlohmann::json& nats) {
  auto permissions = std::make_shared<Permissions>();
  permissions->publish = ReadPermission(nats, "pub");
  permissions->subscribe = ReadPermission(nats, "sub");
  if (const auto resp = nats.find("resp"); resp != nats.end() && resp->is_object()) {
    ResponsePermission r;
    r.max_msgs = std::max<int64_t>(1, Number(*resp, "max", 1));
    if (const int64_t ttl = Number(*resp, "ttl", 0); ttl > 0) r.expires_ns = ttl;
    permissions->responses = r;
  }
  if (!permissions->publish && !permissions->subscribe && !permissions->responses) return nullptr;
  permissions->Normalize();
  return permissions;
}

bool ResolveOperator(OperatorConfig* op, Accounts* accounts, std::string* error) {
  if (op->resolver.empty()) {
    *error = "operator mode needs a resolver (resolver: MEMORY with resolver_preload)";
    return false;
  }
  if (op->resolver != "MEMORY" && op->resolver != "memory") {
    *error = "resolver: only MEMORY is supported (with resolver_preload)";
    return false;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  op->trusted_keys.clear();
  std::string system_account;
  for (const std::string& token : op->operator_jwts) {
    JwtClaims claims;
    std::string problem;
    if (!DecodeJwt(token, &claims, &problem) || !JwtTimely(claims, now, &problem)) {
      *error = "operator: " + problem;
      return false;
    }
    if (claims.type != "operator" || claims.issuer != claims.subject || claims.subject[0] != 'O') {
      *error = "operator: the JWT is not a self-signed operator JWT";
      return false;
    }
    op->trusted_keys.push_back(claims.subject);
    for (const std::string& key : Strings(claims.nats, "signing_keys")) {
      op->trusted_keys.push_back(key);
    }
    if (system_account.empty()) system_account = Text(claims.nats, "system_account");
  }
  for (const auto& [key, token] : op->preload) {
    if (accounts->Find(key) >= 0) {
      *error = "resolver_preload: account " + key + " is listed twice";
      return false;
    }
    Account account;
    if (!ReadAccountJwt(key, token, op->trusted_keys, now, &account, error)) return false;
    accounts->list.push_back(std::move(account));
  }
  accounts->configured = true;  // the accounts are the preloaded ones
  if (accounts->system_name.empty() && !system_account.empty()) {
    accounts->system_name = system_account;
    if (accounts->Find(system_account) < 0) {
      // Named by the operator but not preloaded: it exists, with no users of its own.
      Account system;
      system.name = system_account;
      accounts->list.push_back(std::move(system));
    }
  }
  return true;
}

}  // namespace tern::core::auth
