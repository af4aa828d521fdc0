#pragma once
// Accounts: isolated subject spaces on one server, from the `accounts` block and
// `system_account`, in nats-server's forms. Each account has an index (AccountId) that
// travels with every subscription and message; $G (users outside any account) is 0.
// Exports and imports let one account see another's messages (stream) or answer its
// requests (service). Built by the main thread with the other options; immutable after.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/auth/permissions.h"
#include "core/conf.h"

namespace tern::core::auth {

using AccountId = uint16_t;
inline constexpr AccountId kGlobalAccount = 0;
inline constexpr const char* kGlobalAccountName = "$G";
inline constexpr const char* kDefaultSystemAccountName = "$SYS";
// Far more than a config file names; the limit keeps AccountId small on the wire.
inline constexpr std::size_t kMaxAccounts = 4096;

enum class ExchangeKind { kStream, kService };

struct Export {
  ExchangeKind kind = ExchangeKind::kStream;
  std::string subject;
  // Who may import; empty = anyone. "" stands for "whoever holds an activation token"
  // (JWT exports with token_req).
  std::vector<std::string> accounts;
  std::string response_type = "Singleton";
};

struct Import {
  ExchangeKind kind = ExchangeKind::kStream;
  std::string account;     // the exporter
  AccountId from = 0;      // resolved
  std::string subject;     // in the exporter's subject space
  std::string to;          // in the importer's; empty = the same as subject
  std::string activation;  // JWT accounts: the exporter's activation token, if any
};

struct JetStreamLimits {
  bool enabled = false;
  int64_t max_memory = -1;  // bytes; -1 = no limit
  int64_t max_file = -1;
  int64_t max_streams = -1;
  int64_t max_consumers = -1;
};

struct Account {
  std::string name;
  std::vector<Export> exports;
  std::vector<Import> imports;
  JetStreamLimits jetstream;
  bool jetstream_set = false;  // the account block said something about jetstream
  // JWT accounts (operator mode): the keys that may sign its users besides its own (its
  // name); scoped keys also fix the permissions of the users they sign.
  std::vector<std::string> signing_keys;
  std::vector<std::pair<std::string, std::shared_ptr<const Permissions>>> scoped_keys;
  // JWT accounts: user keys (or "*", every user) whose JWTs issued at or before the time
  // (unix seconds) are revoked.
  absl::flat_hash_map<std::string, int64_t> revoked_users;
  // JWT account limits; -1 = none.
  int64_t max_connections = -1;
  int64_t max_payload = -1;
};

struct Accounts {
  std::vector<Account> list;  // index = AccountId; list[0] is $G once resolved
  std::string system_name;    // from system_account; empty = $SYS
  AccountId system = 0;       // resolved
  bool configured = false;    // an accounts block was given

  // The account's id, or -1.
  int Find(std::string_view name) const;
  const Account& operator[](AccountId id) const { return list[id]; }
  std::size_t size() const { return list.size(); }
};

struct User;

// Reads `accounts { NAME { users, exports, imports, jetstream } }`. Users go to *users
// with their account's name; the rest to *accounts.
bool ParseAccounts(const ConfValue& block, Accounts* accounts, std::vector<User>* users,
                   std::string* error);
// Puts $G first and the system account in the list, and checks every import against the
// exporter's exports. False with *error for an import nobody exports, an unknown
// account, a bad mapping.
bool ResolveAccounts(Accounts* accounts, std::string* error);

// A node without JetStream of its own in a cluster whose other nodes may serve it
// (nats-server's "mixed mode"): the system account exports `$JS.API.>` and the accounts
// that would use JetStream import it: every account whose block enables JetStream, and $G
// when it and the system account are the only ones. Call after ResolveAccounts.
void ImportJetStreamFromSystem(Accounts* accounts);

}  // namespace tern::core::auth
