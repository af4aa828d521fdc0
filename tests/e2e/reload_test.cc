// Operating a running server: SIGHUP reloads, `--signal`, and the ports file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "harness.h"

namespace tern::e2e {
namespace {

bool WaitForLog(const ServerProcess& server, const std::string& text, int count = 1) {
  for (int i = 0; i < 250; ++i) {
    const std::string log = server.Log();
    int seen = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++seen;
    if (seen >= count) return true;
    usleep(20000);
  }
  return false;
}

// Runs `tern-server args...` to completion; returns its exit status and output.
int RunTool(const std::vector<std::string>& args, std::string* output) {
  std::string words;
  for (const std::string& a : args) words += " '" + a + "'";
  int code = 0;
  std::tie(code, *output) = RunServerOnce(words);
  return code;
}

void Rewrite(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Reload, SighupChangesALimitOnALiveServer) {
  const std::string conf = WriteConfig("max_payload: 1MB\nping_interval: \"2m\"\n");
  auto server = ServerProcess::Start({"-c", conf, "-m", "-1"});
  RawConn before(server->port());
  EXPECT_NE(before.info().find("\"max_payload\":1048576"), std::string::npos) << before.info();

  Rewrite(conf, "max_payload: 2KB\nping_interval: \"2m\"\nmax_connections: 50\n");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "Reloaded server configuration")) << server->Log();
  EXPECT_NE(server->Log().find("Reloaded: max_payload"), std::string::npos);
  EXPECT_NE(server->Log().find("Reloaded: max_connections"), std::string::npos);

  // The reload is reported once it is in force: every connection from now on, whichever
  // shard takes it, is told the new limit.
  for (int i = 0; i < 8; ++i) {
    RawConn next(server->port());
    EXPECT_NE(next.info().find("\"max_payload\":2048"), std::string::npos) << i << next.info();
  }
  // And it is enforced.
  RawConn after(server->port());
  EXPECT_NE(after.info().find("\"max_payload\":2048"), std::string::npos) << after.info();
  after.Send("CONNECT {\"verbose\":false}\r\nPUB big 3000\r\n" + std::string(3000, 'x') + "\r\n");
  EXPECT_NE(after.ReadUntil("Maximum Payload").find("-ERR 'Maximum Payload Violation'"),
            std::string::npos);
  const HttpResult varz = HttpGet(server->monitor_port(), "/varz");
  const auto v = nlohmann::json::parse(varz.body);
  EXPECT_EQ(v["max_payload"], 2048);
  EXPECT_EQ(v["max_connections"], 50);
}

TEST(Reload, UnreloadableChangeOrBadFileKeepsTheRunningConfig) {
  const std::string conf = WriteConfig("max_payload: 4KB\n");
  auto server = ServerProcess::Start({"-c", conf});
  // The port cannot change under running clients: nothing is applied.
  Rewrite(conf, "max_payload: 8KB\nserver_name: other\n");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "config reload not supported for server_name")) << server->Log();
  RawConn unchanged(server->port());
  EXPECT_NE(unchanged.info().find("\"max_payload\":4096"), std::string::npos);
  // A syntax error names file, line and column, and the server keeps serving.
  Rewrite(conf, "max_payload: 8KB\nbroken {\n");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "Failed to reload server configuration", 2)) << server->Log();
  EXPECT_NE(server->Log().find(conf + ":"), std::string::npos) << server->Log();
  RawConn still(server->port());
  still.Send("CONNECT {\"verbose\":false}\r\nPING\r\n");
  EXPECT_NE(still.ReadUntil("PONG").find("PONG"), std::string::npos);
}

// The cluster block needs a restart to change: a reload that changes it is refused whole
// and the node keeps its routes.
TEST(Reload, AChangedClusterBlockIsRefused) {
  const std::string conf =
      WriteConfig("cluster {\n  name: C1\n  listen: \"127.0.0.1:-1\"\n  no_advertise: false\n}\n");
  auto server = ServerProcess::Start({"-c", conf});
  Rewrite(conf,
          "max_payload: 8KB\ncluster {\n  name: C1\n  listen: \"127.0.0.1:-1\"\n"
          "  no_advertise: true\n}\n");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "config reload not supported for cluster")) << server->Log();
  RawConn unchanged(server->port());
  EXPECT_EQ(unchanged.info().find("\"max_payload\":8192"), std::string::npos) << unchanged.info();
}

