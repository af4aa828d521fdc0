// STAN channel limits (docs/STAN.md, "Channel limits"): per-channel entries in the config file
// override the global limits for the channels they match, and a channel that has been
// `max_inactivity` without a subscription or a message is deleted, as in
// nats-streaming-server.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "js_util.h"
#include "stan_util.h"

namespace tern::e2e {
namespace {

// The channel's stream's message count and first sequence; false if it does not exist.
bool ChannelState(natsConnection* nc, const std::string& stream, uint64_t* msgs,
                  uint64_t* first = nullptr) {
  const nlohmann::json info = JsApi(nc, "$JS.API.STREAM.INFO." + stream, nlohmann::json::object());
  if (!info.contains("state")) return false;
  *msgs = info["state"].value("messages", uint64_t{0});
  if (first != nullptr) *first = info["state"].value("first_seq", uint64_t{0});
  return true;
}

bool ChannelExists(natsConnection* nc, const std::string& stream) {
  uint64_t msgs = 0;
  return ChannelState(nc, stream, &msgs);
}

// Polls (up to 15 s) until the stream is gone.
bool AwaitDeleted(natsConnection* nc, const std::string& stream) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    const nlohmann::json info = JsApi(nc, "$JS.API.STREAM.INFO." + stream, nullptr);
    if (info.contains("error") && info["error"].value("code", 0) == 404) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(StanLimits, PerChannelEntriesOverrideTheGlobalLimits) {
  const std::string config = WriteConfig(R"(streaming {
    store_limits {
      max_msgs: 5
      channels {
        "orders.*": { max_msgs: 2 }
        "orders.audit": { max_msgs: 0 }
      }
    }
  })");
  auto server = StartStreaming({"-c", config});
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "limited", &stan), NATS_OK);
  PublishAll(stan.sc, "orders.eu", 1, 6);
  PublishAll(stan.sc, "orders.audit", 1, 8);
  PublishAll(stan.sc, "telemetry", 1, 7);

  auto nats = Connect(*server);
  uint64_t msgs = 0, first = 0;
  ASSERT_TRUE(ChannelState(nats->nc, "STAN_orders_eu", &msgs, &first));
  EXPECT_EQ(msgs, 2u);  // "orders.*"
  EXPECT_EQ(first, 5u);
  ASSERT_TRUE(ChannelState(nats->nc, "STAN_orders_audit", &msgs));
  EXPECT_EQ(msgs, 8u);  // a 0 in a per-channel entry is unlimited
  ASSERT_TRUE(ChannelState(nats->nc, "STAN_telemetry", &msgs, &first));
  EXPECT_EQ(msgs, 5u);  // the global limit
  EXPECT_EQ(first, 3u);

  // A subscriber asking for everything gets what the limit kept.
  SubOptions all;
  stanSubOptions_DeliverAllAvailable(all.opts);
  StanInbox inbox;
  ASSERT_EQ(inbox.Subscribe(stan.sc, "orders.eu", all.opts), NATS_OK);
  EXPECT_EQ(Sequences(inbox.WaitFor(2)), (std::vector<uint64_t>{5, 6}));
}

