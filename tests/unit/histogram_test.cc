// tern-bench's latency histogram: percentiles within the bucket error, merging.
#include "tools/bench/histogram.h"

#include <gtest/gtest.h>

namespace tern::bench {
namespace {

TEST(LatencyHistogram, PercentilesWithinBucketError) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms, uniform
  EXPECT_EQ(h.count(), 100000u);
  auto near = [](uint64_t got, double want) {
    return std::abs(static_cast<double>(got) - want) / want < 0.02;
  };
  EXPECT_TRUE(near(h.Percentile(0.5), 50e6)) << h.Percentile(0.5);
  EXPECT_TRUE(near(h.Percentile(0.99), 99e6)) << h.Percentile(0.99);
  EXPECT_TRUE(near(h.Percentile(0.999), 99.9e6)) << h.Percentile(0.999);
  EXPECT_EQ(h.max(), 100000u * 1000);
  EXPECT_EQ(h.min(), 1000u);
}

TEST(LatencyHistogram, SmallValuesAreExactAndMergeAddsUp) {
  LatencyHistogram a, b;
  for (int i = 0; i < 10; ++i) a.Record(7);
  for (int i = 0; i < 30; ++i) b.Record(40);
  a.Merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_EQ(a.Percentile(0.2), 7u);
  EXPECT_EQ(a.Percentile(0.9), 40u);
  EXPECT_EQ(a.min(), 7u);
  EXPECT_EQ(a.max(), 40u);
}

}  // namespace
}  // namespace tern::bench
