// Operator mode through libnats .creds files: an operator, accounts preloaded into the
// MEMORY resolver, users signed by their account or its signing key. Every way in, every
// way refused (expired, unknown account, foreign signer, tampered token, wrong seed, no
// credentials), JWT permissions and imports, JetStream from the account's limits, and the
// same credentials checked by Debian's nats-server to prove the test's JWTs are real ones.
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "js_util.h"
#include "jwt_util.h"
#include "jwt_world.h"

namespace tern::e2e {
namespace {

using core::auth::KeyRole;

bool Delivered(NatsConn& from, const char* subject, natsSubscription* sub) {
  natsConnection_PublishString(from.nc, subject, "x");
  natsConnection_Flush(from.nc);
  natsMsg* msg = nullptr;
  if (natsSubscription_NextMsg(&msg, sub, 400) != NATS_OK) return false;
  natsMsg_Destroy(msg);
  return true;
}

TEST(Jwt, UsersOfTwoAccountsWithAnImport) {
  const World w;
  auto server = ServerProcess::Start({"-m", "-1", "-c", w.Config()});
  std::unique_ptr<NatsConn> a1, a2, b1;
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a), &a1), NATS_OK);
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.a_signer, w.a), &a2), NATS_OK);  // signing key
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.b, w.b), &b1), NATS_OK);
  natsSubscription *a_sub = nullptr, *b_private = nullptr, *b_feed = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&a_sub, a2->nc, "private"), NATS_OK);
  ASSERT_EQ(natsConnection_SubscribeSync(&b_private, b1->nc, "private"), NATS_OK);
  ASSERT_EQ(natsConnection_SubscribeSync(&b_feed, b1->nc, "a.feed.>"), NATS_OK);
  natsConnection_Flush(a2->nc);
  natsConnection_Flush(b1->nc);
  EXPECT_TRUE(Delivered(*a1, "private", a_sub));
  EXPECT_FALSE(Delivered(*a1, "private", b_private));  // isolated
  EXPECT_TRUE(Delivered(*a1, "feed.prices", b_feed));  // imported, mapped
  // The account is named by its public key on /connz and /accountz.
  const auto connz = nlohmann::json::parse(HttpGet(server->monitor_port(), "/connz").body);
  bool saw_a = false;
  for (const auto& c : connz["connections"]) saw_a |= c["account"] == w.a.public_key;
  EXPECT_TRUE(saw_a) << connz.dump();
  const auto accountz = nlohmann::json::parse(HttpGet(server->monitor_port(), "/accountz").body);
  EXPECT_EQ(accountz["system_account"], w.sys.public_key);
  natsSubscription_Destroy(a_sub);
  natsSubscription_Destroy(b_private);
  natsSubscription_Destroy(b_feed);
}

TEST(Jwt, EveryWayRefused) {
  const World w;
  auto server = ServerProcess::Start({"-c", w.Config()});
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  // Expired.
  EXPECT_NE(ConnectWithCreds(*server, w.User(w.a, w.a, nlohmann::json::object(), now - 5)),
            NATS_OK);
  // Not yet expired works (the same path with a future exp).
  EXPECT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a, nlohmann::json::object(), now + 600)),
            NATS_OK);
  // Signed by an account the resolver does not know.
  const TestKey stranger = NewKey(KeyRole::kAccount);
  EXPECT_NE(ConnectWithCreds(*server, w.User(stranger, stranger)), NATS_OK);
  // Signed by B's key but claiming to be A's user.
  EXPECT_NE(ConnectWithCreds(*server, w.User(w.b, w.a)), NATS_OK);
  // A user JWT with a claim changed after signing (its permissions removed).
  const TestKey user = NewKey(KeyRole::kUser);
  const std::string jwt = SignJwt(w.a, user.public_key, "user", {{"pub", {{"allow", {"x"}}}}});
  const auto dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
  std::string claims_text;
  ASSERT_TRUE(core::auth::DecodeBase64Any(jwt.substr(dot1 + 1, dot2 - dot1 - 1), &claims_text));
  auto claims = nlohmann::json::parse(claims_text);
  claims["nats"].erase("pub");
  const std::string tampered =
      jwt.substr(0, dot1 + 1) + core::auth::EncodeBase64Url(claims.dump()) + jwt.substr(dot2);
  EXPECT_NE(ConnectWithCreds(*server, WriteCreds(tampered, user)), NATS_OK);
  // The right JWT with another user's seed: the nonce signature fails.
  const TestKey other = NewKey(KeyRole::kUser);
  EXPECT_NE(ConnectWithCreds(*server, WriteCreds(jwt, other)), NATS_OK);
  // No credentials, or a password.
  natsOptions* none = nullptr;
  natsOptions_Create(&none);
  EXPECT_NE(TryConnect(*server, none), NATS_OK);
  natsOptions* password = nullptr;
  natsOptions_Create(&password);
  natsOptions_SetUserInfo(password, "a", "a");
  EXPECT_NE(TryConnect(*server, password), NATS_OK);
  // The server kept going and logged why.
  EXPECT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a)), NATS_OK);
  const std::string log = server->Log();
  EXPECT_NE(log.find("user JWT: JWT expired"), std::string::npos) << log;
  EXPECT_NE(log.find("is not known"), std::string::npos);
  EXPECT_NE(log.find("JWT signature does not verify"), std::string::npos);
  EXPECT_NE(log.find("nonce signature does not verify"), std::string::npos);
}

