// The SPSC ring: FIFO order, capacity, and a producer and consumer on two threads.
#include "io/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

namespace tern::io {
namespace {

TEST(SpscRing, FifoAndCapacity) {
  SpscRing<int> ring(5);  // rounds up to 8
  EXPECT_EQ(ring.capacity(), 8u);
  EXPECT_TRUE(ring.Empty());
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(ring.TryPush(i));
  EXPECT_FALSE(ring.TryPush(99));
  int out[8];
  EXPECT_EQ(ring.TryPopBulk(out, 3), 3u);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[2], 2);
  const int more[4] = {8, 9, 10, 11};
  EXPECT_EQ(ring.TryPushBulk(more, 4), 3u);  // only three slots free
  int value;
  for (int expected = 3; expected <= 10; ++expected) {
    ASSERT_TRUE(ring.TryPop(&value));
    EXPECT_EQ(value, expected);
  }
  EXPECT_FALSE(ring.TryPop(&value));
}

TEST(SpscRing, TwoThreadsKeepOrderAndLoseNothing) {
  constexpr uint64_t kCount = 2'000'000;
  SpscRing<uint64_t> ring(1024);
  std::thread producer([&] {
    uint64_t batch[16];
    uint64_t next = 0;
    while (next < kCount) {
      std::size_t n = 0;
      while (n < 16 && next + n < kCount) {
        batch[n] = next + n;
        ++n;
      }
      next += ring.TryPushBulk(batch, n);
    }
  });
  // No assertion while the producer runs: a failed ASSERT would return past the join and
  // terminate the process instead of reporting. Keep draining, remember the first mismatch.
  uint64_t expected = 0;
  uint64_t sum = 0;
  uint64_t first_out_of_order = UINT64_MAX;
  uint64_t out[64];
  while (expected < kCount) {
    const std::size_t n = ring.TryPopBulk(out, 64);
    for (std::size_t i = 0; i < n; ++i) {
      if (out[i] != expected && first_out_of_order == UINT64_MAX) first_out_of_order = expected;
      sum += out[i];
      ++expected;
    }
  }
  producer.join();
  EXPECT_EQ(first_out_of_order, UINT64_MAX) << "item " << first_out_of_order << " out of order";
  EXPECT_EQ(sum, kCount * (kCount - 1) / 2);
  EXPECT_TRUE(ring.Empty());
}

}  // namespace
}  // namespace tern::io
