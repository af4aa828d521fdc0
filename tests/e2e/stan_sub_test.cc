// STAN subscriptions through libnats' STAN API on a real tern-server (docs/STAN.md,
// "Subscriptions"): start positions, acks and redelivery, maxInFlight, durables that survive
// a close but not an unsubscribe, and nats-streaming-server's answers to bad requests.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "core/stan/protocol.h"
#include "stan_util.h"

namespace tern::e2e {
namespace {

// The JetStream consumers behind a channel's subscriptions.
int64_t ConsumerCount(const ServerProcess& server, const std::string& stream) {
  auto nats = Connect(server);
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nats->nc, nullptr);
  jsStreamInfo* info = nullptr;
  int64_t count = -1;
  if (js_GetStreamInfo(&info, js, stream.c_str(), nullptr, nullptr) == NATS_OK) {
    count = info->State.Consumers;
    jsStreamInfo_Destroy(info);
  }
  jsCtx_Destroy(js);
  return count;
}

TEST(StanSub, StartPositionsPickWhereDeliveryBegins) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "reader", &stan), NATS_OK);
  PublishAll(stan.sc, "prices", 1, 5);

  StanInbox all, from3, last, fresh, past_end;
  SubOptions o_all, o_3, o_last, o_past;
  stanSubOptions_DeliverAllAvailable(o_all.opts);
  stanSubOptions_StartAtSequence(o_3.opts, 3);
  stanSubOptions_StartWithLastReceived(o_last.opts);
  stanSubOptions_StartAtSequence(o_past.opts, 99);
  ASSERT_EQ(all.Subscribe(stan.sc, "prices", o_all.opts), NATS_OK);
  ASSERT_EQ(from3.Subscribe(stan.sc, "prices", o_3.opts), NATS_OK);
  ASSERT_EQ(last.Subscribe(stan.sc, "prices", o_last.opts), NATS_OK);
  ASSERT_EQ(fresh.Subscribe(stan.sc, "prices", nullptr), NATS_OK);
  ASSERT_EQ(past_end.Subscribe(stan.sc, "prices", o_past.opts), NATS_OK);
  PublishAll(stan.sc, "prices", 6, 7);

  const auto got = all.WaitFor(7);
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[0].data, "m1");
  EXPECT_EQ(got[6].data, "m7");
  EXPECT_FALSE(got[0].redelivered);
  // Receive times in ns since the epoch, never going back.
  const int64_t year_2020_ns = 1577836800LL * 1'000'000'000;
  EXPECT_GT(got[0].timestamp, year_2020_ns);
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i].timestamp, got[i - 1].timestamp);
  EXPECT_EQ(Sequences(from3.WaitFor(5)), (std::vector<uint64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(Sequences(last.WaitFor(3)), (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_EQ(Sequences(fresh.WaitFor(2)), (std::vector<uint64_t>{6, 7}));
  // Past the last sequence: new messages only, none skipped.
  EXPECT_EQ(Sequences(past_end.WaitFor(2)), (std::vector<uint64_t>{6, 7}));

  // A time delta: what was received in the last minute, i.e. all of it.
  StanInbox recent;
  SubOptions o_recent;
  stanSubOptions_StartAtTimeDelta(o_recent.opts, 60'000);
  ASSERT_EQ(recent.Subscribe(stan.sc, "prices", o_recent.opts), NATS_OK);
  EXPECT_EQ(recent.WaitFor(7).size(), 7u);
}

TEST(StanSub, AnUnackedMessageIsRedeliveredAndMaxInflightHoldsTheRest) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "slow", &stan), NATS_OK);
  PublishAll(stan.sc, "jobs", 1, 5);

  // Acks everything but the first delivery of message 2: it comes back, marked so.
  StanInbox inbox;
  inbox.AckWhen([](const StanInbox::Got& g) { return g.sequence != 2 || g.redelivered; });
  SubOptions opts;
  stanSubOptions_DeliverAllAvailable(opts.opts);
  stanSubOptions_SetManualAckMode(opts.opts, true);
  stanSubOptions_SetAckWait(opts.opts, 1000);
  ASSERT_EQ(inbox.Subscribe(stan.sc, "jobs", opts.opts), NATS_OK);
  const auto got = inbox.WaitFor(6);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back().sequence, 2u);
  EXPECT_TRUE(got.back().redelivered);
  for (std::size_t i = 0; i + 1 < got.size(); ++i) EXPECT_FALSE(got[i].redelivered);

  // With at most 2 in flight and none acknowledged, a third never comes.
  StanInbox held;
  held.AckWhen([](const StanInbox::Got&) { return false; });
  SubOptions held_opts;
  stanSubOptions_DeliverAllAvailable(held_opts.opts);
  stanSubOptions_SetManualAckMode(held_opts.opts, true);
  stanSubOptions_SetMaxInflight(held_opts.opts, 2);
  ASSERT_EQ(held.Subscribe(stan.sc, "jobs", held_opts.opts), NATS_OK);
  EXPECT_EQ(held.WaitFor(2).size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(Sequences(held.Received()), (std::vector<uint64_t>{1, 2}));
}

TEST(StanSub, ADurableResumesWhereItWasClosedButNotAfterAnUnsubscribe) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "auditor", &stan), NATS_OK);
  PublishAll(stan.sc, "ledger", 1, 3);

  SubOptions opts;
  stanSubOptions_DeliverAllAvailable(opts.opts);
  stanSubOptions_SetDurableName(opts.opts, "books");
  {
    StanInbox first;
    ASSERT_EQ(first.Subscribe(stan.sc, "ledger", opts.opts), NATS_OK);
    EXPECT_EQ(first.WaitFor(3).size(), 3u);
    // Online: a second registration of the same durable is refused.
    StanInbox twin;
    std::string error;
    EXPECT_NE(twin.Subscribe(stan.sc, "ledger", opts.opts, &error), NATS_OK);
    EXPECT_NE(error.find("stan: duplicate durable registration"), std::string::npos) << error;
    ASSERT_EQ(stanSubscription_Close(first.sub()), NATS_OK) << nats_GetLastError(nullptr);
    stanSubscription_Destroy(first.sub());
    first.Forget();
  }
  PublishAll(stan.sc, "ledger", 4, 5);
  EXPECT_EQ(ConsumerCount(*server, "STAN_ledger"), 1);  // kept while offline

  StanInbox resumed;
  ASSERT_EQ(resumed.Subscribe(stan.sc, "ledger", opts.opts), NATS_OK);
  EXPECT_EQ(Sequences(resumed.WaitFor(2)), (std::vector<uint64_t>{4, 5}));
  ASSERT_EQ(stanSubscription_Unsubscribe(resumed.sub()), NATS_OK) << nats_GetLastError(nullptr);
  stanSubscription_Destroy(resumed.sub());
  resumed.Forget();
  EXPECT_EQ(ConsumerCount(*server, "STAN_ledger"), 0);

  // Unsubscribed: the same name starts over, from where its options say.
  StanInbox again;
  ASSERT_EQ(again.Subscribe(stan.sc, "ledger", opts.opts), NATS_OK);
  EXPECT_EQ(again.WaitFor(5).size(), 5u);
}

