// Timers and back-pressure of the shard loop under the hand-moved clock
// (tests/support/shard_harness.h): each deadline is checked to the millisecond, with no
// sleeping.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/protocol_frames.h"
#include "tests/support/shard_harness.h"

namespace tern::testing {
namespace {

constexpr int64_t kMs = 1'000'000;

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

// Nothing reaches `client` for `ms` - 1 milliseconds from now; at the last one, `then` does.
void ExpectExactlyAfter(ShardHarness& h, int client, int64_t ms, const std::string& then) {
  h.Advance((ms - 1) * kMs, kMs);
  EXPECT_EQ(h.Read(client), "") << "before " << ms << " ms";
  h.Advance(kMs, kMs);
  EXPECT_EQ(h.Read(client), then) << "at " << ms << " ms";
}

// The server PINGs an idle client at ping_interval, to the millisecond (not on a coarse
// tick), and after ping_max unanswered PINGs closes it as stale.
TEST(ShardTimers, ServerPingsAtTheIntervalAndClosesStaleClients) {
  ShardHarness h(2, {}, "ping_interval: \"100ms\"\nping_max: 2\n");
  const int client = h.Connect();
  ExpectExactlyAfter(h, client, 100, "PING\r\n");
  ExpectExactlyAfter(h, client, 100, "PING\r\n");
  EXPECT_FALSE(h.Closed(client));
  ExpectExactlyAfter(h, client, 100, "-ERR 'Stale Connection'\r\n");
  EXPECT_TRUE(h.Closed(client));
}

// A client that answers stays; one that sends its own PINGs more often than the interval
// gets no server PING at all (as nats-server), once its round trip is measured.
TEST(ShardTimers, ClientTrafficSuppressesServerPings) {
  ShardHarness h(1, {}, "ping_interval: \"100ms\"\nping_max: 2\n");
  const int client = h.Connect();
  h.Advance(100 * kMs, kMs);
  ASSERT_EQ(h.Read(client), "PING\r\n");
  h.Send(client, "PONG\r\n");
  for (int i = 0; i < 10; ++i) {
    h.Advance(50 * kMs, kMs);
    h.Send(client, "PING\r\n");
    h.Settle();
    EXPECT_EQ(h.Read(client), "PONG\r\n") << "at " << (i + 1) * 50 << " ms";
  }
  EXPECT_FALSE(h.Closed(client));
  // Silent again: the server PINGs one interval after the client last spoke.
  ExpectExactlyAfter(h, client, 100, "PING\r\n");
}

// With authorization on, a connection that sends no CONNECT is closed at the
// authorization timeout.
TEST(ShardTimers, AuthorizationTimeout) {
  ShardHarness h(2, {}, "authorization { user: a, password: b, timeout: 0.5 }\n");
  const int client = h.Open();
  EXPECT_NE(h.Read(client).find("\"auth_required\":true"), std::string::npos);
  h.Advance(499 * kMs, kMs);
  EXPECT_FALSE(h.Closed(client));
  h.Advance(1 * kMs, kMs);
  EXPECT_EQ(h.Read(client), "-ERR 'Authentication Timeout'\r\n");
  EXPECT_TRUE(h.Closed(client));
}

// A subscriber whose send does not complete within write_deadline is cut off as a slow
// consumer; the publisher is not.
TEST(ShardTimers, WriteDeadlineCutsOffAStuckSubscriber) {
  ShardHarness h(2, {}, "write_deadline: \"2s\"\n");
  const int subscriber = h.Connect();
  const int publisher = h.Connect();
  h.Send(subscriber, "SUB s 1\r\nPING\r\n");
  h.Settle();
  ASSERT_EQ(h.Read(subscriber), "PONG\r\n");
  h.reactor(subscriber).LimitSends(subscriber, 0);  // the peer stops reading
  h.Send(publisher, Pub("s", "hello"));
  h.Settle();
  h.Advance(1900 * kMs);
  EXPECT_FALSE(h.Closed(subscriber));
  h.Advance(200 * kMs);
  EXPECT_TRUE(h.Closed(subscriber));
  EXPECT_FALSE(h.Closed(publisher));
  EXPECT_EQ(h.shard(h.ShardOf(subscriber)).stats().slow_consumers.load(), 1u);
}

class ShardBackPressure : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Shards, ShardBackPressure, ::testing::Values(1, 2),
                         [](const auto& info) { return std::to_string(info.param) + "shards"; });

// A slow subscriber holds its publisher back (the publisher's socket is not read) instead
// of queueing without bound, and every message arrives once it drains. On one shard the
// publisher stalls on the subscriber's congestion; across shards, once the cross-shard
// window (Shard::kCrossShardWindow) fills because the subscriber's shard stops draining.
TEST_P(ShardBackPressure, SlowSubscriberHoldsThePublisherBackWithoutLoss) {
  ShardHarness h(GetParam());
  const int subscriber = h.Connect();
  const int publisher = h.Connect();
  h.Send(subscriber, "SUB s 1\r\nPING\r\n");
  h.Settle();
  ASSERT_EQ(h.Read(subscriber), "PONG\r\n");
  h.reactor(subscriber).LimitSends(subscriber, 4 * 1024);  // 4 KiB a turn
  const std::string payload(1024, 'x');
  std::string burst;
  constexpr std::size_t kMessages = 8000;  // 8 MiB: past the congestion mark and the window
  for (std::size_t i = 0; i < kMessages; ++i) burst += Pub("s", payload);
  h.Send(publisher, burst);
  bool publisher_paused = false;
  std::size_t received = 0;
  for (int turn = 0; turn < 20000 && received < kMessages; ++turn) {
    h.Turn();
    publisher_paused |= h.reactor(publisher).paused(publisher);
    received += Count(h.Read(subscriber), "MSG s 1 1024\r\n");
  }
  EXPECT_TRUE(publisher_paused) << "8 MiB queued for a 4 KiB-a-turn reader without back-pressure";
  EXPECT_EQ(received, kMessages);
  EXPECT_FALSE(h.Closed(subscriber));
}

// A subscriber that cannot keep up at all stops holding others back once it shows it is
// not draining, is left to reach max_pending, and is cut off as a slow consumer; the
// publisher goes on. A publisher on the same shard is held for at most the stall budget.
// (Settle also checks that a congested shard sleeps instead of spinning on the batches it
// leaves waiting in its rings.)
TEST_P(ShardBackPressure, StuckSubscriberIsCutOffAtMaxPending) {
  ShardHarness h(GetParam(), {}, "max_pending: 65536\n");
  const int subscriber = h.Connect();
  const int publisher = h.Connect();
  h.Send(subscriber, "SUB s 1\r\nPING\r\n");
  h.Settle();
  ASSERT_EQ(h.Read(subscriber), "PONG\r\n");
  h.reactor(subscriber).LimitSends(subscriber, 0);
  const std::string payload(1024, 'x');
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += Pub("s", payload);
  h.Send(publisher, burst + "PING\r\n");
  h.Settle();
  if (GetParam() == 1) {
    EXPECT_FALSE(h.Closed(subscriber));
    EXPECT_EQ(h.Read(publisher), "") << "the publisher was not held back";
  }
  h.Advance(300 * kMs);
  EXPECT_TRUE(h.Closed(subscriber));
  EXPECT_FALSE(h.Closed(publisher));
  EXPECT_EQ(h.Read(publisher), "PONG\r\n");
  EXPECT_EQ(h.shard(h.ShardOf(subscriber)).stats().slow_consumers.load(), 1u);
}

}  // namespace
}  // namespace tern::testing
