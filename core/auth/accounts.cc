#include "core/auth/accounts.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/auth/auth_config.h"
#include "core/auth/jwt.h"
#include "core/subject.h"
#include "core/subject_transform.h"

namespace tern::core::auth {
namespace {

bool ReadSubjectText(const ConfValue& v, const std::string& key, std::string* out,
                     std::string* error) {
  if (!ConfString(v, key, out, error)) return false;
  if (!IsValidSubject(*out)) return ConfFail(v, "'" + key + "' is not a valid subject", error);
  return true;
}

bool ReadExport(const ConfValue& v, Export* out, std::string* error) {
  if (v.type != ConfValue::Type::kMap) return ConfFail(v, "each export expects a block", error);
  bool have_subject = false;
  for (const auto& [k, sub] : v.map) {
    if (k == "stream" || k == "service") {
      if (have_subject) return ConfFail(sub, "an export is a stream or a service, not both", error);
      have_subject = true;
      out->kind = k == "stream" ? ExchangeKind::kStream : ExchangeKind::kService;
      if (!ReadSubjectText(sub, k, &out->subject, error)) return false;
    } else if (k == "accounts") {
      if (sub.type != ConfValue::Type::kArray)
        return ConfFail(sub, "'accounts' expects a list", error);
      for (const ConfValue& name : sub.array) {
        std::string account;
        if (!ConfString(name, "accounts", &account, error)) return false;
        out->accounts.push_back(account);
      }
    } else if (k == "response_type" || k == "response") {
      std::string type;
      if (!ConfString(sub, k, &type, error)) return false;
      for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (type == "singleton") {
        out->response_type = "Singleton";
      } else if (type == "stream") {
        out->response_type = "Stream";
      } else if (type == "chunked") {
        out->response_type = "Chunked";
      } else {
        return ConfFail(sub, "'response_type' is singleton, stream or chunked", error);
      }
    } else if (k == "response_threshold" || k == "threshold" || k == "latency" ||
               k == "account_token_position" || k == "advertise") {
      // Accepted as nats-server does; responses are not timed or tracked here.
    } else {
      return ConfFail(sub, "unknown export key '" + k + "'", error);
    }
  }
  if (!have_subject) return ConfFail(v, "an export needs 'stream' or 'service'", error);
  if (out->kind == ExchangeKind::kStream && out->response_type != "Singleton") {
    return ConfFail(v, "'response_type' is for service exports", error);
  }
  return true;
}

bool ReadImport(const ConfValue& v, Import* out, std::string* error) {
  if (v.type != ConfValue::Type::kMap) return ConfFail(v, "each import expects a block", error);
  bool have_source = false;
  std::string prefix;
  for (const auto& [k, sub] : v.map) {
    if (k == "stream" || k == "service") {
      if (have_source) return ConfFail(sub, "an import is a stream or a service, not both", error);
      have_source = true;
      out->kind = k == "stream" ? ExchangeKind::kStream : ExchangeKind::kService;
      if (sub.type != ConfValue::Type::kMap) {
        return ConfFail(sub, "'" + k + "' expects {account: ..., subject: ...}", error);
      }
      for (const auto& [sk, sv] : sub.map) {
        if (sk == "account") {
          if (!ConfString(sv, sk, &out->account, error)) return false;
        } else if (sk == "subject") {
          if (!ReadSubjectText(sv, sk, &out->subject, error)) return false;
        } else {
          return ConfFail(sv, "unknown key '" + sk + "' in an import's source", error);
        }
      }
      if (out->account.empty() || out->subject.empty()) {
        return ConfFail(sub, "an import's source needs 'account' and 'subject'", error);
      }
    } else if (k == "to" || k == "local_subject") {
      if (!ConfString(sub, k, &out->to, error)) return false;
      if (!IsValidSubject(out->to))
        return ConfFail(sub, "'" + k + "' is not a valid subject", error);
    } else if (k == "prefix") {
      if (!ConfString(sub, k, &prefix, error)) return false;
      if (prefix.empty() || !IsValidLiteralSubject(prefix)) {
        return ConfFail(sub, "'prefix' must be a literal subject", error);
      }
    } else if (k == "share" || k == "allow_trace") {
      // Latency sharing and tracing are not served; accepting them changes no access.
    } else {
      return ConfFail(sub, "unknown import key '" + k + "'", error);
    }
  }
  if (!have_source) return ConfFail(v, "an import needs 'stream' or 'service'", error);
  if (!prefix.empty()) {
    if (out->kind != ExchangeKind::kStream)
      return ConfFail(v, "'prefix' is for stream imports", error);
    if (!out->to.empty()) return ConfFail(v, "an import has 'prefix' or 'to', not both", error);
    out->to = prefix + "." + out->subject;
  }
  return true;
}

bool ReadLimit(const ConfValue& v, const std::string& key, int64_t* out, std::string* error) {
  if (v.type != ConfValue::Type::kInteger || v.integer < -1) {
    return ConfFail(v, "'" + key + "' expects a size or -1", error);
  }
  *out = v.integer;
  return true;
}

bool ReadJetStream(const ConfValue& v, JetStreamLimits* out, std::string* error) {
  if (v.type == ConfValue::Type::kBool) {
    out->enabled = v.boolean;
    return true;
  }
  if (v.type == ConfValue::Type::kString) {
    if (v.text == "enabled" || v.text == "enable") {
      out->enabled = true;
      return true;
    }
    if (v.text == "disabled" || v.text == "disable") {
      out->enabled = false;
      return true;
    }
  }
  if (v.type != ConfValue::Type::kMap) {
    return ConfFail(v, "'jetstream' expects enabled/disabled or a block of limits", error);
  }
  out->enabled = true;
  for (const auto& [k, sub] : v.map) {
    if (k == "max_memory" || k == "max_mem" || k == "mem" || k == "memory") {
      if (!ReadLimit(sub, k, &out->max_memory, error)) return false;
    } else if (k == "max_file" || k == "max_store" || k == "store" || k == "disk") {
      if (!ReadLimit(sub, k, &out->max_file, error)) return false;
    } else if (k == "max_streams" || k == "streams") {
      if (!ReadLimit(sub, k, &out->max_streams, error)) return false;
    } else if (k == "max_consumers" || k == "consumers") {
      if (!ReadLimit(sub, k, &out->max_consumers, error)) return false;
    } else {
      return ConfFail(sub, "unknown jetstream limit '" + k + "'", error);
    }
  }
  return true;
}

bool ReadAccount(const std::string& name, const ConfValue& v, Account* account,
                 std::vector<User>* users, std::string* error) {
  account->name = name;
  if (v.type != ConfValue::Type::kMap) {
    return ConfFail(v, "account \"" + name + "\" expects a block", error);
  }
  for (const auto& [k, sub] : v.map) {
    if (k == "users") {
      if (!ReadUserList(sub, nullptr, name, users, error)) return false;
    } else if (k == "exports") {
      if (sub.type != ConfValue::Type::kArray)
        return ConfFail(sub, "'exports' expects a list", error);
      for (const ConfValue& entry : sub.array) {
        account->exports.emplace_back();
        if (!ReadExport(entry, &account->exports.back(), error)) return false;
      }
    } else if (k == "imports") {
      if (sub.type != ConfValue::Type::kArray)
        return ConfFail(sub, "'imports' expects a list", error);
      for (const ConfValue& entry : sub.array) {
        account->imports.emplace_back();
        if (!ReadImport(entry, &account->imports.back(), error)) return false;
      }
    } else if (k == "jetstream") {
      account->jetstream_set = true;
      if (!ReadJetStream(sub, &account->jetstream, error)) return false;
    } else {
      return ConfFail(sub, "unknown key '" + k + "' in account \"" + name + "\"", error);
    }
  }
  return true;
}

bool MayImport(const Export& e, const std::string& importer) {
  if (e.accounts.empty()) return true;
  for (const std::string& name : e.accounts) {
    if (name == importer) return true;
  }
  return false;
}

// A JWT import of a token-only export: the exporter's activation token names the
// importer and covers the subject.
bool Activated(const Import& import, const Account& exporter, const std::string& importer) {
  if (import.activation.empty()) return false;
  JwtClaims claims;
  std::string problem;
  if (!DecodeJwt(ExtractJwt(import.activation), &claims, &problem) ||
      !JwtTimely(claims, static_cast<int64_t>(std::time(nullptr)), &problem)) {
    return false;
  }
  const bool issued_by_exporter =
      claims.issuer == exporter.name ||
      std::find(exporter.signing_keys.begin(), exporter.signing_keys.end(), claims.issuer) !=
          exporter.signing_keys.end();
  const auto subject = claims.nats.find("subject");
  return claims.type == "activation" && issued_by_exporter && claims.subject == importer &&
         subject != claims.nats.end() && subject->is_string() &&
         SubjectIsSubsetOf(import.subject, subject->get<std::string>());
}

}  // namespace

int Accounts::Find(std::string_view name) const {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool ParseAccounts(const ConfValue& block, Accounts* accounts, std::vector<User>* users,
                   std::string* error) {
  if (block.type != ConfValue::Type::kMap)
    return ConfFail(block, "'accounts' expects a block", error);
  accounts->configured = true;
  for (const auto& [name, v] : block.map) {
    if (name.empty() || name.find_first_of(" \t.*>") != std::string::npos) {
      return ConfFail(v, "invalid account name \"" + name + "\"", error);
    }
    if (name == kGlobalAccountName)
      return ConfFail(v, "\"$G\" is the global account's name", error);
    if (accounts->Find(name) >= 0)
      return ConfFail(v, "account \"" + name + "\" is defined twice", error);
    accounts->list.emplace_back();
    if (!ReadAccount(name, v, &accounts->list.back(), users, error)) return false;
  }
  return true;
}

bool ResolveAccounts(Accounts* accounts, std::string* error) {
  if (accounts->list.empty() || accounts->list[0].name != kGlobalAccountName) {
    Account global;
    global.name = kGlobalAccountName;
    accounts->list.insert(accounts->list.begin(), std::move(global));
  }
  const std::string system =
      accounts->system_name.empty() ? kDefaultSystemAccountName : accounts->system_name;
  int system_id = accounts->Find(system);
  if (system_id < 0) {
    if (!accounts->system_name.empty()) {
      *error = "system_account: account \"" + system + "\" is not defined";
      return false;
    }
    Account sys;
    sys.name = system;
    accounts->list.push_back(std::move(sys));
    system_id = static_cast<int>(accounts->list.size() - 1);
  }
  if (accounts->list.size() > kMaxAccounts) {
    *error = "too many accounts (at most " + std::to_string(kMaxAccounts) + ")";
    return false;
  }
  accounts->system = static_cast<AccountId>(system_id);
  for (Account& account : accounts->list) {
    for (const Export& e : account.exports) {
      for (const std::string& name : e.accounts) {
        if (!name.empty() && accounts->Find(name) < 0) {
          *error = "account \"" + account.name + "\" exports \"" + e.subject +
                   "\" to an unknown account \"" + name + "\"";
          return false;
        }
      }
    }
    for (Import& import : account.imports) {
      const std::string what = "account \"" + account.name + "\" imports " +
                               (import.kind == ExchangeKind::kStream ? "stream" : "service") +
                               " \"" + import.subject + "\" from \"" + import.account + "\"";
      const int from = accounts->Find(import.account);
      if (from < 0) {
        *error = what + ": no such account";
        return false;
      }
      if (from == &account - accounts->list.data()) {
        *error = what + ": an account can not import from itself";
        return false;
      }
      import.from = static_cast<AccountId>(from);
      bool exported = false;
      const Account& exporter = accounts->list[from];
      for (const Export& e : exporter.exports) {
        if (e.kind == import.kind && SubjectIsSubsetOf(import.subject, e.subject) &&
            (MayImport(e, account.name) || Activated(import, exporter, account.name))) {
          exported = true;
          break;
        }
      }
      if (!exported) {
        *error = what + ": not authorized (no matching export)";
        return false;
      }
      SubjectTransform transform;
      std::string mapping_error;
      const bool ok =
          import.kind == ExchangeKind::kStream
              ? SubjectTransform::Make(import.subject, import.to, &transform, &mapping_error)
              : SubjectTransform::Make(import.to.empty() ? import.subject : import.to,
                                       import.subject, &transform, &mapping_error);
      if (!ok) {
        *error = what + ": " + mapping_error;
        return false;
      }
    }
  }
  return true;
}

void ImportJetStreamFromSystem(Accounts* accounts) {
  static constexpr const char* kJetStreamApi = "$JS.API.>";
  Account& system = accounts->list[accounts->system];
  const bool only_global_and_system = accounts->list.size() == 2 && accounts->system != 0;
  bool any = false;
  for (std::size_t id = 0; id < accounts->list.size(); ++id) {
    if (id == accounts->system) continue;
    Account& account = accounts->list[id];
    if (!account.jetstream.enabled && !(id == kGlobalAccount && only_global_and_system)) continue;
    const bool imported = std::any_of(account.imports.begin(), account.imports.end(),
                                      [](const Import& i) { return i.subject == kJetStreamApi; });
    if (imported) continue;
    Import import;
    import.kind = ExchangeKind::kService;
    import.account = system.name;
    import.from = accounts->system;
    import.subject = kJetStreamApi;
    account.imports.push_back(std::move(import));
    any = true;
  }
  const bool exported = std::any_of(system.exports.begin(), system.exports.end(),
                                    [](const Export& e) { return e.subject == kJetStreamApi; });
  if (any && !exported) {
    Export e;
    e.kind = ExchangeKind::kService;
    e.subject = kJetStreamApi;
    system.exports.push_back(std::move(e));
  }
}

}  // namespace tern::core::auth
