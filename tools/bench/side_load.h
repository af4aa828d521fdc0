#pragma once
// Connections that shape the server's load without being measured: one holding many idle
// subscriptions (subjects nobody publishes to, so the interest table is large), and slow
// subscribers that read a little at a time (their deliveries are not counted; the run
// checks that the healthy subscribers still get everything). Each runs on its own thread
// until Stop().
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/connection.h"

namespace tern::bench {

class SideLoad {
 public:
  ~SideLoad() { Stop(); }
  // `interest` idle subscriptions on one connection; false with *error on failure.
  bool AddInterest(const ServerAddress& server, int interest, std::string* error);
  // `count` subscribers to `pattern` that read 16 KiB every 2 ms (about 8 MB/s each).
  bool AddSlowSubscribers(const ServerAddress& server, int count, const std::string& pattern,
                          std::string* error);
  void Stop();

 private:
  std::vector<std::unique_ptr<BenchConnection>> conns_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace tern::bench