TEST(StanSub, PlainSubscriptionsEndWithTheirClientAndDurablesStay) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  {
    StanConn stan;
    ASSERT_EQ(StanConnect(*server, "test-cluster", "short-lived", &stan), NATS_OK);
    PublishAll(stan.sc, "metrics", 1, 1);
    StanInbox plain, durable;
    SubOptions opts;
    stanSubOptions_SetDurableName(opts.opts, "keep");
    ASSERT_EQ(plain.Subscribe(stan.sc, "metrics", nullptr), NATS_OK);
    ASSERT_EQ(durable.Subscribe(stan.sc, "metrics", opts.opts), NATS_OK);
    EXPECT_EQ(ConsumerCount(*server, "STAN_metrics"), 2);
    // Closing the connection closes its subscriptions (the inboxes' own closes then fail).
    stanConnection_Close(stan.sc);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ConsumerCount(*server, "STAN_metrics") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ConsumerCount(*server, "STAN_metrics"), 1);
}

// Members of a queue group share its messages, each given no more than its maxInFlight; a
// member that leaves hands what it had not acknowledged to the others.
TEST(StanSub, QueueMembersShareTheMessagesAndALeaverHandsItsOwnOver) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn one, two;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "worker-a", &one), NATS_OK);
  ASSERT_EQ(StanConnect(*server, "test-cluster", "worker-b", &two), NATS_OK);
  SubOptions opts;
  stanSubOptions_SetManualAckMode(opts.opts, true);
  stanSubOptions_SetMaxInflight(opts.opts, 5);
  StanInbox a, b;
  a.AckWhen([](const StanInbox::Got&) { return false; });
  b.AckWhen([](const StanInbox::Got& g) { return g.redelivered; });
  ASSERT_EQ(a.QueueSubscribe(one.sc, "tasks", "workers", opts.opts), NATS_OK);
  ASSERT_EQ(b.QueueSubscribe(two.sc, "tasks", "workers", opts.opts), NATS_OK);
  PublishAll(one.sc, "tasks", 1, 10);
  const auto got_a = a.WaitFor(5);
  const auto got_b = b.WaitFor(5);
  EXPECT_EQ(got_a.size(), 5u);
  EXPECT_EQ(got_b.size(), 5u);
  std::set<uint64_t> all;
  for (const auto& g : got_a) all.insert(g.sequence);
  for (const auto& g : got_b) all.insert(g.sequence);
  EXPECT_EQ(all.size(), 10u);  // each message to one member only

  // A leaves without acknowledging: its five come to B, marked redelivered.
  ASSERT_EQ(stanSubscription_Close(a.sub()), NATS_OK) << nats_GetLastError(nullptr);
  stanSubscription_Destroy(a.sub());
  a.Forget();
  const auto after = b.WaitFor(10);
  ASSERT_EQ(after.size(), 10u);
  std::set<uint64_t> handed;
  for (std::size_t i = 5; i < after.size(); ++i) {
    EXPECT_TRUE(after[i].redelivered);
    handed.insert(after[i].sequence);
  }
  std::set<uint64_t> had_a;
  for (const auto& g : got_a) had_a.insert(g.sequence);
  EXPECT_EQ(handed, had_a);
}

