// The outbound queue: appends across chunks, partial sends, holds, pooled chunks.
#include "core/outbound.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(ChunkPool, ReusesChunks) {
  ChunkPool pool(2);
  char* a = pool.Get();
  pool.Put(a);
  EXPECT_EQ(pool.Get(), a);
  pool.Put(a);
}

}  // namespace
}  // namespace tern::core
