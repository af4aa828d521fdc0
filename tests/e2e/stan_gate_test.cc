// STAN publishes are taken on the shard of the client that sent them (core/stan/stan_gate.h):
// clients spread over every shard publish asynchronously to channels that do not exist yet,
// and every publish is acknowledged without error and stored in the order it was sent.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "stan_util.h"

namespace tern::e2e {
namespace {

struct AckCount {
  std::mutex mu;
  std::condition_variable done;
  int acked = 0;
  std::vector<std::string> errors;
};

void OnAck(const char*, const char* error, void* closure) {
  auto* count = static_cast<AckCount*>(closure);
  std::lock_guard<std::mutex> lock(count->mu);
  ++count->acked;
  if (error != nullptr && error[0] != '\0') count->errors.push_back(error);
  count->done.notify_all();
}

TEST(StanGate, AsyncPublishesToNewChannelsFromEveryShardAreStoredInOrder) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  constexpr int kClients = 4, kChannels = 6, kMessages = 60;
  std::vector<StanConn> clients(kClients);
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(StanConnect(*server, "test-cluster", "burst-" + std::to_string(c), &clients[c]),
              NATS_OK);
  }
  AckCount count;
  // Every client starts every channel at once: the first publishes wait for the channel to be
  // made while the later ones queue behind them.
  for (int n = 0; n < kMessages; ++n) {
    for (int c = 0; c < kClients; ++c) {
      for (int ch = 0; ch < kChannels; ++ch) {
        const std::string channel = "burst." + std::to_string(c) + "." + std::to_string(ch);
        const std::string data = "m" + std::to_string(n);
        ASSERT_EQ(stanConnection_PublishAsync(clients[c].sc, channel.c_str(), data.data(),
                                              static_cast<int>(data.size()), OnAck, &count),
                  NATS_OK);
      }
    }
  }
  {
    std::unique_lock<std::mutex> lock(count.mu);
    ASSERT_TRUE(
        count.done.wait_for(lock, std::chrono::seconds(20),
                            [&] { return count.acked == kClients * kChannels * kMessages; }))
        << count.acked << " PubAcks";
    ASSERT_TRUE(count.errors.empty()) << count.errors.size() << " refused: " << count.errors[0];
  }
  // Each channel holds its messages in the order they were sent.
  for (int c = 0; c < kClients; ++c) {
    for (int ch = 0; ch < kChannels; ++ch) {
      const std::string channel = "burst." + std::to_string(c) + "." + std::to_string(ch);
      SubOptions all;
      stanSubOptions_DeliverAllAvailable(all.opts);
      StanInbox inbox;
      ASSERT_EQ(inbox.Subscribe(clients[0].sc, channel, all.opts), NATS_OK);
      const auto got = inbox.WaitFor(kMessages);
      ASSERT_EQ(got.size(), static_cast<std::size_t>(kMessages)) << channel;
      for (int n = 0; n < kMessages; ++n) {
        EXPECT_EQ(got[n].data, "m" + std::to_string(n)) << channel;
        EXPECT_EQ(got[n].sequence, static_cast<uint64_t>(n + 1)) << channel;
      }
    }
  }
}

// Clients on every shard start the same new channels at once: whichever gate asked for a
// channel, every shard's publishes wait until that shard has the channel's stream, and each
// client's messages keep its order.
TEST(StanGate, ClientsOnEveryShardStartTheSameChannelsTogether) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  constexpr int kClients = 4, kChannels = 6, kMessages = 40;
  std::vector<StanConn> clients(kClients);
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(StanConnect(*server, "test-cluster", "shared-" + std::to_string(c), &clients[c]),
              NATS_OK);
  }
  AckCount count;
  for (int n = 0; n < kMessages; ++n) {
    for (int c = 0; c < kClients; ++c) {
      for (int ch = 0; ch < kChannels; ++ch) {
        const std::string channel = "shared." + std::to_string(ch);
        const std::string data = std::to_string(c) + ":" + std::to_string(n);
        ASSERT_EQ(stanConnection_PublishAsync(clients[c].sc, channel.c_str(), data.data(),
                                              static_cast<int>(data.size()), OnAck, &count),
                  NATS_OK);
      }
    }
  }
  {
    std::unique_lock<std::mutex> lock(count.mu);
    ASSERT_TRUE(
        count.done.wait_for(lock, std::chrono::seconds(20),
                            [&] { return count.acked == kClients * kChannels * kMessages; }))
        << count.acked << " PubAcks";
    ASSERT_TRUE(count.errors.empty()) << count.errors.size() << " refused: " << count.errors[0];
  }
  for (int ch = 0; ch < kChannels; ++ch) {
    const std::string channel = "shared." + std::to_string(ch);
    SubOptions all;
    stanSubOptions_DeliverAllAvailable(all.opts);
    StanInbox inbox;
    ASSERT_EQ(inbox.Subscribe(clients[0].sc, channel, all.opts), NATS_OK);
    const auto got = inbox.WaitFor(kClients * kMessages);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kClients * kMessages)) << channel;
    std::vector<int> next(kClients, 0);
    for (const auto& m : got) {
      const int c = std::stoi(m.data.substr(0, m.data.find(':')));
      ASSERT_EQ(m.data, std::to_string(c) + ":" + std::to_string(next[c])) << channel;
      ++next[c];
    }
  }
}

// A refused publish whose reply lies under the publish subjects sends its PubAck back into the
// gate while the gate is still reading that turn's publishes: it is taken as one more
// (refused, unanswered) publish in the next turn, and nothing else is disturbed.
TEST(StanGate, ARefusalAnsweredIntoThePublishSubjectsIsHarmless) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  auto nats = Connect(*server);
  for (int i = 0; i < 200; ++i) {
    const std::string junk = "not a PubMsg " + std::to_string(i);
    ASSERT_EQ(natsConnection_PublishRequestString(nats->nc, "_STAN.pub.test-cluster.ch",
                                                  "_STAN.pub.test-cluster.ch", junk.c_str()),
              NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(nats->nc), NATS_OK);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "after-junk", &stan), NATS_OK);
  PublishAll(stan.sc, "ch", 1, 3);
  SubOptions all;
  stanSubOptions_DeliverAllAvailable(all.opts);
  StanInbox inbox;
  ASSERT_EQ(inbox.Subscribe(stan.sc, "ch", all.opts), NATS_OK);
  EXPECT_EQ(Sequences(inbox.WaitFor(3)), (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace tern::e2e
