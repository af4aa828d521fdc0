// JetStream consumers under the hand-moved clock (tests/support/shard_harness.h): ack
// wait, backoff, max_deliver, max_ack_pending, pull request expiry and idle heartbeats,
// each checked at its instant, with no sleeping. The stream and the clients may be on
// different shards, as in a server.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "tests/support/protocol_frames.h"
#include "tests/support/shard_harness.h"

namespace tern::testing {
namespace {

constexpr int64_t kMs = 1'000'000;

class ConsumerClock : public ::testing::TestWithParam<int> {
 protected:
  // Status messages (408, heartbeats) are header-only: the client must take headers.
  static constexpr const char* kConnect = R"({"verbose":false,"pedantic":false,"headers":true})";

  ConsumerClock() : h_(GetParam(), {"-js"}) {
    api_ = h_.Connect(kConnect);
    h_.Send(api_, "SUB _R.* 1\r\n");
    app_ = h_.Connect(kConnect);  // on another shard than api_ when there are several
    h_.Settle();
  }

  // An API request and its JSON answer.
  nlohmann::json Api(const std::string& subject, const nlohmann::json& body) {
    const std::string reply = "_R." + std::to_string(++requests_);
    h_.Send(api_, Pub(subject, body.dump(), reply));
    h_.Settle();
    const std::vector<Frame> frames = ParseFrames(h_.Read(api_));
    EXPECT_EQ(frames.size(), 1u);
    if (frames.empty()) return {};
    return nlohmann::json::parse(frames[0].payload);
  }

  void CreateStream() {
    const auto info = Api("$JS.API.STREAM.CREATE.S", {{"name", "S"}, {"subjects", {"s.>"}}});
    ASSERT_FALSE(info.contains("error")) << info.dump();
  }

  void CreateConsumer(nlohmann::json config) {
    config["durable_name"] = "C";
    const auto info =
        Api("$JS.API.CONSUMER.DURABLE.CREATE.S.C", {{"stream_name", "S"}, {"config", config}});
    ASSERT_FALSE(info.contains("error")) << info.dump();
  }

  void Publish(int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) bytes += Pub("s.x", "m" + std::to_string(i));
    h_.Send(app_, bytes);
    h_.Settle();
  }

  std::vector<Frame> Deliveries() { return ParseFrames(h_.Read(app_)); }

  // A stream and a push consumer delivering to "deliver", which the app subscribes to.
  void PushConsumer(nlohmann::json config) {
    CreateStream();
    h_.Send(app_, "SUB deliver 7\r\n");
    config["deliver_subject"] = "deliver";
    CreateConsumer(std::move(config));
  }

  // Nothing reaches the app for `ms` - 1 milliseconds from now; what arrives at the last
  // one is returned.
  std::vector<Frame> DeliveriesExactlyAfter(int64_t ms) {
    h_.Advance((ms - 1) * kMs, kMs);
    EXPECT_TRUE(Deliveries().empty()) << "before " << ms << " ms";
    h_.Advance(kMs, kMs);
    return Deliveries();
  }

