// The outbound queue: appends across chunks, partial sends, holds, pooled chunks.
#include "core/outbound.h"

#include "core/msg_encode.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern::core {
namespace {

std::string Gather(const OutboundQueue& q, uint64_t limit = UINT64_MAX) {
  iovec iov[64];
  const int n = q.FillIovecs(iov, 64, limit);
  std::string out;
  for (int i = 0; i < n; ++i) out.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

TEST(OutboundQueue, AppendConsumeAcrossChunks) {
  ChunkPool pool;
  OutboundQueue q(&pool);
  std::string big(ChunkPool::kChunkSize * 2 + 100, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  q.Append("MSG a 1 ");
  q.Append(big);
  EXPECT_EQ(q.pending_bytes(), big.size() + 8);
  EXPECT_EQ(Gather(q), "MSG a 1 " + big);
  q.Consume(10);  // a short write
  EXPECT_EQ(Gather(q), ("MSG a 1 " + big).substr(10));
  q.Consume(q.pending_bytes());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.consumed_total(), big.size() + 8);
  q.Append("PONG\r\n");
  EXPECT_EQ(Gather(q), "PONG\r\n");
}

TEST(OutboundQueue, LimitHoldsOutputBack) {
  ChunkPool pool;
  OutboundQueue q(&pool);
  q.Append("MSG one\r\n");
  const uint64_t hold = q.appended_total();
  q.Append("PONG\r\n");
  EXPECT_EQ(Gather(q, hold - q.consumed_total()), "MSG one\r\n");
  EXPECT_EQ(Gather(q, 0), "");
}

// Frames written in place: every shape byte for byte, a frame that does not fit the tail
// chunk starts a new one whole, and one larger than a chunk still arrives complete.
TEST(OutboundQueue, MsgFramesWrittenInPlace) {
  ChunkPool pool;
  OutboundQueue q(&pool);
  std::string line;
  std::string expected;
  AppendMsgFrame(&q, &line, "a.b", "7", {}, 0, "hello");
  expected += "MSG a.b 7 5\r\nhello\r\n";
  AppendMsgFrame(&q, &line, "a.b", "7", "_INBOX.x", 0, std::string_view());  // data() null
  expected += "MSG a.b 7 _INBOX.x 0\r\n\r\n";
  const std::string hdr = "NATS/1.0\r\nK: v\r\n\r\n";
  AppendMsgFrame(&q, &line, "a.b", "12", "r", hdr.size(), hdr + "data");
  expected += "HMSG a.b 12 r " + std::to_string(hdr.size()) + " " + std::to_string(hdr.size() + 4) +
              "\r\n" + hdr + "data\r\n";
  EXPECT_EQ(Gather(q), expected);
  // Fill the chunk to within a few bytes, then a frame that cannot fit there.
  const std::string filler(ChunkPool::kChunkSize - expected.size() - 30, 'f');
  AppendMsgFrame(&q, &line, "s", "1", {}, 0, filler);
  expected += "MSG s 1 " + std::to_string(filler.size()) + "\r\n" + filler + "\r\n";
  AppendMsgFrame(&q, &line, "next.subject", "1", {}, 0, std::string(40, 'n'));
  expected += "MSG next.subject 1 40\r\n" + std::string(40, 'n') + "\r\n";
  const std::string big(ChunkPool::kChunkSize + 10, 'b');
  AppendMsgFrame(&q, &line, "big", "2", {}, 0, big);
  expected += "MSG big 2 " + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  EXPECT_EQ(q.pending_bytes(), expected.size());
  EXPECT_EQ(Gather(q), expected);
  q.Consume(q.pending_bytes());
  EXPECT_TRUE(q.empty());
}

TEST(ChunkPool, ReusesChunks) {
  ChunkPool pool(2);
  char* a = pool.Get();
  pool.Put(a);
  EXPECT_EQ(pool.Get(), a);
  pool.Put(a);
}

// A burst's chunks stay pooled while they are used, and go back to the allocator once a
// trim period passes without them being taken, down to the reserve.
TEST(ChunkPool, GivesBackWhatABurstLeftIdle) {
  ChunkPool pool(/*max_pooled=*/100, /*reserve=*/4);
  std::vector<char*> burst;
  for (int i = 0; i < 40; ++i) burst.push_back(pool.Get());
  for (char* chunk : burst) pool.Put(chunk);
  EXPECT_EQ(pool.pooled(), 40u);
  pool.TrimIdle();  // the burst took them all during this period: nothing was idle
  EXPECT_EQ(pool.pooled(), 40u);
  // Steady use of 6 chunks at a time during the next period.
  for (int round = 0; round < 10; ++round) {
    char* held[6];
    for (char*& chunk : held) chunk = pool.Get();
    for (char* chunk : held) pool.Put(chunk);
  }
  pool.TrimIdle();  // 34 were never taken: they go, but for a reserve of 4
  EXPECT_EQ(pool.pooled(), 6u + 4u);
  pool.TrimIdle();  // an idle period: down to the reserve
  EXPECT_EQ(pool.pooled(), 4u);
  pool.TrimIdle();
  EXPECT_EQ(pool.pooled(), 4u);
}

TEST(ChunkPool, ReleasesWhatDoesNotFit) {
  ChunkPool pool(/*max_pooled=*/2, /*reserve=*/0);
  char* a = pool.Get();
  char* b = pool.Get();
  char* c = pool.Get();
  pool.Put(a);
  pool.Put(b);
  pool.Put(c);  // over the cap: freed (ASan would report a leak otherwise)
  EXPECT_EQ(pool.pooled(), 2u);
}

}  // namespace
}  // namespace tern::core
