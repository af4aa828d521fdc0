// STAN redelivery through libnats' STAN API on a real tern-server (docs/STAN.md,
// "Subscriptions"): a durable that resumes gets what it had not acknowledged at once, and a
// queue member whose unacknowledged message the channel's limits removed is given work again.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "stan_util.h"

namespace tern::e2e {
namespace {

TEST(StanRedelivery, AResumedDurableGetsItsUnacknowledgedMessagesAtOnce) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "clerk", &stan), NATS_OK);
  PublishAll(stan.sc, "orders", 1, 3);
  SubOptions opts;
  stanSubOptions_DeliverAllAvailable(opts.opts);
  stanSubOptions_SetDurableName(opts.opts, "desk");
  stanSubOptions_SetManualAckMode(opts.opts, true);
  stanSubOptions_SetAckWait(opts.opts, 60'000);  // far past the wait below: no timeout path
  {
    StanInbox first;
    first.AckWhen([](const StanInbox::Got& g) { return g.sequence == 1; });
    ASSERT_EQ(first.Subscribe(stan.sc, "orders", opts.opts), NATS_OK);
    ASSERT_EQ(first.WaitFor(3).size(), 3u);
    ASSERT_EQ(stanSubscription_Close(first.sub()), NATS_OK) << nats_GetLastError(nullptr);
    stanSubscription_Destroy(first.sub());
    first.Forget();
  }
  StanInbox resumed;
  resumed.AckWhen([](const StanInbox::Got&) { return true; });
  ASSERT_EQ(resumed.Subscribe(stan.sc, "orders", opts.opts), NATS_OK);
  const auto got = resumed.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Sequences(got), (std::vector<uint64_t>{2, 3}));
  EXPECT_TRUE(got[0].redelivered);
  EXPECT_TRUE(got[1].redelivered);
}

// A member at its maxInFlight because of a message the limits took away would otherwise
// never be picked again.
TEST(StanRedelivery, AQueueMemberHoldingAMessageTheLimitsRemovedIsGivenWorkAgain) {
  auto server = StartStreaming({"--max_msgs", "2"});
  ASSERT_TRUE(server);
  StanConn one, two;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "slow", &one), NATS_OK);
  ASSERT_EQ(StanConnect(*server, "test-cluster", "fast", &two), NATS_OK);
  SubOptions slow_opts, fast_opts;
  stanSubOptions_SetManualAckMode(slow_opts.opts, true);
  stanSubOptions_SetMaxInflight(slow_opts.opts, 1);
  stanSubOptions_SetAckWait(slow_opts.opts, 1'000);
  stanSubOptions_SetMaxInflight(fast_opts.opts, 100);
  stanSubOptions_SetAckWait(fast_opts.opts, 1'000);
  StanInbox slow, fast;
  slow.AckWhen([](const StanInbox::Got&) { return false; });
  ASSERT_EQ(slow.QueueSubscribe(one.sc, "jobs", "crew", slow_opts.opts), NATS_OK);
  PublishAll(one.sc, "jobs", 1, 1);
  ASSERT_EQ(slow.WaitFor(1).size(), 1u);  // the only member: it holds message 1
  ASSERT_EQ(fast.QueueSubscribe(two.sc, "jobs", "crew", fast_opts.opts), NATS_OK);
  PublishAll(one.sc, "jobs", 2, 4);  // max_msgs 2: message 1 is gone from the channel
  ASSERT_EQ(fast.WaitFor(3).size(), 3u);

  // Past twice the ack wait, message 1 is known to be gone and "slow" is free again: it is
  // given one of the next messages (the others go to "fast", which acknowledges).
  int next = 5;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (slow.Received().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    PublishAll(one.sc, "jobs", next, next);
    ++next;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto slow_got = slow.Received();
  ASSERT_GE(slow_got.size(), 2u);
  EXPECT_GE(slow_got[1].sequence, 5u);
}

}  // namespace
}  // namespace tern::e2e
