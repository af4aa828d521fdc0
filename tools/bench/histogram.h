#pragma once
// LatencyHistogram: log-linear buckets (64 per power of two, < 1.6 % relative error) over
// nanoseconds, in the spirit of HdrHistogram. One per requester thread; merged at the end.
#include <array>
#include <cstdint>

namespace tern::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 64;
  static constexpr int kExponents = 48;

  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
    if (total_ == 1 || ns < min_) min_ = ns;
  }
  void Merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
    if (other.total_ > 0 && (total_ == other.total_ || other.min_ < min_)) min_ = other.min_;
  }
  // The value below which `quantile` (0..1) of the samples fall.
  uint64_t Percentile(double quantile) const {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(quantile * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return UpperBound(i);
    }
    return max_;
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return min_; }

 private:
  static std::size_t Index(uint64_t v) {
    if (v < kSubBuckets) return static_cast<std::size_t>(v);
    const int exponent = 63 - __builtin_clzll(v) - 5;  // v >> exponent is in [32, 64)
    const uint64_t sub = v >> exponent;
    return static_cast<std::size_t>(exponent * 32 + sub);
  }
  static uint64_t UpperBound(std::size_t index) {
    if (index < kSubBuckets) return index;
    const std::size_t exponent = index / 32 - 1;
    const uint64_t sub = index % 32 + 32;
    return ((sub + 1) << exponent) - 1;
  }
  std::array<uint64_t, kSubBuckets * kExponents> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = 0;
};

}  // namespace tern::bench