TEST(Reload, SignalFlagReachesTheServerByPidOrPidFile) {
  const std::string conf = WriteConfig("max_payload: 4KB\n");
  const std::string pid_file = conf.substr(0, conf.rfind('/')) + "/tern.pid";
  auto server = ServerProcess::Start({"-c", conf, "-P", pid_file});
  std::string output;
  Rewrite(conf, "max_payload: 16KB\n");
  EXPECT_EQ(RunTool({"--signal", "reload=" + pid_file}, &output), 0) << output;
  ASSERT_TRUE(WaitForLog(*server, "Reloaded: max_payload")) << server->Log();
  EXPECT_EQ(RunTool({"--signal", "reopen=" + std::to_string(server->pid())}, &output), 0);
  ASSERT_TRUE(WaitForLog(*server, "Reopened log file")) << server->Log();

  EXPECT_EQ(RunTool({"--signal", "explode=" + std::to_string(server->pid())}, &output), 2);
  EXPECT_NE(output.find("unknown signal \"explode\""), std::string::npos) << output;
  EXPECT_EQ(RunTool({"--signal", "reload=/nonexistent/pid"}, &output), 2);
  EXPECT_NE(output.find("cannot read a pid"), std::string::npos) << output;

  EXPECT_EQ(RunTool({"--signal", "term=" + std::to_string(server->pid())}, &output), 0) << output;
  EXPECT_EQ(server->Stop(0, 5000), 0);  // graceful: exit status 0
}

TEST(Reload, NewCredentialsApplyToNewConnections) {
  const std::string conf = WriteConfig("authorization { user: alice, password: old }\n");
  auto server = ServerProcess::Start({"-c", conf});
  RawConn before(server->port());
  before.Send("CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"old\"}\r\nPING\r\n");
  ASSERT_NE(before.ReadUntil("PONG").find("PONG"), std::string::npos);
  Rewrite(conf, "authorization { user: alice, password: new }\n");
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "Reloaded: authorization")) << server->Log();
  RawConn refused(server->port());
  refused.Send("CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"old\"}\r\nPING\r\n");
  EXPECT_NE(refused.ReadUntil("Violation").find("Authorization Violation"), std::string::npos);
  RawConn accepted(server->port());
  accepted.Send("CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"new\"}\r\nPING\r\n");
  EXPECT_NE(accepted.ReadUntil("PONG").find("PONG"), std::string::npos);
  // The connection made with the old password is closed (nats-server keeps no user table
  // for a single user: it closes it as a user that no longer exists, without an -ERR).
  EXPECT_EQ(before.ReadUntil("never"), "");
  EXPECT_TRUE(before.closed());
}

