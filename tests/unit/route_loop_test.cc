// Routes in the shard loop (tests/support/shard_harness.h): a RouteConnection accepted on
// shard 0 with the cluster service, a test playing the peer node byte for byte, clients on
// every shard. What the peer is told (the interest flood, RS+/RS- as the node's interest
// changes, queue weights) and what crosses the route (one RMSG per message, queue picks
// folded in, weighted picks, the queue filter of routed messages), with 1, 2 and 4 shards.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/cluster_service.h"
#include "tests/support/protocol_frames.h"
#include "tests/support/shard_harness.h"

namespace tern::testing {
namespace {

class RouteLoopTest : public ::testing::TestWithParam<int> {
 protected:
  RouteLoopTest() : h_(GetParam(), {"--cluster", "nats://127.0.0.1:-1", "--cluster_name", "C1"}) {
    auto* service = static_cast<core::ClusterService*>(
        h_.shard(0).AddService(std::make_unique<core::ClusterService>(&h_.shard(0), 6222)));
    h_.shard(0).AddInterestExport(service);
    h_.shard(0).SetConnectionFactory(
        core::kRouteListener,
        [service](core::ShardPort* shard, uint64_t id, std::string ip, int port) {
          return service->MakeAccepted(shard, id, std::move(ip), port);
        },
        /*pinned=*/true);
  }

  // The peer node connects and introduces itself; returns the route and what it was sent
  // up to its registration (our INFO, then the interest flood).
  int ConnectPeer(std::string* greeting, const std::string& id = "NPEER") {
    const int route = h_.Open(core::kRouteListener);
    h_.Send(
        route,
        "CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"headers\":true,"
        "\"name\":\"" +
            id + "\",\"cluster\":\"C1\"}\r\nINFO {\"server_id\":\"" + id +
            "\",\"server_name\":\"peer\",\"cluster\":\"C1\",\"headers\":true,\"port\":7222}\r\n");
    h_.Settle();
    *greeting = h_.Read(route);
    return route;
  }

