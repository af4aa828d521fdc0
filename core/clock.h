#pragma once
// The two clocks the broker reads: monotonic for intervals, wall for what users see. A
// shard reads the monotonic one through a Clock (ServerContext::clock) so that tests can
// step time by hand; code off the loop reads the functions directly.
#include <time.h>

#include <cstdint>

namespace tern::core {

inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t WallClockNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Where a shard's loop reads the time. Read once per loop turn and after each sleep, never
// per message. Shared by every shard: implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t MonotonicNs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t MonotonicNs() const override { return core::MonotonicNs(); }
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

}  // namespace tern::core
