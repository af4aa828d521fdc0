// tern-server started under the name nats-streaming-server (docs/STAN.md, "Moving a
// deployment"): streaming is on, that server's flags are taken (-cid, -st, -dir, -mm, -mb with
// sizes, -p, -m ...), its MEMORY default holds, and what it does not serve is refused with a
// reason. The tern-server name keeps nats-server's flag set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "js_util.h"
#include "stan_util.h"

namespace tern::e2e {
namespace {

// A link named nats-streaming-server to the tern-server under test.
std::string NssBinary() {
  static const std::string path = [] {
    const std::string dir = MakeStoreDir();
    const std::string link = dir + "/nats-streaming-server";
    EXPECT_EQ(symlink(TernServerPath().c_str(), link.c_str()), 0);
    return link;
  }();
  return path;
}

std::unique_ptr<ServerProcess> StartNss(const std::vector<std::string>& flags) {
  std::vector<std::string> args = TestArgs();
  args.insert(args.end(), flags.begin(), flags.end());
  return ServerProcess::Start(args, NssBinary());
}

nlohmann::json StreamConfig(const ServerProcess& server, const std::string& stream) {
  auto nats = Connect(server);
  return JsApi(nats->nc, "$JS.API.STREAM.INFO." + stream, nullptr)
      .value("config", nlohmann::json());
}

TEST(StanAsNss, ItsFlagsStartAStreamingServerWithThatStore) {
  const std::string store = MakeStoreDir();
  const std::vector<std::string> flags = {"-cid", "legacy", "-st", "FILE", "-dir", store,
                                          "-mm",  "3",      "-mb", "1KB",  "-m",   "-1"};
  {
    auto server = StartNss(flags);
    ASSERT_TRUE(server);
    StanConn stan;
    ASSERT_EQ(StanConnect(*server, "legacy", "script", &stan), NATS_OK);
    PublishAll(stan.sc, "orders", 1, 5);
    const nlohmann::json config = StreamConfig(*server, "STAN_orders");
    EXPECT_EQ(config["storage"], "file");
    EXPECT_EQ(config["max_msgs"], 3);
    EXPECT_EQ(config["max_bytes"], 1024);
    const auto storez =
        nlohmann::json::parse(HttpGet(server->monitor_port(), "/streaming/storez").body);
    EXPECT_EQ(storez["type"], "FILE");
    EXPECT_EQ(storez["limits"]["max_bytes"], 1024);
  }
  // FILE in -dir: the channel is there after a restart.
  auto again = StartNss(flags);
  ASSERT_TRUE(again);
  StanConn stan;
  ASSERT_EQ(StanConnect(*again, "legacy", "script", &stan), NATS_OK);
  SubOptions all;
  stanSubOptions_DeliverAllAvailable(all.opts);
  StanInbox inbox;
  ASSERT_EQ(inbox.Subscribe(stan.sc, "orders", all.opts), NATS_OK);
  EXPECT_EQ(Sequences(inbox.WaitFor(3)), (std::vector<uint64_t>{3, 4, 5}));
}

TEST(StanAsNss, WithoutAStoreTypeChannelsLiveInMemoryAsThatServersDefault) {
  auto server = StartNss({"-m", "-1"});
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "volatile", &stan), NATS_OK);
  PublishAll(stan.sc, "events", 1, 1);
  EXPECT_EQ(StreamConfig(*server, "STAN_events")["storage"], "memory");
  const auto storez =
      nlohmann::json::parse(HttpGet(server->monitor_port(), "/streaming/storez").body);
  EXPECT_EQ(storez["type"], "MEMORY");
}

TEST(StanAsNss, WhatIsNotServedIsRefusedWithAReason) {
  auto [code, out] = RunCommand("timeout 10 " + NssBinary() + " -st SQL");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("SQL is not served"), std::string::npos) << out;
  std::tie(code, out) = RunCommand("timeout 10 " + NssBinary() + " -ns nats://elsewhere:4222");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("-ns (an external NATS server) is not served"), std::string::npos) << out;
  std::tie(code, out) = RunCommand("timeout 10 " + NssBinary() + " -mb lots");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("invalid size \"lots\" for -mb"), std::string::npos) << out;
  // Under its own name, tern-server takes nats-server's flags only.
  std::tie(code, out) = RunServerOnce("-st FILE");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("flag provided but not defined: -st"), std::string::npos) << out;
}

}  // namespace
}  // namespace tern::e2e
