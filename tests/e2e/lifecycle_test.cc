// The server process as a user drives it: flags, config file, pid and ports files,
// signals, lame duck mode.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cluster_util.h"
#include "harness.h"

namespace tern::e2e {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(Lifecycle, VersionHelpAndBadFlags) {
  auto [code, out] = RunServerOnce("-v");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out.rfind("tern-server: v", 0), 0u) << out;
  EXPECT_NE(out.find("NATS protocol level 2.10"), std::string::npos) << out;
  std::tie(code, out) = RunServerOnce("--help");
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("--port"), std::string::npos);
  std::tie(code, out) = RunServerOnce("--no-such-flag");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("no-such-flag"), std::string::npos) << out;
  std::tie(code, out) = RunServerOnce("--tlscert server.pem");
  EXPECT_EQ(code, 2) << "an unsupported security flag must not be ignored";
  std::tie(code, out) = RunServerOnce("-c /nonexistent/tern.conf");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("/nonexistent/tern.conf"), std::string::npos) << out;
  const std::string bad = WriteConfig("port: 4222\nmax_payload: lots\n");
  std::tie(code, out) = RunServerOnce("-c " + bad);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find(":2:1"), std::string::npos) << "error names line and column: " << out;
  std::tie(code, out) = RunServerOnce("-t -c " + WriteConfig("port: 4333\n"));
  EXPECT_EQ(code, 0) << out;
}

// Start-up failures after the shards run (monitor port taken, pid file not writable) exit
// with status 1 and the reason, as nats-server does: never an abort.
TEST(Lifecycle, StartUpFailuresExitWithStatusOneAndTheReason) {
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string taken = std::to_string(ntohs(addr.sin_port));
  for (const std::string shards : {"1", "2"}) {
    auto [code, out] = RunServerOnce("-a 127.0.0.1 -p -1 --shards " + shards + " -m " + taken);
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find("monitoring"), std::string::npos) << out;
    EXPECT_EQ(out.find("terminate called"), std::string::npos) << out;
    std::tie(code, out) =
        RunServerOnce("-a 127.0.0.1 -p -1 --shards " + shards + " -P /nonexistent/dir/tern.pid");
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find("/nonexistent/dir/tern.pid"), std::string::npos) << out;
    EXPECT_EQ(out.find("terminate called"), std::string::npos) << out;
  }
  close(holder);
}

// A server killed with SIGKILL and started again at once on the same ports (systemd's
// Restart=, a test's kill-and-restart) listens: the kernel frees the old listener a few ms
// after the process is gone when io_uring held it, and start-up waits that out.
TEST(Lifecycle, RestartRightAfterSigkillListensOnTheSamePorts) {
  const std::string port = std::to_string(FreePort());
  const std::string cluster = "nats://127.0.0.1:" + std::to_string(FreePort());
  const std::vector<std::string> args = {"-p", port, "--cluster", cluster, "--cluster_name", "R"};
  auto peer = ServerProcess::Start(
      {"--cluster", "nats://127.0.0.1:-1", "--cluster_name", "R", "--routes", cluster});
  auto server = ServerProcess::Start(args);
  for (int round = 0; round < 10; ++round) {
    std::vector<std::unique_ptr<RawConn>> clients;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<RawConn>(server->port()));
      clients.back()->Send("CONNECT {\"verbose\":false}\r\nSUB s 1\r\nPING\r\n");
    }
    for (auto& client : clients) {
      ASSERT_NE(client->ReadUntil("PONG").find("PONG"), std::string::npos);
    }
    EXPECT_EQ(server->Stop(SIGKILL), -1);
    server = ServerProcess::Start(args);  // throws if it exited at start-up
    EXPECT_EQ(std::to_string(server->port()), port);
  }
}

TEST(Lifecycle, ConfigFileSettingsReachClients) {
  const std::string conf =
      WriteConfig("server_name: \"edge-7\"\nmax_payload: 64KB\n# a comment\ndebug: false\n");
  auto server = ServerProcess::Start({"-c", conf});
  RawConn raw(server->port());
  EXPECT_NE(raw.info().find("\"server_name\":\"edge-7\""), std::string::npos) << raw.info();
  EXPECT_NE(raw.info().find("\"max_payload\":65536"), std::string::npos) << raw.info();
  EXPECT_NE(raw.info().find("\"headers\":true"), std::string::npos);
  EXPECT_NE(raw.info().find("\"version\":\"2.10."), std::string::npos);
  EXPECT_NE(raw.info().find("\"client_ip\":\"127.0.0.1\""), std::string::npos);
}

TEST(Lifecycle, PidAndPortsFilesComeAndGoAndSigtermExitsCleanly) {
  const std::string pid_dir = WriteConfig("");
  const std::string pid_file = pid_dir.substr(0, pid_dir.rfind('/')) + "/tern.pid";
  auto server = ServerProcess::Start({"-P", pid_file});
  std::ifstream in(pid_file);
  pid_t pid = 0;
  in >> pid;
  EXPECT_EQ(pid, server->pid());
  const std::string ports_file =
      server->dir() + "/tern-server_" + std::to_string(server->pid()) + ".ports";
  EXPECT_TRUE(Exists(ports_file));
  auto client = Connect(*server);
  EXPECT_EQ(server->Stop(SIGTERM), 0);
  EXPECT_FALSE(Exists(pid_file));
  EXPECT_FALSE(Exists(ports_file));
}

TEST(Lifecycle, LameDuckTellsClientsThenExits) {
  auto server = ServerProcess::Start(
      {"-c", WriteConfig("lame_duck_grace_period: \"200ms\"\nlame_duck_duration: \"1s\"\n")});
  static std::atomic<bool> notified{false};
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetLameDuckModeCB(
      opts, [](natsConnection*, void*) { notified = true; }, nullptr);
  auto client = Connect(*server, false, opts);
  RawConn raw(server->port());
  raw.Send("CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
  raw.ReadUntil("PONG\r\n");
  kill(server->pid(), SIGUSR2);
  const std::string info = raw.ReadUntil("\"ldm\":true", 3000);
  EXPECT_NE(info.find("\"ldm\":true"), std::string::npos) << info;
  for (int i = 0; i < 100 && !notified; ++i) usleep(20000);
  EXPECT_TRUE(notified.load());
  // New connections are refused while in lame duck mode; then the server exits.
  EXPECT_EQ(server->Stop(0 /* just wait */, 8000), 0);
}

TEST(Lifecycle, TraceLogsTheProtocol) {
  auto server = ServerProcess::Start({"-DV"});
  RawConn raw(server->port());
  raw.Send("CONNECT {\"verbose\":false}\r\nPING\r\n");
  raw.ReadUntil("PONG\r\n");
  for (int i = 0; i < 50 && server->Log().find("<<- [") == std::string::npos; ++i) usleep(20000);
  EXPECT_NE(server->Log().find("<<- [CONNECT"), std::string::npos) << server->Log();
}

}  // namespace
}  // namespace tern::e2e