// A durable queue group belongs to no client: closed by its last member, it keeps its place
// for whoever joins it next.
TEST(StanSub, ADurableQueueGroupOutlivesItsMembers) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn first, second;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "night-shift", &first), NATS_OK);
  PublishAll(first.sc, "invoices", 1, 3);
  SubOptions opts;
  stanSubOptions_SetDurableName(opts.opts, "billing");
  stanSubOptions_DeliverAllAvailable(opts.opts);
  {
    StanInbox member;
    ASSERT_EQ(member.QueueSubscribe(first.sc, "invoices", "payers", opts.opts), NATS_OK);
    EXPECT_EQ(Sequences(member.WaitFor(3)), (std::vector<uint64_t>{1, 2, 3}));
  }  // closed
  PublishAll(first.sc, "invoices", 4, 5);
  ASSERT_EQ(StanConnect(*server, "test-cluster", "day-shift", &second), NATS_OK);
  StanInbox next;
  ASSERT_EQ(next.QueueSubscribe(second.sc, "invoices", "payers", opts.opts), NATS_OK);
  EXPECT_EQ(Sequences(next.WaitFor(2)), (std::vector<uint64_t>{4, 5}));
  // Unsubscribed by its last member, it is gone.
  ASSERT_EQ(stanSubscription_Unsubscribe(next.sub()), NATS_OK) << nats_GetLastError(nullptr);
  stanSubscription_Destroy(next.sub());
  next.Forget();
  EXPECT_EQ(ConsumerCount(*server, "STAN_invoices"), 0);
}