  ShardHarness h_;
  int api_ = 0, app_ = 0;
  int requests_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Shards, ConsumerClock, ::testing::Values(1, 2),
                         [](const auto& info) { return std::to_string(info.param) + "shards"; });

// The number of deliveries the ack reply subject carries: $JS.ACK.<stream>.<consumer>.
// <delivered>.<sseq>.<cseq>.<ts>.<pending>
int DeliveryCount(const Frame& f) {
  std::vector<std::string> tokens;
  std::istringstream in(f.reply);
  for (std::string t; std::getline(in, t, '.');) tokens.push_back(t);
  return tokens.size() >= 9 ? std::stoi(tokens[4]) : -1;
}

TEST_P(ConsumerClock, UnackedMessageIsRedeliveredAtAckWaitUntilMaxDeliver) {
  PushConsumer({{"ack_policy", "explicit"}, {"ack_wait", 1'000 * kMs}, {"max_deliver", 3}});
  Publish(1);
  auto got = Deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(DeliveryCount(got[0]), 1);
  for (int delivery = 2; delivery <= 3; ++delivery) {
    got = DeliveriesExactlyAfter(1'000);
    ASSERT_EQ(got.size(), 1u) << "delivery " << delivery;
    EXPECT_EQ(DeliveryCount(got[0]), delivery);
    EXPECT_EQ(got[0].payload, "m0");
  }
  h_.Advance(5'000 * kMs, 100 * kMs);
  EXPECT_TRUE(Deliveries().empty()) << "delivered more than max_deliver times";
}

TEST_P(ConsumerClock, AckStopsRedelivery) {
  PushConsumer({{"ack_policy", "explicit"}, {"ack_wait", 1'000 * kMs}});
  Publish(1);
  auto got = Deliveries();
  ASSERT_EQ(got.size(), 1u);
  h_.Send(app_, Pub(got[0].reply, "+ACK"));
  h_.Advance(3'000 * kMs, 100 * kMs);
  EXPECT_TRUE(Deliveries().empty());
}

TEST_P(ConsumerClock, BackoffSpacesRedeliveries) {
  PushConsumer(
      {{"ack_policy", "explicit"}, {"backoff", {500 * kMs, 2'000 * kMs}}, {"max_deliver", 4}});
  Publish(1);
  ASSERT_EQ(Deliveries().size(), 1u);
  // First redelivery after backoff[0], then backoff[1], and backoff's last value after.
  for (int64_t wait_ms : {500, 2'000, 2'000}) {
    EXPECT_EQ(DeliveriesExactlyAfter(wait_ms).size(), 1u) << "not redelivered at " << wait_ms;
  }
}

TEST_P(ConsumerClock, MaxAckPendingHoldsDeliveriesUntilAcks) {
  PushConsumer({{"ack_policy", "explicit"}, {"ack_wait", 30'000 * kMs}, {"max_ack_pending", 2}});
  Publish(5);
  auto got = Deliveries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "m0");
  EXPECT_EQ(got[1].payload, "m1");
  h_.Send(app_, Pub(got[0].reply, "+ACK"));
  h_.Settle();
  got = Deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "m2");
}

TEST_P(ConsumerClock, PullRequestExpiresWithA408) {
  CreateStream();
  CreateConsumer({{"ack_policy", "explicit"}});
  h_.Send(app_, "SUB inbox 9\r\n");
  h_.Send(app_, Pub("$JS.API.CONSUMER.MSG.NEXT.S.C",
                    nlohmann::json{{"batch", 5}, {"expires", 500 * kMs}}.dump(), "inbox"));
  h_.Settle();
  const auto got = DeliveriesExactlyAfter(500);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header.rfind("NATS/1.0 408 Request Timeout\r\n", 0), 0u) << got[0].header;
  // A message published after the request expired waits for the next request.
  Publish(1);
  EXPECT_TRUE(Deliveries().empty());
}

TEST_P(ConsumerClock, PullRequestIsServedWhenAMessageArrives) {
  CreateStream();
  CreateConsumer({{"ack_policy", "explicit"}});
  h_.Send(app_, "SUB inbox 9\r\n");
  h_.Send(app_, Pub("$JS.API.CONSUMER.MSG.NEXT.S.C",
                    nlohmann::json{{"batch", 1}, {"expires", 5'000 * kMs}}.dump(), "inbox"));
  h_.Settle();
  h_.Advance(1'000 * kMs, 100 * kMs);
  Publish(1);
  const auto got = Deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "m0");
}

TEST_P(ConsumerClock, IdleHeartbeatsAtTheInterval) {
  PushConsumer({{"ack_policy", "none"}, {"idle_heartbeat", 1'000 * kMs}, {"flow_control", true}});
  auto got = DeliveriesExactlyAfter(1'000);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header.rfind("NATS/1.0 100 Idle Heartbeat\r\n", 0), 0u) << got[0].header;
  // A delivery resets the idle time.
  h_.Advance(500 * kMs, kMs);
  Publish(1);
  ASSERT_EQ(Deliveries().size(), 1u);
  EXPECT_EQ(DeliveriesExactlyAfter(1'000).size(), 1u);
}

}  // namespace
}  // namespace tern::testing