// A reload that removes a user closes that user's connections; one that narrows a user's
// permissions applies them to the live connection and drops the subscriptions they no
// longer allow. Side by side with nats-server, byte for byte.
TEST(Reload, RemovedUsersAreDisconnectedAndNewPermissionsApplyToLiveConnections) {
  const std::string nats_server = NatsServerPath();
  if (nats_server.empty()) {
    if (std::getenv("TERN_REQUIRE_NATS_SERVER") != nullptr) FAIL() << "nats-server not found";
    GTEST_SKIP() << "nats-server is not installed";
  }
  const std::string before_text =
      "authorization {\n  users: [\n    {user: alice, password: a}\n"
      "    {user: bob, password: b}\n    {user: carol, password: c}\n  ]\n}\n";
  const std::string after_text =
      "authorization {\n  users: [\n    {user: alice, password: a, permissions: "
      "{publish: \"a.>\", subscribe: \"a.>\"}}\n    {user: carol, password: c2}\n  ]\n}\n";
  struct Seen {
    std::string alice, bob, carol, alice_publish;
    bool bob_closed = false, carol_closed = false, alice_closed = false;
  };
  auto run = [&](const std::string& binary) {
    Seen seen;
    const std::string conf = WriteConfig(before_text);
    auto server = ServerProcess::Start({"-c", conf}, binary);
    RawConn alice(server->port());
    alice.Send(
        "CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"a\"}\r\n"
        "SUB a.x 1\r\nSUB secret.x 2\r\nPING\r\n");
    EXPECT_NE(alice.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
    RawConn bob(server->port());
    bob.Send("CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"b\"}\r\nPING\r\n");
    EXPECT_NE(bob.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
    RawConn carol(server->port());
    carol.Send("CONNECT {\"verbose\":false,\"user\":\"carol\",\"pass\":\"c\"}\r\nPING\r\n");
    EXPECT_NE(carol.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
    Rewrite(conf, after_text);
    kill(server->pid(), SIGHUP);
    EXPECT_TRUE(WaitForLog(*server, "Reloaded server configuration")) << server->Log();
    seen.bob = bob.ReadUntil("never", 2000);
    seen.bob_closed = bob.closed();
    seen.carol = carol.ReadUntil("never", 2000);
    seen.carol_closed = carol.closed();
    seen.alice = alice.ReadUntil("\r\n", 2000);
    alice.Send("PUB secret.y 1\r\nz\r\nPUB a.x 2\r\nok\r\nPING\r\n");
    seen.alice_publish = alice.ReadUntil("PONG\r\n", 2000);
    seen.alice_closed = alice.closed();
    return seen;
  };
  const Seen want = run(nats_server);
  const Seen got = run(TernServerPath());
  EXPECT_TRUE(want.bob_closed);  // the removed user: closed, without an -ERR
  EXPECT_EQ(got.bob, want.bob);
  EXPECT_EQ(got.bob_closed, want.bob_closed);
  EXPECT_EQ(want.carol, "-ERR 'Authorization Violation'\r\n");  // a changed password
  EXPECT_EQ(got.carol, want.carol);
  EXPECT_EQ(got.carol_closed, want.carol_closed);
  EXPECT_EQ(got.alice, want.alice);
  EXPECT_EQ(got.alice_publish, want.alice_publish);
  EXPECT_EQ(got.alice_closed, want.alice_closed);
}

TEST(Reload, AccountUsersReloadButAccountsNeedARestart) {
  auto text = [](const std::string& extra_user, const std::string& extra_account) {
    return "accounts {\n  A { users: [{user: a, password: a}" + extra_user +
           "], exports: [{stream: x}] }\n"
           "  B { users: [{user: b, password: b}], imports: [{stream: {account: A, subject: x}}] "
           "}\n" +
           extra_account + "}\n";
  };
  const std::string conf = WriteConfig(text("", ""));
  auto server = ServerProcess::Start({"-c", conf});
  // A new user of A: reloaded, and the user lands in A (it receives A's messages).
  Rewrite(conf, text(", {user: a2, password: a2}", ""));
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "Reloaded: authorization")) << server->Log();
  RawConn a2(server->port());
  a2.Send("CONNECT {\"verbose\":false,\"user\":\"a2\",\"pass\":\"a2\"}\r\nSUB x 1\r\nPING\r\n");
  ASSERT_NE(a2.ReadUntil("PONG").find("PONG"), std::string::npos);
  RawConn a(server->port());
  a.Send("CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}\r\nPUB x 2\r\nhi\r\nPING\r\n");
  ASSERT_NE(a.ReadUntil("PONG").find("PONG"), std::string::npos);
  EXPECT_NE(a2.ReadUntil("hi").find("MSG x 1 2\r\nhi"), std::string::npos);
  // A new account changes what routing was built for: refused until a restart.
  Rewrite(conf, text(", {user: a2, password: a2}", "  C {}\n"));
  kill(server->pid(), SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "config reload not supported for accounts")) << server->Log();
}

TEST(Reload, PortsFileNamesBothPortsAndGoesAwayAtExit) {
  auto server = ServerProcess::Start({"-m", "-1"});
  std::ifstream in(server->ports_file());
  const auto ports = nlohmann::json::parse(in);
  EXPECT_EQ(ports["nats"][0], "nats://127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(ports["monitoring"][0], "http://127.0.0.1:" + std::to_string(server->monitor_port()));
  EXPECT_EQ(server->Stop(SIGINT), 0);
  EXPECT_FALSE(std::ifstream(server->ports_file()).good());
}

}  // namespace
}  // namespace tern::e2e