// The error a subscribe, unsubscribe or subscription close is answered with.
std::string UnsubError(natsConnection* nc, const std::string& subject, const std::string& body) {
  const std::string answer = Request(nc, subject, body);
  core::stan::SubscriptionResponse response;
  if (!core::stan::Decode(answer, &response)) return "<unreadable>";
  return std::string(response.error);
}

std::string SubError(natsConnection* nc, const core::stan::SubscriptionRequest& request) {
  std::string body;
  core::stan::Encode(request, &body);
  return UnsubError(nc, "_STAN.sub.test-cluster", body);
}

TEST(StanSub, BadSubscriptionRequestsGetNatsStreamingServersErrors) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "asker", &stan), NATS_OK);
  auto nats = Connect(*server);
  const core::stan::SubscriptionRequest good{.client_id = "asker",
                                             .subject = "orders",
                                             .inbox = "_INBOX.raw.1",
                                             .max_in_flight = 16,
                                             .ack_wait_in_secs = 30};
  auto with = [&](auto change) {
    core::stan::SubscriptionRequest r = good;
    change(r);
    return SubError(nats->nc, r);
  };
  using R = core::stan::SubscriptionRequest;
  EXPECT_EQ(with([](R& r) { r.client_id = ""; }), "stan: clientID missing");
  EXPECT_EQ(with([](R& r) { r.ack_wait_in_secs = 0; }),
            "stan: invalid ack wait time, should be >= 1s");
  EXPECT_EQ(with([](R& r) { r.max_in_flight = 0; }), "stan: invalid MaxInflight, should be >= 1");
  EXPECT_EQ(with([](R& r) { r.start_position = static_cast<core::stan::StartPosition>(7); }),
            "stan: invalid start position");
  EXPECT_EQ(with([](R& r) { r.subject = "orders.>"; }), "stan: invalid subject");
  EXPECT_EQ(with([](R& r) { r.client_id = "stranger"; }), "stan: unknown clientID");
  EXPECT_EQ(with([](R& r) {
              r.q_group = "workers";
              r.durable_name = "a:b";
            }),
            "stan: durable name of a durable queue subscriber can't contain the character ':'");
  EXPECT_EQ(SubError(nats->nc, {}), "stan: clientID missing");

  // Unsubscribing what is not there.
  std::string unsub;
  core::stan::Encode(
      core::stan::UnsubscribeRequest{.client_id = "asker", .subject = "nowhere", .inbox = "x"},
      &unsub);
  EXPECT_EQ(UnsubError(nats->nc, "_STAN.unsub.test-cluster", unsub), "stan: unknown channel");
  ASSERT_EQ(SubError(nats->nc, good), "");  // makes the channel
  core::stan::Encode(
      core::stan::UnsubscribeRequest{.client_id = "asker", .subject = "orders", .inbox = "x"},
      &unsub);
  EXPECT_EQ(UnsubError(nats->nc, "_STAN.subclose.test-cluster", unsub),
            "stan: invalid subscription");
  // Another client's subscription (found by its delivery inbox) is not this one's to end.
  core::stan::Encode(
      core::stan::UnsubscribeRequest{
          .client_id = "other", .subject = "orders", .inbox = "_INBOX.raw.1"},
      &unsub);
  EXPECT_EQ(UnsubError(nats->nc, "_STAN.unsub.test-cluster", unsub), "stan: unknown clientID");
  std::string garbage = "\x0a\x7f";
  EXPECT_EQ(UnsubError(nats->nc, "_STAN.unsub.test-cluster", garbage),
            "stan: invalid unsubscribe request");
}

}  // namespace
}  // namespace tern::e2e