TEST(Jwt, PermissionsInTheUserJwt) {
  const World w;
  auto server = ServerProcess::Start({"-c", w.Config()});
  std::unique_ptr<NatsConn> limited, watcher;
  ASSERT_EQ(
      ConnectWithCreds(
          *server,
          w.User(w.a, w.a, {{"pub", {{"allow", {"ok.>"}}}}, {"sub", {{"deny", {"secret.>"}}}}}),
          &limited),
      NATS_OK);
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a), &watcher), NATS_OK);
  natsSubscription* all = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&all, watcher->nc, ">"), NATS_OK);
  natsConnection_Flush(watcher->nc);
  EXPECT_TRUE(Delivered(*limited, "ok.1", all));
  EXPECT_FALSE(Delivered(*limited, "not.ok", all));
  natsSubscription* denied = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&denied, limited->nc, "secret.x"), NATS_OK);
  natsConnection_Flush(limited->nc);
  EXPECT_FALSE(Delivered(*watcher, "secret.x", denied));
  natsSubscription_Destroy(all);
  natsSubscription_Destroy(denied);
}

TEST(Jwt, AccountAndUserLimits) {
  const World w;
  auto server = ServerProcess::Start({"-c", w.Config()});
  // Account C allows one connection at a time.
  std::unique_ptr<NatsConn> first;
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.c, w.c), &first), NATS_OK);
  EXPECT_NE(ConnectWithCreds(*server, w.User(w.c, w.c)), NATS_OK);
  EXPECT_NE(server->Log().find("is at its limit of 1 connections"), std::string::npos);
  // ... and 64-byte payloads: a bigger publish ends the connection.
  const std::string big(100, 'x');
  natsConnection_PublishString(first->nc, "p", big.c_str());
  natsConnection_Flush(first->nc);
  for (int i = 0; i < 100 && !natsConnection_IsClosed(first->nc); ++i) usleep(20000);
  EXPECT_TRUE(natsConnection_IsClosed(first->nc));
  first.reset();
  // Its slot is free again once it is gone.
  natsStatus again = NATS_ERR;
  for (int i = 0; i < 50 && again != NATS_OK; ++i) {
    again = ConnectWithCreds(*server, w.User(w.c, w.c));
    if (again != NATS_OK) usleep(50000);
  }
  EXPECT_EQ(again, NATS_OK);
  // A user JWT allowing one subscription: the second is refused, the first still works.
  std::unique_ptr<NatsConn> one_sub, sender;
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a, {{"subs", 1}}), &one_sub), NATS_OK);
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a), &sender), NATS_OK);
  natsSubscription *kept = nullptr, *refused = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&kept, one_sub->nc, "kept"), NATS_OK);
  natsConnection_Flush(one_sub->nc);
  EXPECT_TRUE(Delivered(*sender, "kept", kept));
  ASSERT_EQ(natsConnection_SubscribeSync(&refused, one_sub->nc, "refused"), NATS_OK);
  natsConnection_Flush(one_sub->nc);
  EXPECT_FALSE(Delivered(*sender, "refused", refused));
  // libnats reports the server's -ERR (and, unlike nats.go, treats it as fatal).
  const char* last = nullptr;
  natsConnection_GetLastError(one_sub->nc, &last);
  EXPECT_NE(std::string(last != nullptr ? last : "").find("maximum subscriptions exceeded"),
            std::string::npos);
  natsSubscription_Destroy(kept);
  natsSubscription_Destroy(refused);
}

