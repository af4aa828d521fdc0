// The shard loop stepped by hand (tests/support/shard_harness.h): several shards in one
// thread on fake reactors under a hand-moved clock. Each test is exact about which turn
// and which instant something happens in, with no sockets and no sleeping.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/protocol_frames.h"
#include "tests/support/shard_harness.h"

namespace tern::testing {
namespace {

class ShardLoopTest : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Shards, ShardLoopTest, ::testing::Values(1, 2, 4),
                         [](const auto& info) { return std::to_string(info.param) + "shards"; });

TEST_P(ShardLoopTest, ClientsAreDealtRoundRobinAndGreetedWithInfo) {
  ShardHarness h(GetParam());
  std::vector<int> shards;
  for (int i = 0; i < 2 * GetParam(); ++i) shards.push_back(h.ShardOf(h.Connect()));
  for (int i = 0; i < 2 * GetParam(); ++i) EXPECT_EQ(shards[i], i % GetParam());
}

TEST_P(ShardLoopTest, MessagesCrossShardsInPublishOrder) {
  ShardHarness h(GetParam());
  const int subscriber = h.Connect();
  const int publisher = h.Connect();  // on the next shard when there is more than one
  h.Send(subscriber, "SUB orders.* 1\r\nPING\r\n");
  h.Settle();
  ASSERT_EQ(h.Read(subscriber), "PONG\r\n");
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += Pub("orders." + std::to_string(i % 7), std::to_string(i));
  h.Send(publisher, burst);
  h.Settle();
  const std::vector<std::string> got = Payloads(ParseFrames(h.Read(subscriber)));
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(got[i], std::to_string(i));
}

// A PONG promises that every SUB before the PING is in force on every shard: the shard
// withholds it until each peer acknowledged the interest change.
TEST_P(ShardLoopTest, PongWaitsUntilEveryShardHasTheSubscription) {
  ShardHarness h(GetParam());
  const int subscriber = h.Connect();
  const int publisher = h.Connect();
  h.Send(subscriber, "SUB news 1\r\nPING\r\n");
  // Only the subscriber's shard runs: with peers, it may not answer yet.
  for (int i = 0; i < 5; ++i) h.shard(h.ShardOf(subscriber)).Step();
  const std::string early = h.Read(subscriber);
  if (GetParam() == 1) {
    EXPECT_EQ(early, "PONG\r\n");
  } else {
    EXPECT_EQ(early, "") << "PONG sent before the other shards applied the SUB";
  }
  h.Settle();
  EXPECT_EQ(early + h.Read(subscriber), "PONG\r\n");
  // And from then on, a message published anywhere reaches it.
  h.Send(publisher, Pub("news", "first"));
  h.Settle();
  EXPECT_EQ(Payloads(ParseFrames(h.Read(subscriber))), std::vector<std::string>{"first"});
}

// A shard drains the rings of peers that announced a push; should an announcement go
// astray, the next timer tick looks at every ring, so the batch is late, never stranded
// until that peer happens to push again.
TEST_P(ShardLoopTest, APushWhoseAnnouncementIsLostArrivesByTheNextTick) {
  if (GetParam() == 1) GTEST_SKIP() << "nothing crosses shards with one";
  ShardHarness h(GetParam());
  const int subscriber = h.Connect();
  const int publisher = h.Connect();
  h.Send(subscriber, "SUB news 1\r\nPING\r\n");
  h.Settle();
  ASSERT_EQ(h.Read(subscriber), "PONG\r\n");
  h.Send(publisher, Pub("news", "late"));
  // The publisher's shard reads the PUB in one turn and pushes its batch in the next.
  core::Shard& from = h.shard(h.ShardOf(publisher));
  for (int i = 0; i < 3; ++i) from.Step();
  const int to = h.ShardOf(subscriber);
  ASSERT_TRUE(h.context().mesh->TakeAnnounced(to).Any()) << "the push was not announced";
  h.Settle();
  EXPECT_EQ(h.Read(subscriber), "") << "drained although nobody announced it";
  h.Advance(200'000'000);
  EXPECT_EQ(Payloads(ParseFrames(h.Read(subscriber))), std::vector<std::string>{"late"});
}

// Each message goes to exactly one member of a queue group, whichever shards the members
// are on; a member that leaves gets no more, and none is lost in the change.
TEST_P(ShardLoopTest, QueueGroupDeliversEachMessageOnceAcrossShards) {
  ShardHarness h(GetParam());
  std::vector<int> members;
  for (int i = 0; i < 3; ++i) members.push_back(h.Connect());
  const int publisher = h.Connect();
  for (int m : members) h.Send(m, "SUB work workers 1\r\nPING\r\n");
  h.Settle();
  for (int m : members) ASSERT_EQ(h.Read(m), "PONG\r\n");
  std::string burst;
  for (int i = 0; i < 600; ++i) burst += Pub("work", std::to_string(i));
  h.Send(publisher, burst);
  h.Settle();
  std::map<std::string, int> seen;
  for (int m : members) {
    const std::vector<std::string> got = Payloads(ParseFrames(h.Read(m)));
    // Random picks: each of three members gets far more than none of 600.
    EXPECT_GT(got.size(), 100u);
    for (const std::string& p : got) seen[p]++;
  }
  ASSERT_EQ(seen.size(), 600u);
  for (const auto& [payload, count] : seen) EXPECT_EQ(count, 1) << payload;

  // One member leaves; the next 200 go to the other two, every one of them.
  h.Send(members[0], "UNSUB 1\r\n");
  h.Hangup(members[0]);
  h.Settle();
  burst.clear();
  for (int i = 0; i < 200; ++i) burst += Pub("work", "late" + std::to_string(i));
  h.Send(publisher, burst);
  h.Settle();
  std::size_t late = 0;
  for (int m : {members[1], members[2]}) late += ParseFrames(h.Read(m)).size();
  EXPECT_EQ(late, 200u);
}

}  // namespace
}  // namespace tern::testing
