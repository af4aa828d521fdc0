#pragma once
// The operator-mode world the JWT e2e tests share: an operator, a system account and
// accounts A (signing key, stream export), B (imports A's feed) and C (tight limits),
// preloaded into a MEMORY resolver; users made as .creds files; a libnats login that
// retries what libnats itself sometimes gets wrong.
#include <nats/nats.h>

#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "harness.h"
#include "jwt_util.h"

namespace tern::e2e {

using core::auth::KeyRole;

// What nsc writes for an account without limits (nats-server reads a missing limit as 0).
inline const nlohmann::json kNoLimits = {{"subs", -1},        {"data", -1},    {"payload", -1},
                                         {"imports", -1},     {"exports", -1}, {"wildcards", true},
                                         {"conn", -1},        {"leaf", -1},    {"mem_storage", 0},
                                         {"disk_storage", 0}, {"streams", 0},  {"consumer", 0}};

// An operator with a system account, account A (JetStream, a signing key, a stream
// export) and account B (importing A's feed under "a.feed.>").
struct World {
  TestKey op = NewKey(KeyRole::kOperator);
  TestKey sys = NewKey(KeyRole::kAccount);
  TestKey a = NewKey(KeyRole::kAccount);
  TestKey a_signer = NewKey(KeyRole::kAccount);
  TestKey b = NewKey(KeyRole::kAccount);
  TestKey c = NewKey(KeyRole::kAccount);  // one connection, 64-byte payloads
  std::string op_jwt, sys_jwt, a_jwt, b_jwt, c_jwt;

  World() {
    op_jwt = SignJwt(op, op.public_key, "operator", {{"system_account", sys.public_key}});
    sys_jwt = SignJwt(op, sys.public_key, "account", {{"limits", kNoLimits}});
    nlohmann::json limits = kNoLimits;
    limits.update({{"mem_storage", -1}, {"disk_storage", -1}, {"streams", 2}, {"consumer", -1}});
    a_jwt = SignJwt(op, a.public_key, "account",
                    {{"limits", limits},
                     {"signing_keys", {a_signer.public_key}},
                     {"exports", {{{"subject", "feed.>"}, {"type", "stream"}}}}});
    nlohmann::json tight = kNoLimits;
    tight.update({{"conn", 1}, {"payload", 64}});
    c_jwt = SignJwt(op, c.public_key, "account", {{"limits", tight}});
    b_jwt = SignJwt(op, b.public_key, "account",
                    {{"limits", kNoLimits},
                     {"imports",
                      {{{"subject", "feed.>"},
                        {"account", a.public_key},
                        {"type", "stream"},
                        {"local_subject", "a.feed.>"}}}}});
  }

  // `extra` adds preloaded accounts: "KEY: JWT" lines.
  std::string Config(const std::string& account_jwt_for_a = "",
                     const std::string& extra = "") const {
    const std::string dir = WriteConfig("");
    const std::string op_file = dir.substr(0, dir.rfind('/')) + "/operator.jwt";
    std::ofstream(op_file) << op_jwt << "\n";
    return WriteConfig("operator: " + op_file + "\nresolver: MEMORY\nresolver_preload: {\n  " +
                       sys.public_key + ": " + sys_jwt + "\n  " + a.public_key + ": " +
                       (account_jwt_for_a.empty() ? a_jwt : account_jwt_for_a) + "\n  " +
                       b.public_key + ": " + b_jwt + "\n  " + c.public_key + ": " + c_jwt + "\n  " +
                       extra + "\n}\n");
  }

  // A user of `account` signed by `signer`, as a .creds file.
  std::string User(const TestKey& signer, const TestKey& account,
                   nlohmann::json nats = nlohmann::json::object(), int64_t exp = 0,
                   TestKey* user_out = nullptr) const {
    const TestKey user = NewKey(KeyRole::kUser);
    if (signer.public_key != account.public_key) nats["issuer_account"] = account.public_key;
    for (const char* limit : {"subs", "data", "payload"}) {
      if (!nats.contains(limit)) nats[limit] = -1;  // as nsc writes a user without limits
    }
    if (user_out != nullptr) *user_out = user;
    return WriteCreds(SignJwt(signer, user.public_key, "user", nats, exp), user);
  }
};

// libnats 3.4.1 leaves `sig` out of about 1 CONNECT in 300 (against nats-server too; see
// docs/SECURITY.md): a credential that should work gets three tries, one that should be
// refused is refused all three times.
inline natsStatus ConnectWithCreds(const ServerProcess& server, const std::string& creds,
                                   std::unique_ptr<NatsConn>* out = nullptr) {
  natsStatus status = NATS_ERR;
  for (int attempt = 0; attempt < 3 && status != NATS_OK; ++attempt) {
    natsOptions* opts = nullptr;
    natsOptions_Create(&opts);
    natsOptions_SetUserCredentialsFromFiles(opts, creds.c_str(), nullptr);
    status = TryConnect(server, opts, out);
  }
  return status;
}

}  // namespace tern::e2e
