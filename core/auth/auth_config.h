#pragma once
// AuthConfig: who may connect, from the `authorization` block, `no_auth_user` and the
// --auth/--user/--pass flags, in nats-server's forms. Built by the main thread with the
// other options; immutable afterwards (a reload builds a new one).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/auth/accounts.h"
#include "core/auth/operator.h"
#include "core/auth/permissions.h"
#include "core/conf.h"

namespace tern::core::auth {

struct User {
  std::string name;      // user name, or the nkey for nkey users
  std::string password;  // plain text, or a bcrypt hash ("$2a$...", "$2b$...")
  std::string nkey;      // public user nkey ("U..."), for nkey users
  std::shared_ptr<const Permissions> permissions;  // null = may do anything
  std::string account;                             // empty = the global account
  AccountId account_id = kGlobalAccount;           // resolved by ValidateAuth
  std::vector<std::string> connection_types;       // allowed_connection_types; empty = all
};

struct AuthConfig {
  std::string token;  // plain or bcrypt
  std::vector<User> users;
  std::string no_auth_user;  // a user from `users` that clients without credentials become
  int64_t timeout_ns = int64_t{2} * 1'000'000'000;
  Accounts accounts;
  OperatorConfig op;  // operator mode: users come with JWTs
  // The user came from `authorization { user, password }` or --user/--pass, not a `users`
  // list. nats-server keeps no user table then: on a reload, connections of a named user
  // are closed as users that no longer exist.
  bool single_user = false;

  bool required() const { return !token.empty() || !users.empty() || op.enabled(); }
  // A nonce goes in INFO when some user signs it (nkeys).
  bool wants_nonce() const;
  const User* FindUser(const std::string& name) const;
  const User* FindNkey(const std::string& nkey) const;
};

// Reads `authorization { ... }`. False with *error (naming file:line:col) for bad input.
bool ParseAuthorization(const ConfValue& block, AuthConfig* config, std::string* error);
// A `users` list; `account` (may be empty) is the account block it is written in.
// Reads `{ allow: [...], deny: [...] }` (or a bare list: an allow list) of subjects; `key`
// names it in errors.
bool ReadSubjectPermission(const ConfValue& v, const std::string& key, SubjectPermission* out,
                           std::string* error);

bool ReadUserList(const ConfValue& v, std::shared_ptr<const Permissions> defaults,
                  const std::string& account, std::vector<User>* out, std::string* error);
// Resolves accounts (ResolveAccounts) and every user's account, and checks the
// combination (a token with users, no_auth_user naming nobody, ...).
bool ValidateAuth(AuthConfig* config, std::string* error);

}  // namespace tern::core::auth