TEST(StanLimits, ChannelsFoundAtStartTakeTheLimitsConfiguredNowAndCountAgainstMaxChannels) {
  const std::string store = MakeStoreDir();
  {
    auto server = ServerProcess::Start({"--streaming", "-sd", store});
    ASSERT_TRUE(server);
    StanConn stan;
    ASSERT_EQ(StanConnect(*server, "test-cluster", "first-run", &stan), NATS_OK);
    PublishAll(stan.sc, "orders.eu", 1, 6);
    PublishAll(stan.sc, "audit", 1, 3);
  }
  const std::string config = WriteConfig(R"(streaming {
    store_limits { max_channels: 2, channels { "orders.*": { max_msgs: 2 } } }
  })");
  auto server = ServerProcess::Start({"--streaming", "-sd", store, "-c", config});
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "second-run", &stan), NATS_OK);
  auto nats = Connect(*server);
  // The update is the service's own request: it may land a moment after the client connects.
  uint64_t msgs = 0, first = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ChannelState(nats->nc, "STAN_orders_eu", &msgs, &first) && msgs != 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(msgs, 2u);
  EXPECT_EQ(first, 5u);
  // Both channels of the first run count: a third is refused.
  const std::string data = "x";
  EXPECT_NE(stanConnection_Publish(stan.sc, "fresh", data.data(), 1), NATS_OK);
  EXPECT_NE(std::string(nats_GetLastError(nullptr)).find("too many channels"), std::string::npos)
      << nats_GetLastError(nullptr);
  PublishAll(stan.sc, "audit", 4, 4);
}

// Only ever published to, with no other channel or subscription to wake the check.
TEST(StanLimits, AChannelOnlyPublishedToIsDeletedToo) {
  auto server = StartStreaming({"-mi", "500ms"});
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "once", &stan), NATS_OK);
  PublishAll(stan.sc, "lonely", 1, 1);
  auto nats = Connect(*server);
  EXPECT_TRUE(AwaitDeleted(nats->nc, "STAN_lonely"));
}

TEST(StanLimits, AnInactiveChannelIsDeletedAndMadeAgainFromSequenceOne) {
  auto server = StartStreaming({"-mi", "1s"});
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "sometimes", &stan), NATS_OK);
  PublishAll(stan.sc, "idle", 1, 3);
  PublishAll(stan.sc, "watched", 1, 1);
  PublishAll(stan.sc, "parked", 1, 2);
  StanInbox watcher;
  ASSERT_EQ(watcher.Subscribe(stan.sc, "watched", nullptr), NATS_OK);
  // An offline durable does not keep its channel (as in nats-streaming-server).
  SubOptions durable;
  stanSubOptions_SetDurableName(durable.opts, "later");
  stanSubOptions_DeliverAllAvailable(durable.opts);
  {
    StanInbox parked;
    ASSERT_EQ(parked.Subscribe(stan.sc, "parked", durable.opts), NATS_OK);
    EXPECT_EQ(parked.WaitFor(2).size(), 2u);
    ASSERT_EQ(stanSubscription_Close(parked.sub()), NATS_OK);
    parked.Forget();
  }

  auto nats = Connect(*server);
  EXPECT_TRUE(AwaitDeleted(nats->nc, "STAN_idle"));
  EXPECT_TRUE(AwaitDeleted(nats->nc, "STAN_parked"));
  // Past its max_inactivity twice over, the subscribed channel is still there.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(ChannelExists(nats->nc, "STAN_watched"));
  EXPECT_NE(server->Log().find("channel \"idle\" has been deleted (inactive for 1s)"),
            std::string::npos)
      << server->Log();

  // A publish makes it again, from sequence 1; the durable starts over with it.
  PublishAll(stan.sc, "idle", 4, 4);
  PublishAll(stan.sc, "parked", 3, 3);
  SubOptions all;
  stanSubOptions_DeliverAllAvailable(all.opts);
  StanInbox reader, resumed;
  ASSERT_EQ(reader.Subscribe(stan.sc, "idle", all.opts), NATS_OK);
  ASSERT_EQ(resumed.Subscribe(stan.sc, "parked", durable.opts), NATS_OK);
  const auto got = reader.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sequence, 1u);
  EXPECT_EQ(got[0].data, "m4");
  const auto again = resumed.WaitFor(1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].data, "m3");

  // Its last subscription gone, the watched channel goes too.
  ASSERT_EQ(stanSubscription_Unsubscribe(watcher.sub()), NATS_OK);
  watcher.Forget();
  EXPECT_TRUE(AwaitDeleted(nats->nc, "STAN_watched"));
}

}  // namespace
}  // namespace tern::e2e
