#pragma once
// CongestionWatch: whether a connection that has too much output queued may keep holding
// its publishers back (ShardPort::AddCongested). It may while it is still above half the
// threshold, drains at a useful rate (judged after 20 ms) and has not used up the stall
// budget; a slower one is left to reach its limit instead of pacing everybody at its speed.
// Pure state; owned by its connection, on the connection's shard.
#include <cstdint>

#include "core/shard_port.h"

namespace tern::core {

class CongestionWatch {
 public:
  static constexpr int64_t kMinDrainBytesPerSec = int64_t{16} << 20;
  static constexpr int64_t kDrainWindowNs = 20'000'000;

  // `pending` bytes queued, above `threshold`: true if a congestion episode starts now
  // (the caller registers the connection with its shard).
  bool Begin(int64_t now_ns, uint64_t consumed_total) {
    if (since_ns_ != 0) return false;
    since_ns_ = now_ns;
    consumed_at_start_ = consumed_total;
    return true;
  }
  // Should the publishers still be held back? Ends the episode below half the threshold.
  bool Still(int64_t now_ns, uint64_t pending, int64_t threshold, uint64_t consumed_total) {
    if (since_ns_ == 0) return false;
    if (static_cast<int64_t>(pending) < threshold / 2) {
      since_ns_ = 0;
      return false;
    }
    const int64_t elapsed = now_ns - since_ns_;
    if (elapsed >= kDrainWindowNs) {
      const uint64_t drained = consumed_total - consumed_at_start_;
      if (static_cast<int64_t>(drained) * 1'000'000'000 < kMinDrainBytesPerSec * elapsed) {
        return false;
      }
    }
    return elapsed < ShardPort::kStallBudgetNs;
  }

 private:
  int64_t since_ns_ = 0;  // 0 = not congested
  uint64_t consumed_at_start_ = 0;
};

}  // namespace tern::core
