// Accounts in the config file and the subject mappings of their imports.
#include <gtest/gtest.h>

#include "core/auth/auth_config.h"
#include "core/conf.h"
#include "core/subject_transform.h"

namespace tern::core {
namespace {

using auth::AuthConfig;

// Reads `accounts` (and system_account) the way the options do; *error is empty when the
// whole configuration is accepted.
AuthConfig ParseAccountsText(const std::string& text, std::string* error) {
  AuthConfig config;
  ConfValue root;
  *error = "";
  if (!ParseConfText(text, "a.conf", &root, error)) return config;
  if (const ConfValue* block = root.Find("accounts")) {
    if (!auth::ParseAccounts(*block, &config.accounts, &config.users, error)) return config;
  }
  if (const ConfValue* system = root.Find("system_account")) {
    config.accounts.system_name = system->text;
  }
  auth::ValidateAuth(&config, error);
  return config;
}

std::string Map(const std::string& from, const std::string& to, const std::string& subject) {
  SubjectTransform transform;
  std::string error;
  EXPECT_TRUE(SubjectTransform::Make(from, to, &transform, &error)) << error;
  std::string out;
  transform.Apply(subject, &out);
  return out;
}

TEST(SubjectTransform, MapsWildcardsInOrderOrByNumber) {
  EXPECT_EQ(Map("foo.>", "", "foo.a.b"), "foo.a.b");
  EXPECT_EQ(Map("foo.>", "bar.>", "foo.a.b"), "bar.a.b");
  EXPECT_EQ(Map("foo.*.*", "bar.*.*", "foo.a.b"), "bar.a.b");
  EXPECT_EQ(Map("foo.*.*", "bar.$2.$1", "foo.a.b"), "bar.b.a");
  EXPECT_EQ(Map("foo.*.*", "bar.{{wildcard(2)}}.x", "foo.a.b"), "bar.b.x");
  EXPECT_EQ(Map("req", "svc.req", "req"), "svc.req");
  EXPECT_EQ(Map("a.*.>", "p.a.*.>", "a.1.2.3"), "p.a.1.2.3");
  EXPECT_EQ(Map("foo.>", "bar.>", "foo.a"), "bar.a");
  EXPECT_EQ(Map("*", "x.$1", "q"), "x.q");
  EXPECT_EQ(Map("a.*.b.*", "$2.$1", "a.X.b.Y"), "Y.X");
  EXPECT_EQ(Map("a.*.b.*", "$2.$1", "a.longer-token.b.last"), "last.longer-token");
}

TEST(SubjectTransform, RefusesWildcardsTheSourceLacks) {
  SubjectTransform t;
  std::string error;
  EXPECT_FALSE(SubjectTransform::Make("foo.*", "bar.$2", &t, &error));
  EXPECT_NE(error.find("wildcard 2"), std::string::npos) << error;
  EXPECT_FALSE(SubjectTransform::Make("foo", "bar.>", &t, &error));
  EXPECT_FALSE(SubjectTransform::Make("foo.>", "bar", &t, &error));  // drops what > matched
  EXPECT_FALSE(SubjectTransform::Make("foo..bar", "x", &t, &error));
}

TEST(Accounts, UsersExportsImportsAndTheSystemAccount) {
  std::string error;
  const AuthConfig c = ParseAccountsText(R"(
    accounts {
      A { users: [{user: a, password: a}]
          exports: [{stream: "events.>"}, {service: "help.*", accounts: [B], response_type: stream}]
          jetstream: {max_file: 1048576, max_streams: 2} }
      B { users: [{user: b, password: b}]
          imports: [{stream: {account: A, subject: "events.>"}, prefix: fromA}
                    {service: {account: A, subject: "help.*"}, to: "ask.*"}] }
      SYS { users: [{user: sys, password: sys}] }
    }
    system_account: SYS
  )",
                                         &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(c.accounts.size(), 4u);  // $G first
  EXPECT_EQ(c.accounts[0].name, "$G");
  EXPECT_EQ(c.accounts[c.accounts.system].name, "SYS");
  const int a = c.accounts.Find("A"), b = c.accounts.Find("B");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  EXPECT_TRUE(c.accounts[a].jetstream.enabled);
  EXPECT_EQ(c.accounts[a].jetstream.max_file, 1048576);
  EXPECT_EQ(c.accounts[a].jetstream.max_streams, 2);
  EXPECT_EQ(c.accounts[a].exports[1].response_type, "Stream");
  ASSERT_EQ(c.accounts[b].imports.size(), 2u);
  EXPECT_EQ(c.accounts[b].imports[0].to, "fromA.events.>");
  EXPECT_EQ(c.accounts[b].imports[0].from, a);
  ASSERT_NE(c.FindUser("b"), nullptr);
  EXPECT_EQ(c.FindUser("b")->account_id, b);
  EXPECT_EQ(c.FindUser("sys")->account_id, c.accounts.system);
}

TEST(Accounts, WithoutASystemAccountNamedThereIsSys) {
  std::string error;
  const AuthConfig c = ParseAccountsText("accounts { A {} }", &error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(c.accounts[c.accounts.system].name, "$SYS");
  EXPECT_EQ(c.accounts.Find("A"), 1);
}

TEST(Accounts, RefusesImportsNobodyExportsAndOtherMistakes) {
  const std::pair<const char*, const char*> cases[] = {
      {"accounts { A {}, B { imports: [{stream: {account: A, subject: x}}] } }", "not authorized"},
      {"accounts { A { exports: [{stream: x, accounts: [C]}] }, C {},"
       " B { imports: [{stream: {account: A, subject: x}}] } }",
       "not authorized"},
      {"accounts { A { exports: [{stream: \"x.*\"}] },"
       " B { imports: [{stream: {account: A, subject: x.>}}] } }",
       "not authorized"},  // wider than the export
      {"accounts { A { exports: [{stream: x}] },"
       " B { imports: [{service: {account: A, subject: x}}] } }",
       "not authorized"},  // a stream is not a service
      {"accounts { B { imports: [{stream: {account: Z, subject: x}}] } }", "no such account"},
      {"accounts { A { exports: [{stream: \"q.*\"}] },"
       " B { imports: [{stream: {account: A, subject: \"q.*\"}, to: \"r.$3\"}] } }",
       "wildcard 3"},
      {"accounts { A { exports: [{service: \"q.*\"}] },"
       " B { imports: [{service: {account: A, subject: \"q.*\"}, to: \"r\"}] } }",
       "refers to wildcard 1"},  // the local subject must carry what the export's needs
      {"accounts { A { users: [{user: u, password: p}] }, B { users: [{user: u2, password: p, "
       "account: A}] } }",
       "names another account"},
      {"accounts { A { bogus: 1 } }", "unknown key 'bogus'"},
      {"accounts { A { jetstream: {max_file: foo} } }", "expects a size"},
      {"accounts { A {} }\nsystem_account: NOPE", "not defined"},
      {"accounts { \"$G\" {} }", "global account"},
      {"accounts { A { exports: [{stream: x}] }, B { imports: [{stream: {account: A, "
       "subject: x}, prefix: \"p.*\"}] } }",
       "literal subject"},
  };
  for (const auto& [text, expected] : cases) {
    std::string error;
    ParseAccountsText(text, &error);
    EXPECT_NE(error.find(expected), std::string::npos) << text << "\n -> " << error;
  }
}

}  // namespace
}  // namespace tern::core
