#pragma once
// A push consumer's `rate_limit_bps`: a token bucket in bytes, as nats-server's (Go's
// rate.Limiter): it fills at bps/8 bytes a second up to a burst of one maximum message
// (the stream's max_msg_size, else the server's max_payload), starts full, and a delivery
// takes its size, waiting until the bucket holds it. A value type; its consumer's shard.
#include <algorithm>
#include <cstdint>

namespace tern::core::js {

class RateLimit {
 public:
  RateLimit() = default;
  // bps 0: no limit.
  RateLimit(uint64_t bits_per_second, uint64_t burst_bytes, int64_t now_ns)
      : bytes_per_ns_(static_cast<double>(bits_per_second) / 8e9),
        burst_(static_cast<double>(std::max<uint64_t>(burst_bytes, 1))),
        tokens_(burst_),
        at_ns_(now_ns) {}

  bool limited() const { return bytes_per_ns_ > 0; }

  // Takes `bytes` and returns 0 if they are there now; else takes nothing and returns when
  // they will be (monotonic ns). A delivery larger than the burst waits for a full bucket.
  int64_t Take(uint64_t bytes, int64_t now_ns) {
    if (!limited()) return 0;
    Refill(now_ns);
    const double want = std::min(static_cast<double>(bytes), burst_);
    if (tokens_ >= want) {
      tokens_ -= want;
      return 0;
    }
    return now_ns + static_cast<int64_t>((want - tokens_) / bytes_per_ns_) + 1;
  }

 private:
  void Refill(int64_t now_ns) {
    if (now_ns > at_ns_) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - at_ns_) * bytes_per_ns_);
      at_ns_ = now_ns;
    }
  }

  double bytes_per_ns_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  int64_t at_ns_ = 0;
};

}  // namespace tern::core::js
