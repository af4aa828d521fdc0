#pragma once
// The load generator's clock: a monotonic time in nanoseconds, for rates and latencies.
// Stateless; any thread.
#include <chrono>
#include <cstdint>

namespace tern::bench {

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace tern::bench