TEST(Jwt, JetStreamFollowsTheAccountLimits) {
  const World w;
  const std::string store = MakeStoreDir();
  auto server = ServerProcess::Start({"-js", "-sd", store, "-c", w.Config()});
  std::unique_ptr<NatsConn> a, b;
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.a, w.a), &a), NATS_OK);
  ASSERT_EQ(ConnectWithCreds(*server, w.User(w.b, w.b), &b), NATS_OK);
  auto request = [](NatsConn& c, const char* subject, const char* body) {
    natsMsg* reply = nullptr;
    EXPECT_EQ(natsConnection_RequestString(&reply, c.nc, subject, body, 3000), NATS_OK);
    nlohmann::json j = reply ? nlohmann::json::parse(Payload(reply)) : nlohmann::json();
    natsMsg_Destroy(reply);
    return j;
  };
  const auto info = request(*a, "$JS.API.INFO", "");
  EXPECT_EQ(info["limits"]["max_streams"], 2) << info.dump();
  EXPECT_EQ(request(*b, "$JS.API.INFO", "")["error"]["err_code"], 10039);
  for (const char* name : {"S1", "S2", "S3"}) {
    const std::string subject = std::string("$JS.API.STREAM.CREATE.") + name;
    const std::string body =
        std::string(R"({"name":")") + name + R"(","subjects":[")" + name + R"("]})";
    const auto created = request(*a, subject.c_str(), body.c_str());
    if (std::string(name) == "S3") {
      EXPECT_EQ(created["error"]["err_code"], 10027) << created.dump();
    } else {
      EXPECT_FALSE(created.contains("error")) << created.dump();
    }
  }
}

TEST(Jwt, UntrustedOrExpiredAccountsStopTheServer) {
  const World w;
  const TestKey rogue = NewKey(KeyRole::kOperator);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const std::pair<std::string, std::string> cases[] = {
      {SignJwt(rogue, w.a.public_key, "account", nlohmann::json::object()), "no trusted operator"},
      {SignJwt(w.op, w.a.public_key, "account", nlohmann::json::object(), now - 1), "expired"},
      {SignJwt(w.op, w.b.public_key, "account", nlohmann::json::object()), "not that account"},
  };
  for (const auto& [account_jwt, expected] : cases) {
    const auto [code, output] = RunServerOnce("-c " + w.Config(account_jwt) + " -t");
    EXPECT_NE(code, 0) << output;
    EXPECT_NE(output.find(expected), std::string::npos) << output;
  }
  const auto [code, output] = RunServerOnce("-c " + w.Config() + " -t");
  EXPECT_EQ(code, 0) << output;
}

TEST(Jwt, DebiansNatsServerAgreesOnTheTestCredentials) {
  const std::string nats_server = NatsServerPath();
  if (nats_server.empty()) GTEST_SKIP() << "nats-server is not installed";
  const World w;
  auto reference = ServerProcess::Start({"-c", w.Config()}, nats_server);
  auto tern = ServerProcess::Start({"-c", w.Config()});
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const std::string valid = w.User(w.a_signer, w.a);
  const std::string expired = w.User(w.a, w.a, nlohmann::json::object(), now - 5);
  const TestKey stranger = NewKey(KeyRole::kAccount);
  const std::string unknown = w.User(stranger, stranger);
  for (const ServerProcess* server : {reference.get(), tern.get()}) {
    EXPECT_EQ(ConnectWithCreds(*server, valid), NATS_OK);
    EXPECT_NE(ConnectWithCreds(*server, expired), NATS_OK);
    EXPECT_NE(ConnectWithCreds(*server, unknown), NATS_OK);
  }
}

}  // namespace
}  // namespace tern::e2e
