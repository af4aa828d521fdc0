#pragma once
// A steady background load beside a measured row (latency under load): one publisher
// connection sends `rate` messages a second on `bench.load`, paced in 1 ms ticks (each
// tick's messages in one write), and one subscriber connection reads them. Runs on two
// threads of its own from Start() until Stop(); what was sent and received is reported so
// the row can say which load it really ran under.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "tools/bench/connection.h"

namespace tern::bench {

class SteadyLoad {
 public:
  ~SteadyLoad() { Stop(); }
  // Connects both sides and subscribes; false with *error on failure.
  bool Start(const ServerAddress& server, uint64_t rate, int size, std::string* error);
  void Stop();
  // Messages per second received over the time it ran (valid after Stop()).
  double received_rate() const { return received_rate_; }
  bool failed() const { return failed_.load(); }

 private:
  std::unique_ptr<BenchConnection> publisher_, subscriber_;
  std::thread publish_thread_, read_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  int64_t started_ns_ = 0;
  double received_rate_ = 0;
};

}  // namespace tern::bench
