// Interest: local subscriptions, other shards' interest, queue groups and the match cache.
#include "core/interest.h"

#include <gtest/gtest.h>

#include <memory>

namespace tern::core {
namespace {

std::unique_ptr<Subscription> Sub(const char* subject, const char* queue = "") {
  auto s = std::make_unique<Subscription>();
  s->subject = subject;
  s->queue = queue;
  return s;
}

TEST(Interest, PlainTransitionsAreAnnouncedOnce) {
  Interest interest(2);
  auto a = Sub("foo");
  auto b = Sub("foo");
  EXPECT_TRUE(interest.AddLocal(a.get()));   // 0 -> 1
  EXPECT_FALSE(interest.AddLocal(b.get()));  // 1 -> 2
  EXPECT_FALSE(interest.RemoveLocal(a.get()));
  EXPECT_TRUE(interest.RemoveLocal(b.get()));   // 1 -> 0
  EXPECT_FALSE(interest.RemoveLocal(b.get()));  // already gone
  EXPECT_EQ(interest.local_count(), 0u);
}

TEST(Interest, QueueChangesAreAlwaysAnnounced) {
  Interest interest(2);
  auto a = Sub("foo", "q");
  auto b = Sub("foo", "q");
  EXPECT_TRUE(interest.AddLocal(a.get()));
  EXPECT_TRUE(interest.AddLocal(b.get()));
  EXPECT_TRUE(interest.RemoveLocal(a.get()));
}

TEST(Interest, MatchCombinesLocalRemoteAndQueues) {
  Interest interest(3);
  auto plain = Sub("orders.*");
  auto q1 = Sub("orders.new", "workers");
  interest.AddLocal(plain.get());
  interest.AddLocal(q1.get());
  interest.ApplyRemote(1, +1, "orders.>", "");
  interest.ApplyRemote(2, +1, "orders.new", "workers");
  interest.ApplyRemote(2, +1, "orders.new", "workers");
  const MatchResult& m = interest.Match("orders.new");
  ASSERT_EQ(m.plain.size(), 1u);
  EXPECT_EQ(m.plain[0], plain.get());
  EXPECT_TRUE(m.remote_plain.Test(1));
  EXPECT_FALSE(m.remote_plain.Test(2));
  ASSERT_EQ(m.queues.size(), 1u);
  EXPECT_EQ(m.queues[0].name, "workers");
  EXPECT_EQ(m.queues[0].local.size(), 1u);
  EXPECT_EQ(m.queues[0].remote[2], 2u);
  EXPECT_EQ(m.queues[0].remote_total, 2u);
  EXPECT_TRUE(interest.Match("other").Empty());
}

TEST(Interest, CacheIsInvalidatedByWildcardInsertAndRemove) {
  Interest interest(1);
  auto literal = Sub("a.b");
  interest.AddLocal(literal.get());
  EXPECT_EQ(interest.Match("a.b").plain.size(), 1u);
  EXPECT_EQ(interest.Match("a.b").plain.size(), 1u);  // served from the cache
  EXPECT_GE(interest.cache().hits(), 1u);

  auto wildcard = Sub("a.*");
  interest.AddLocal(wildcard.get());
  EXPECT_EQ(interest.Match("a.b").plain.size(), 2u);  // the cached entry was invalidated
  interest.RemoveLocal(wildcard.get());
  EXPECT_EQ(interest.Match("a.b").plain.size(), 1u);
  auto tail = Sub(">");
  interest.AddLocal(tail.get());
  EXPECT_EQ(interest.Match("a.b").plain.size(), 2u);
  interest.RemoveLocal(tail.get());
  interest.RemoveLocal(literal.get());
  EXPECT_TRUE(interest.Match("a.b").Empty());
}

TEST(Interest, RemoteInterestComesAndGoes) {
  Interest interest(2);
  EXPECT_FALSE(interest.Match("x.y").remote_plain.Any());
  interest.ApplyRemote(1, +1, "x.*", "");
  EXPECT_TRUE(interest.Match("x.y").remote_plain.Test(1));
  interest.ApplyRemote(1, -1, "x.*", "");
  EXPECT_FALSE(interest.Match("x.y").remote_plain.Any());
}

TEST(MatchCache, BoundedWithClockEviction) {
  MatchCache cache(4);
  for (int i = 0; i < 10; ++i) {
    const std::string key = "s" + std::to_string(i);
    cache.Assign(key)->remote_plain.Set(i % 3);
    EXPECT_LE(cache.size(), 4u);
  }
  EXPECT_NE(cache.Find("s9"), nullptr);
  EXPECT_EQ(cache.Find("s0"), nullptr);  // evicted
  cache.InvalidateAll();
  EXPECT_EQ(cache.Find("s9"), nullptr);
}

// A slot that a large fan-out's subject held keeps no large buffer once another subject
// takes it over (the cache's memory is bounded by slots, not slots x the largest fan-out);
// the same subject refilled keeps its buffer.
TEST(MatchCache, ReusedSlotDropsALargeFanOutsBuffer) {
  MatchCache cache(1);
  std::vector<Subscription> subs(100);
  MatchResult* wide = cache.Assign("wide");
  for (Subscription& sub : subs) wide->plain.push_back(&sub);
  EXPECT_GE(cache.Assign("wide")->plain.capacity(), 100u);  // same subject: kept
  MatchResult* next = cache.Assign("narrow");               // evicts "wide"
  EXPECT_LE(next->plain.capacity(), 16u);
  EXPECT_TRUE(next->plain.empty());
}

}  // namespace
// JetStream ack subjects are each used once: they are matched without taking a cache slot,
// so a cache smaller than the acks in flight keeps the subjects that do come again.
TEST(Interest, AckSubjectsNeitherTakeNorEvictCacheSlots) {
  Interest interest(1, /*cache_capacity=*/4);
  auto acks = Sub("$JS.ACK.>");
  auto orders = Sub("orders");
  interest.AddLocal(acks.get());
  interest.AddLocal(orders.get());
  EXPECT_EQ(interest.Match("orders").plain.size(), 1u);  // a miss: now cached
  for (int i = 1; i <= 100; ++i) {
    const std::string ack = "$JS.ACK.S.C.1." + std::to_string(i) + ".1.0.0";
    const MatchResult& match = interest.Match(ack);
    ASSERT_EQ(match.plain.size(), 1u);
    EXPECT_EQ(match.plain[0], acks.get());
  }
  const uint64_t hits = interest.cache().hits();
  EXPECT_EQ(interest.Match("orders").plain.size(), 1u);
  EXPECT_EQ(interest.cache().hits(), hits + 1);  // still cached
  EXPECT_EQ(interest.cache().misses(), 1u);      // only the first look at "orders"
}

}  // namespace tern::core
