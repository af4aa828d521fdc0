// Authentication building blocks: nkeys text, Ed25519 signatures, secrets (bcrypt), the
// authorization block, and subject permissions.
#include <crypt.h>
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include "core/auth/auth_config.h"
#include "core/auth/authenticator.h"
#include "core/auth/jwt.h"
#include "core/auth/nkeys.h"
#include "core/auth/permissions.h"
#include "tests/support/ed25519_key.h"

namespace tern::core::auth {
namespace {

std::string FromHex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

using KeyPair = tern::testing::Ed25519Key;

TEST(Nkeys, TextFormRoundTripsAndIsChecked) {
  const KeyPair pair;
  const std::string user = EncodePublicKey(pair.public_key, KeyRole::kUser);
  ASSERT_EQ(user.size(), 56u);
  EXPECT_EQ(user[0], 'U');
  EXPECT_EQ(EncodePublicKey(pair.public_key, KeyRole::kAccount)[0], 'A');
  EXPECT_EQ(EncodePublicKey(pair.public_key, KeyRole::kOperator)[0], 'O');
  const std::string seed = EncodeSeed(pair.seed, KeyRole::kUser);
  EXPECT_EQ(seed.size(), 58u);
  EXPECT_EQ(seed.substr(0, 2), "SU");
  std::string raw;
  ASSERT_TRUE(DecodePublicKey(user, KeyRole::kUser, &raw));
  EXPECT_EQ(raw, pair.public_key);
  EXPECT_FALSE(DecodePublicKey(user, KeyRole::kAccount, &raw));  // wrong role
  std::string corrupted = user;
  corrupted[10] = corrupted[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(DecodePublicKey(corrupted, KeyRole::kUser, &raw));  // checksum
  EXPECT_FALSE(DecodePublicKey(user.substr(1), KeyRole::kUser, &raw));
  EXPECT_FALSE(DecodePublicKey(std::string(56, '!'), KeyRole::kUser, &raw));
}

TEST(Nkeys, Ed25519MatchesRfc8032AndRefusesForgeries) {
  // RFC 8032, section 7.1, test 1 (empty message).
  const std::string public_key =
      FromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string signature = FromHex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
      "b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(VerifyEd25519(public_key, "", signature));
  EXPECT_FALSE(VerifyEd25519(public_key, "x", signature));
  const KeyPair pair;
  const std::string nonce = "e6Tu-N0xN-M1wBw";
  const std::string sig = pair.Sign(nonce);
  EXPECT_TRUE(VerifyEd25519(pair.public_key, nonce, sig));
  EXPECT_FALSE(VerifyEd25519(KeyPair().public_key, nonce, sig));
  EXPECT_FALSE(VerifyEd25519(pair.public_key, nonce, sig.substr(0, 63)));
  // Signatures arrive as URL-safe or standard base64, padded or not.
  std::string decoded;
  ASSERT_TRUE(DecodeBase64Any(EncodeBase64Url(sig), &decoded));
  EXPECT_EQ(decoded, sig);
  ASSERT_TRUE(DecodeBase64Any("+/8=", &decoded));
  EXPECT_EQ(decoded, "\xfb\xff");
  EXPECT_FALSE(DecodeBase64Any("not base64!", &decoded));
  EXPECT_EQ(EncodeBase64Url(RandomBytes(11)).size(), 15u);  // the INFO nonce
}

TEST(Secrets, PlainAndBcrypt) {
  EXPECT_TRUE(SecretMatches("s3cret", "s3cret"));
  EXPECT_FALSE(SecretMatches("s3cret", "s3cre"));
  EXPECT_FALSE(SecretMatches("s3cret", ""));
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2a$", 4, nullptr, 0, salt, sizeof(salt)), nullptr);
  crypt_data data{};
  const std::string hash = crypt_r("hunter2", salt, &data);
  ASSERT_EQ(hash.substr(0, 4), "$2a$");
  EXPECT_TRUE(SecretMatches(hash, "hunter2"));
  EXPECT_FALSE(SecretMatches(hash, "hunter3"));
  EXPECT_FALSE(SecretMatches(hash, hash));  // the hash itself is not the password
}

AuthConfig Parse(const std::string& text, std::string* error) {
  ConfValue root;
  AuthConfig config;
  *error = "";
  if (!ParseConfText(text, "a.conf", &root, error)) return config;
  if (!ParseAuthorization(*root.Find("authorization"), &config, error)) return config;
  if (const ConfValue* user = root.Find("no_auth_user")) config.no_auth_user = user->text;
  ValidateAuth(&config, error);
  return config;
}

TEST(AuthConfig, FormsAndErrors) {
  std::string error;
  AuthConfig c = Parse("authorization { token: abc, timeout: 0.5 }", &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(c.token, "abc");
  EXPECT_EQ(c.timeout_ns, 500'000'000);
  EXPECT_TRUE(c.required());
  c = Parse(R"(authorization {
      default_permissions { subscribe: "_INBOX.>" }
      users: [
        { user: alice, password: pw, permissions: { publish: { allow: ["a.>"], deny: "a.b" } } }
        { user: bob, password: pw2 }
      ]
    }
    no_auth_user: bob)",
            &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[0].permissions->publish->deny, std::vector<std::string>{"a.b"});
  EXPECT_FALSE(c.users[0].permissions->subscribe);  // its own block replaces the defaults
  ASSERT_TRUE(c.users[1].permissions->subscribe);   // bob gets the defaults
  EXPECT_EQ(c.no_auth_user, "bob");

  for (const char* bad : {
           "authorization { token: a, users: [{user: x, password: y}] }",
           "authorization { user: a, password: b, users: [{user: x, password: y}] }",
           "authorization { users: [{nkey: UNOTAKEY}] }",
           "authorization { users: [{user: x, password: y, permissions: {publsh: a}}] }",
           "authorization { users: [{user: x, password: y, permissions: {publish: \"a..b\"}}] }",
           "authorization { timeout: -1, token: a }",
           "authorization { tokn: a }",
       }) {
    Parse(bad, &error);
    EXPECT_NE(error, "") << bad;
    EXPECT_NE(error.find("a.conf:"), std::string::npos) << error;
  }
  Parse("authorization { users: [{user: x}] }\nno_auth_user: y", &error);
  EXPECT_NE(error.find("no_auth_user: \"y\" not present"), std::string::npos) << error;
}

TEST(Authenticate, EveryWayInAndOut) {
  const KeyPair pair;
  AuthConfig c;
  c.users.push_back(User{"alice", "pw", "", nullptr, "", kGlobalAccount, {}});
  const std::string nkey = EncodePublicKey(pair.public_key, KeyRole::kUser);
  c.users.push_back(User{nkey, "", nkey, std::make_shared<Permissions>(), "", kGlobalAccount, {}});
  EXPECT_TRUE(Authenticate(c, {"", "alice", "pw", "", "", "", "127.0.0.1"}, "").ok);
  EXPECT_FALSE(Authenticate(c, {"", "alice", "pX", "", "", "", "127.0.0.1"}, "").ok);
  EXPECT_FALSE(Authenticate(c, {"", "mallory", "pw", "", "", "", "127.0.0.1"}, "").ok);
  EXPECT_FALSE(Authenticate(c, {}, "").ok);
  const std::string nonce = "abcdefghijklmno";
  const AuthResult ok = Authenticate(
      c, {"", "", "", nkey, EncodeBase64Url(pair.Sign(nonce)), "", "127.0.0.1"}, nonce);
  EXPECT_TRUE(ok.ok) << ok.reason;
  EXPECT_NE(ok.permissions, nullptr);
  EXPECT_FALSE(
      Authenticate(c, {"", "", "", nkey, EncodeBase64Url(pair.Sign("other")), "", "127.0.0.1"},
                   nonce)
          .ok);
  EXPECT_FALSE(Authenticate(c, {"", "", "", nkey, "!!", "", "127.0.0.1"}, nonce).ok);
  EXPECT_FALSE(
      Authenticate(c, {"", "", "", nkey, EncodeBase64Url(pair.Sign(nonce)), "", "127.0.0.1"}, "")
          .ok);
  EXPECT_FALSE(Authenticate(c, {"", "", "", "", "", "eyJhbGciOi.x.y", "127.0.0.1"}, nonce).ok);
  c.no_auth_user = "alice";
  EXPECT_EQ(Authenticate(c, {}, "").user, "alice");
  EXPECT_FALSE(
      Authenticate(c, {"", "alice", "wrong", "", "", "", "127.0.0.1"}, "").ok);  // no fallback
}

TEST(Permissions, PublishSubscribeAndResponses) {
  auto p = std::make_shared<Permissions>();
  p->publish.emplace();
  p->publish->allow = std::vector<std::string>{"orders.>", "audit"};
  p->publish->deny = {"orders.secret.*"};
  p->subscribe.emplace();
  p->subscribe->allow = std::vector<std::string>{"updates.>", "jobs.* workers"};
  p->subscribe->deny = {"updates.private"};
  PermissionChecker c(p);
  EXPECT_TRUE(c.CanPublish("orders.new", 0));
  EXPECT_TRUE(c.CanPublish("audit", 0));
  EXPECT_FALSE(c.CanPublish("orders.secret.x", 0));
  EXPECT_FALSE(c.CanPublish("payments", 0));
  EXPECT_FALSE(c.CanPublish("payments", 0));  // the cached answer is the same
  EXPECT_TRUE(c.CanSubscribe("updates.*", ""));
  EXPECT_TRUE(c.CanSubscribe("updates.public", ""));
  EXPECT_FALSE(c.CanSubscribe("updates.private", ""));
  EXPECT_FALSE(c.CanSubscribe(">", ""));
  EXPECT_TRUE(c.CanSubscribe("jobs.a", "workers"));
  EXPECT_FALSE(c.CanSubscribe("jobs.a", "others"));
  EXPECT_FALSE(c.CanSubscribe("jobs.a", ""));
  ASSERT_TRUE(c.has_delivery_filter());
  EXPECT_TRUE(c.DeliveryDenied("updates.private"));  // reached through updates.*
  EXPECT_FALSE(c.DeliveryDenied("updates.public"));

  auto service = std::make_shared<Permissions>();
  service->responses = ResponsePermission{2, 1'000'000'000};
  service->Normalize();  // responses only: nothing else may be published
  PermissionChecker s(service);
  EXPECT_FALSE(s.CanPublish("_INBOX.abc", 0));
  s.NoteRequest("_INBOX.abc", 100);
  EXPECT_TRUE(s.CanPublish("_INBOX.abc", 200));
  EXPECT_TRUE(s.CanPublish("_INBOX.abc", 300));
  EXPECT_FALSE(s.CanPublish("_INBOX.abc", 400));  // max 2 responses
  s.NoteRequest("_INBOX.def", 100);
  EXPECT_FALSE(s.CanPublish("_INBOX.def", 2'000'000'000));  // expired
  EXPECT_FALSE(s.CanPublish("anything", 0));
}

// A JWT of either layout: version 2 signs "header.claims", version 1 the claims alone.
std::string MakeJwt(const KeyPair& issuer, KeyRole role, const nlohmann::json& claims, bool v2) {
  const std::string header =
      v2 ? R"({"typ":"JWT","alg":"ed25519-nkey"})" : R"({"typ":"jwt","alg":"ed25519"})";
  nlohmann::json body = claims;
  body["iss"] = EncodePublicKey(issuer.public_key, role);
  const std::string h = EncodeBase64Url(header), c = EncodeBase64Url(body.dump());
  return h + "." + c + "." + EncodeBase64Url(issuer.Sign(v2 ? h + "." + c : c));
}

TEST(Jwt, BothLayoutsDecodeAndVerify) {
  const KeyPair account;
  const nlohmann::json v2 = {{"sub", "UABC"}, {"exp", 100}, {"nats", {{"type", "user"}}}};
  const nlohmann::json v1 = {{"sub", "UABC"}, {"type", "user"}, {"nats", nlohmann::json::object()}};
  for (const auto& [claims, layout] : {std::pair{v2, true}, std::pair{v1, false}}) {
    JwtClaims decoded;
    std::string error;
    ASSERT_TRUE(DecodeJwt(MakeJwt(account, KeyRole::kAccount, claims, layout), &decoded, &error))
        << error;
    EXPECT_EQ(decoded.type, "user");
    EXPECT_EQ(decoded.subject, "UABC");
    EXPECT_EQ(decoded.issuer, EncodePublicKey(account.public_key, KeyRole::kAccount));
  }
  JwtClaims decoded;
  std::string error;
  ASSERT_TRUE(DecodeJwt(MakeJwt(account, KeyRole::kAccount, v2, true), &decoded, &error));
  EXPECT_TRUE(JwtTimely(decoded, 99, &error));
  EXPECT_FALSE(JwtTimely(decoded, 100, &error));
  EXPECT_EQ(error, "JWT expired");
  // A version 2 header on a version 1 signature does not verify (and vice versa).
  std::string mixed = MakeJwt(account, KeyRole::kAccount, v1, false);
  mixed.replace(0, mixed.find('.'), EncodeBase64Url(R"({"typ":"JWT","alg":"ed25519-nkey"})"));
  EXPECT_FALSE(DecodeJwt(mixed, &decoded, &error));
  EXPECT_EQ(error, "JWT signature does not verify");
}

TEST(Jwt, MalformedTokensAreRefusedWithAReason) {
  const KeyPair account;
  const std::string good =
      MakeJwt(account, KeyRole::kAccount, {{"sub", "U"}, {"nats", {{"type", "user"}}}}, true);
  const std::pair<std::string, std::string> cases[] = {
      {"", "three parts"},
      {"a.b", "three parts"},
      {"a.b.c.d", "three parts"},
      {"!!.e30.AA", "base64url"},
      {EncodeBase64Url("[1]") + ".e30.AA", "JSON objects"},
      {EncodeBase64Url(R"({"alg":"HS256"})") + ".e30.AA", "not supported"},
      {EncodeBase64Url(R"({"alg":"ed25519-nkey"})") + "." + EncodeBase64Url(R"({"iss":"x"})") +
           ".AA",
       "not a public nkey"},
      {good.substr(0, good.rfind('.')) + ".AAAA", "does not verify"},
      {std::string(70000, 'a'), "too long"},
  };
  for (const auto& [token, expected] : cases) {
    JwtClaims claims;
    std::string error;
    EXPECT_FALSE(DecodeJwt(token, &claims, &error)) << token.substr(0, 40);
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  }
}

TEST(Jwt, OperatorModeResolvesPreloadedAccountsAndTheSystemAccount) {
  const KeyPair op, account, system;
  const std::string op_key = EncodePublicKey(op.public_key, KeyRole::kOperator);
  const std::string account_key = EncodePublicKey(account.public_key, KeyRole::kAccount);
  const std::string system_key = EncodePublicKey(system.public_key, KeyRole::kAccount);
  AuthConfig config;
  config.op.resolver = "MEMORY";
  config.op.operator_jwts = {MakeJwt(
      op, KeyRole::kOperator,
      {{"sub", op_key}, {"nats", {{"type", "operator"}, {"system_account", system_key}}}}, true)};
  config.op.preload = {
      {account_key,
       MakeJwt(op, KeyRole::kOperator,
               {{"sub", account_key},
                {"nats", {{"type", "account"}, {"limits", {{"disk_storage", -1}, {"conn", 3}}}}}},
               true)}};
  std::string error;
  ASSERT_TRUE(ValidateAuth(&config, &error)) << error;
  // $G, the preloaded account, and the operator's system account (not preloaded).
  ASSERT_EQ(config.accounts.size(), 3u);
  const int id = config.accounts.Find(account_key);
  ASSERT_GT(id, 0);
  EXPECT_TRUE(config.accounts[id].jetstream.enabled);
  EXPECT_EQ(config.accounts[id].max_connections, 3);
  EXPECT_EQ(config.accounts[config.accounts.system].name, system_key);
  EXPECT_TRUE(config.required());
  EXPECT_TRUE(config.wants_nonce());
  // An account the operator did not sign stops the server.
  AuthConfig rogue = config;
  rogue.accounts = Accounts();
  rogue.op.resolved = false;
  const KeyPair stranger;
  rogue.op.preload = {
      {account_key, MakeJwt(stranger, KeyRole::kOperator,
                            {{"sub", account_key}, {"nats", {{"type", "account"}}}}, true)}};
  EXPECT_FALSE(ValidateAuth(&rogue, &error));
  EXPECT_NE(error.find("which no trusted operator names"), std::string::npos) << error;
}

TEST(Jwt, CredsFilesAndBareTokens) {
  EXPECT_EQ(ExtractJwt("  eyJabc.def.ghi \n"), "eyJabc.def.ghi");
  EXPECT_EQ(ExtractJwt("-----BEGIN NATS USER JWT-----\neyJ.a.b\n------END NATS USER JWT------\n"
                       "\n-----BEGIN USER NKEY SEED-----\nSUAX\n------END USER NKEY SEED------\n"),
            "eyJ.a.b");
  EXPECT_EQ(
      ExtractJwt("-----BEGIN NATS OPERATOR JWT-----\neyJ.o.p\n-----END NATS OPERATOR JWT-----"),
      "eyJ.o.p");
  EXPECT_EQ(ExtractJwt("-----BEGIN NATS USER JWT-----\nno end"), "");
}

}  // namespace
}  // namespace tern::core::auth
