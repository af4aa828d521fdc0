// STAN state across a restart of tern-server (docs/STAN.md, "Clients"): a client connected
// before a kill -9 keeps publishing on the same connection afterwards, and its
// subscriptions (plain, durable, queue member) keep receiving, as with nats-streaming-server's
// file store.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "cluster_util.h"
#include "js_util.h"
#include "stan_util.h"

namespace tern::e2e {
namespace {

// A STAN connection whose NATS connection reconnects quickly to the same address.
natsStatus ReconnectingStan(const ServerProcess& server, const std::string& client_id,
                            StanConn* out) {
  natsOptions* nats_opts = nullptr;
  natsOptions_Create(&nats_opts);
  natsOptions_SetURL(nats_opts, server.url().c_str());
  natsOptions_SetReconnectWait(nats_opts, 50);
  natsOptions_SetMaxReconnect(nats_opts, 400);
  stanConnOptions* opts = nullptr;
  stanConnOptions_Create(&opts);
  stanConnOptions_SetNATSOptions(opts, nats_opts);
  stanConnOptions_SetConnectionWait(opts, 2000);
  const natsStatus s = stanConnection_Connect(&out->sc, "test-cluster", client_id.c_str(), opts);
  stanConnOptions_Destroy(opts);
  natsOptions_Destroy(nats_opts);
  return s;
}

void Publish(stanConnection* sc, const std::string& channel, int first, int last) {
  for (int i = first; i <= last; ++i) {
    const std::string data = "m" + std::to_string(i);
    ASSERT_EQ(
        stanConnection_Publish(sc, channel.c_str(), data.data(), static_cast<int>(data.size())),
        NATS_OK)
        << i << ": " << nats_GetLastError(nullptr);
  }
}

// Waits (up to 20 s) until the STAN connection's NATS connection has reconnected: a publish
// while it is away may be refused by libnats itself.
bool AwaitReconnect(stanConnection* sc) {
  natsConnection* nc = nullptr;
  if (stanConnection_GetNATSConnection(sc, &nc) != NATS_OK) return false;
  natsStatistics* stats = nullptr;
  natsStatistics_Create(&stats);
  bool back = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!back && std::chrono::steady_clock::now() < deadline) {
    uint64_t reconnects = 0;
    natsConnection_GetStats(nc, stats);
    natsStatistics_GetCounts(stats, nullptr, nullptr, nullptr, nullptr, &reconnects);
    back = reconnects > 0 && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  natsStatistics_Destroy(stats);
  stanConnection_ReleaseNATSConnection(sc);
  return back;
}

TEST(StanRestart, ClientsAndSubscriptionsOutliveAKill9) {
  const std::vector<std::string> args = {"--streaming", "-sd", MakeStoreDir(), "-p",
                                         std::to_string(FreePort())};
  auto server = ServerProcess::Start(args);
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(ReconnectingStan(*server, "survivor", &stan), NATS_OK) << nats_GetLastError(nullptr);
  StanInbox plain, durable, member;
  stanSubOptions* durable_opts = nullptr;
  stanSubOptions_Create(&durable_opts);
  stanSubOptions_SetDurableName(durable_opts, "keeper");
  ASSERT_EQ(plain.Subscribe(stan.sc, "events", nullptr), NATS_OK);
  ASSERT_EQ(durable.Subscribe(stan.sc, "events", durable_opts), NATS_OK);
  ASSERT_EQ(member.QueueSubscribe(stan.sc, "events", "crew", nullptr), NATS_OK);
  stanSubOptions_Destroy(durable_opts);
  Publish(stan.sc, "events", 1, 3);
  EXPECT_EQ(Sequences(plain.WaitFor(3)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Sequences(durable.WaitFor(3)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(Sequences(member.WaitFor(3)), (std::vector<uint64_t>{1, 2, 3}));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // acks past the save interval

  server->Stop(SIGKILL);
  server = ServerProcess::Start(args);
  ASSERT_TRUE(server);

  ASSERT_TRUE(AwaitReconnect(stan.sc));
  // The same connection: its client is known (publishes are accepted by its connID) and
  // its subscriptions are served again.
  Publish(stan.sc, "events", 4, 5);
  EXPECT_EQ(Sequences(plain.WaitFor(5)), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Sequences(durable.WaitFor(5)), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Sequences(member.WaitFor(5)), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_NE(server->Log().find("restored 1 clients and 3 subscriptions"), std::string::npos)
      << server->Log();

  // The id is still taken while its client answers, and the subscription can be ended.
  StanConn twin;
  std::string error;
  EXPECT_NE(StanConnect(*server, "test-cluster", "survivor", &twin, &error), NATS_OK);
  EXPECT_NE(error.find("stan: clientID already registered"), std::string::npos) << error;
  EXPECT_EQ(stanSubscription_Unsubscribe(plain.sub()), NATS_OK) << nats_GetLastError(nullptr);
  stanSubscription_Destroy(plain.sub());
  plain.Forget();
}

// An offline durable is kept in the service's state: after a restart the monitoring endpoints
// show it (offline, as its last subscription left it) before it resumes, and once resumed
// it is shown once, online.
TEST(StanRestart, AnOfflineDurableIsShownAcrossARestart) {
  const std::vector<std::string> args = {
      "--streaming", "-sd", MakeStoreDir(), "-p", std::to_string(FreePort()), "-m", "-1"};
  auto server = ServerProcess::Start(args);
  ASSERT_TRUE(server);
  SubOptions keep;
  stanSubOptions_SetDurableName(keep.opts, "keep");
  stanSubOptions_DeliverAllAvailable(keep.opts);
  {
    StanConn stan;
    ASSERT_EQ(StanConnect(*server, "test-cluster", "reader", &stan), NATS_OK);
    PublishAll(stan.sc, "audit", 1, 2);
    StanInbox keeper;
    ASSERT_EQ(keeper.Subscribe(stan.sc, "audit", keep.opts), NATS_OK);
    ASSERT_EQ(keeper.WaitFor(2).size(), 2u);
  }  // closed, then the client: the durable is offline

  auto channel_subs = [&]() {
    const HttpResult result = HttpGet(server->monitor_port(), "/streaming/channelsz?subs=1");
    EXPECT_EQ(result.status, 200) << result.body;
    const nlohmann::json page = nlohmann::json::parse(result.body, nullptr, false);
    if (!page.is_object() || page["channels"].size() != 1) return nlohmann::json::array();
    return page["channels"][0]["subscriptions"];
  };
  // The restarted server shows what the store holds: wait until the record is stored.
  auto nats = Connect(*server);
  const nlohmann::json filter = {{"subjects_filter", "_STAN.state.test-cluster.o.>"}};
  bool stored = false;
  for (int i = 0; i < 250 && !stored; ++i) {
    const nlohmann::json info =
        JsApi(nats->nc, "$JS.API.STREAM.INFO.STANSTATE_test-cluster", filter);
    stored = info.contains("state") && info["state"].contains("subjects") &&
             info["state"]["subjects"].size() == 1;
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(stored);
  ASSERT_EQ(channel_subs().size(), 1u);
  server->Stop(SIGTERM);
  server = ServerProcess::Start(args);
  ASSERT_TRUE(server);

  const nlohmann::json before = channel_subs();
  ASSERT_EQ(before.size(), 1u) << before.dump();
  EXPECT_EQ(before[0]["durable_name"], "keep");
  EXPECT_EQ(before[0]["client_id"], "reader");
  EXPECT_EQ(before[0]["is_offline"], true);
  EXPECT_EQ(before[0]["last_sent"], 2);
  const HttpResult serverz = HttpGet(server->monitor_port(), "/streaming/serverz");
  EXPECT_EQ(nlohmann::json::parse(serverz.body, nullptr, false)["subscriptions"], 1)
      << serverz.body;

  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "reader", &stan), NATS_OK);
  PublishAll(stan.sc, "audit", 3, 3);
  StanInbox keeper;
  ASSERT_EQ(keeper.Subscribe(stan.sc, "audit", keep.opts), NATS_OK);
  EXPECT_EQ(Sequences(keeper.WaitFor(1)), (std::vector<uint64_t>{3}));
  const nlohmann::json after = channel_subs();
  ASSERT_EQ(after.size(), 1u) << after.dump();
  EXPECT_EQ(after[0]["is_offline"], false);
}

}  // namespace
}  // namespace tern::e2e