  ShardHarness h_;
};

INSTANTIATE_TEST_SUITE_P(Shards, RouteLoopTest, ::testing::Values(1, 2, 4),
                         [](const auto& info) { return std::to_string(info.param) + "shards"; });

TEST_P(RouteLoopTest, PeerGetsTheNodesInterestThenItsChanges) {
  const int a = h_.Connect(), b = h_.Connect(), c = h_.Connect();
  h_.Send(a, "SUB orders.* 1\r\nSUB work workers 2\r\n");
  h_.Send(b, "SUB orders.* 1\r\nSUB work workers 2\r\n");
  h_.Settle();
  std::string greeting;
  const int route = ConnectPeer(&greeting);
  EXPECT_EQ(greeting.rfind("INFO {", 0), 0u) << greeting;
  // The flood: one RS+ for the subject however many shards and clients have it, and the
  // group with its weight (two members).
  EXPECT_NE(greeting.find("RS+ $G orders.*\r\n"), std::string::npos) << greeting;
  EXPECT_EQ(greeting.find("RS+ $G orders.*\r\n"), greeting.rfind("RS+ $G orders.*\r\n"));
  EXPECT_NE(greeting.find("RS+ $G work workers 2\r\n"), std::string::npos) << greeting;

  h_.Send(c, "SUB orders.* 1\r\nSUB work workers 2\r\n");
  h_.Settle();
  EXPECT_EQ(h_.Read(route), "RS+ $G work workers 3\r\n") << "a third member, no new plain RS+";
  for (int client : {a, b}) h_.Send(client, "UNSUB 1\r\nUNSUB 2\r\n");
  h_.Settle();
  EXPECT_EQ(h_.Read(route), "RS+ $G work workers 2\r\nRS+ $G work workers 1\r\n");
  h_.Send(c, "UNSUB 1\r\nUNSUB 2\r\n");
  h_.Settle();
  const std::string last = h_.Read(route);
  EXPECT_NE(last.find("RS- $G orders.*\r\n"), std::string::npos) << last;
  EXPECT_NE(last.find("RS- $G work workers\r\n"), std::string::npos) << last;
}

TEST_P(RouteLoopTest, AMessageCrossesTheRouteOnceWithItsQueuePicksFolded) {
  std::string greeting;
  const int route = ConnectPeer(&greeting);
  // The peer has two plain subscriptions that match and a queue group of weight 2.
  h_.Send(route, "RS+ $G orders.*\r\nRS+ $G orders.>\r\nRS+ $G orders.new q 2\r\n");
  h_.Settle();
  std::vector<int> publishers;
  for (int i = 0; i < GetParam(); ++i) publishers.push_back(h_.Connect());
  for (int p : publishers) h_.Send(p, "PUB orders.new _INBOX.r 5\r\nhello\r\n");
  h_.Settle();
  std::string expected;
  for (int i = 0; i < GetParam(); ++i) expected += "RMSG $G orders.new + _INBOX.r q 5\r\nhello\r\n";
  EXPECT_EQ(h_.Read(route), expected);
}

TEST_P(RouteLoopTest, QueuePicksWeighTheRoutesMembers) {
  std::string greeting;
  const int route = ConnectPeer(&greeting);
  h_.Send(route, "RS+ $G work workers 3\r\n");
  const int member = h_.Connect();
  h_.Send(member, "SUB work workers 1\r\nPING\r\n");
  h_.Settle();
  h_.Read(member);
  const int publisher = h_.Connect();
  std::string burst;
  for (int i = 0; i < 4000; ++i) burst += Pub("work", "x");
  h_.Send(publisher, burst);
  h_.Settle();
  const std::size_t local = ParseFrames(h_.Read(member)).size();
  const std::string routed = h_.Read(route);
  std::size_t crossed = 0;
  for (std::size_t at = routed.find("RMSG "); at != std::string::npos;
       at = routed.find("RMSG ", at + 1)) {
    ++crossed;
  }
  EXPECT_EQ(local + crossed, 4000u) << "each message exactly once";
  // One local member against three behind the route: about three quarters cross.
  EXPECT_GT(crossed, 2700u);
  EXPECT_LT(crossed, 3300u);
}

TEST_P(RouteLoopTest, RoutedMessagesServeOnlyTheGroupsTheyName) {
  std::string greeting;
  const int route = ConnectPeer(&greeting);
  const int plain = h_.Connect(), member = h_.Connect();
  h_.Send(plain, "SUB jobs 1\r\nPING\r\n");
  h_.Send(member, "SUB jobs workers 1\r\nPING\r\n");
  h_.Settle();
  h_.Read(plain);
  h_.Read(member);
  h_.Send(route,
          "RMSG $G jobs 3\r\none\r\n"
          "RMSG $G jobs | workers 3\r\ntwo\r\n"
          "RMSG $G jobs | others 5\r\nthree\r\n");
  h_.Settle();
  EXPECT_EQ(Payloads(ParseFrames(h_.Read(plain))),
            (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(Payloads(ParseFrames(h_.Read(member))), (std::vector<std::string>{"two"}))
      << "a routed message without a queue list reaches no queue member";
  EXPECT_EQ(h_.Read(route).find("RMSG"), std::string::npos) << "nothing goes back on a route";
}

// A routed queue message whose group has no member left here (it left while the message
// was on its way) goes on to a member behind another route, as nats-server passes it: a
// second hop naming only that group, never back to the route it came on.
TEST_P(RouteLoopTest, ARoutedQueueMessageWithoutALocalMemberTakesASecondHop) {
  std::string greeting;
  const int from = ConnectPeer(&greeting, "NFROM");
  const int next = ConnectPeer(&greeting, "NNEXT");
  h_.Send(from, "RS+ $G jobs workers 1\r\n");
  h_.Send(next, "RS+ $G jobs workers 2\r\n");
  const int plain = h_.Connect();
  h_.Send(plain, "SUB jobs 1\r\nPING\r\n");
  h_.Settle();
  h_.Read(plain);
  h_.Read(from);
  h_.Read(next);
  h_.Send(from, "RMSG $G jobs | workers 4\r\nlost\r\n");
  h_.Settle();
  EXPECT_EQ(h_.Read(next), "RMSG $G jobs | workers 4\r\nlost\r\n");
  EXPECT_EQ(h_.Read(from), "") << "nothing goes back on the route it came on";
  EXPECT_EQ(Payloads(ParseFrames(h_.Read(plain))), (std::vector<std::string>{"lost"}));

  // With a member here, it stays here.
  const int member = h_.Connect();
  h_.Send(member, "SUB jobs workers 1\r\nPING\r\n");
  h_.Settle();
  h_.Read(member);
  h_.Read(from);
  h_.Read(next);
  h_.Send(from, "RMSG $G jobs | workers 4\r\nkept\r\n");
  h_.Settle();
  EXPECT_EQ(Payloads(ParseFrames(h_.Read(member))), (std::vector<std::string>{"kept"}));
  EXPECT_EQ(h_.Read(next), "");

  // Only the route it came on has members: the message ends here.
  h_.Send(member, "UNSUB 1\r\nPING\r\n");
  h_.Send(next, "RS- $G jobs workers\r\n");
  h_.Settle();
  h_.Read(member);
  h_.Read(from);
  h_.Send(from, "RMSG $G jobs | workers 4\r\nlast\r\n");
  h_.Settle();
  EXPECT_EQ(h_.Read(from).find("RMSG"), std::string::npos);
  EXPECT_EQ(h_.Read(next).find("RMSG"), std::string::npos);
}

// A slow subscriber holds a route back as it holds a client back: the route's socket stops
// being read (mid-read: the frames after the one that congested wait) and every message
// arrives once the subscriber drains; the route is never cut off.
TEST_P(RouteLoopTest, ASlowSubscriberHoldsTheRouteBackWithoutLoss) {
  std::string greeting;
  const int route = ConnectPeer(&greeting);
  const int subscriber = h_.Connect();
  h_.Send(subscriber, "SUB s 1\r\nPING\r\n");
  h_.Settle();
  ASSERT_EQ(h_.Read(subscriber), "PONG\r\n");
  h_.Read(route);
  h_.reactor(subscriber).LimitSends(subscriber, 4 * 1024);  // 4 KiB a turn
  const std::string payload(1024, 'x');
  std::string burst;
  constexpr std::size_t kMessages = 8000;  // 8 MiB: past the congestion mark
  for (std::size_t i = 0; i < kMessages; ++i) {
    burst += "RMSG $G s 1024\r\n" + payload + "\r\n";
  }
  h_.Send(route, burst);
  bool route_paused = false;
  std::size_t received = 0;
  std::string partial;
  for (int turn = 0; turn < 40000 && received < kMessages; ++turn) {
    h_.Turn();
    route_paused |= h_.reactor(route).paused(route);
    partial += h_.Read(subscriber);
    for (auto at = partial.find("MSG s 1 1024\r\n"); at != std::string::npos;
         at = partial.find("MSG s 1 1024\r\n")) {
      ++received;
      partial.erase(0, at + 1);
    }
  }
  EXPECT_TRUE(route_paused) << "8 MiB queued for a 4 KiB-a-turn reader without back-pressure";
  EXPECT_EQ(received, kMessages);
  EXPECT_FALSE(h_.Closed(route));
}

}  // namespace
}  // namespace tern::testing
