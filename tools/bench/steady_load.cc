#include "tools/bench/steady_load.h"

#include <chrono>

#include "tools/bench/clock.h"

namespace tern::bench {

bool SteadyLoad::Start(const ServerAddress& server, uint64_t rate, int size, std::string* error) {
  publisher_ = std::make_unique<BenchConnection>();
  subscriber_ = std::make_unique<BenchConnection>();
  if (!subscriber_->Open(server, error) || !subscriber_->WriteAll("SUB bench.load 1\r\n") ||
      !subscriber_->Flush(5000) || !publisher_->Open(server, error)) {
    if (error->empty()) *error = "steady load: " + subscriber_->error();
    return false;
  }
  const std::string frame = "PUB bench.load " + std::to_string(size) + "\r\n" +
                            std::string(static_cast<std::size_t>(size), 'l') + "\r\n";
  started_ns_ = NowNs();
  publish_thread_ = std::thread([this, frame, rate] {
    uint64_t sent = 0;
    std::string batch;
    for (int64_t tick = started_ns_; !stop_.load(); tick += 1'000'000) {
      const int64_t now = NowNs();
      if (tick > now) std::this_thread::sleep_for(std::chrono::nanoseconds(tick - now));
      // Messages due by the end of this tick, from the start: no drift, no burst catch-up
      // beyond what fell behind.
      const auto due = static_cast<uint64_t>(static_cast<double>(tick + 1'000'000 - started_ns_) *
                                             static_cast<double>(rate) / 1e9);
      batch.clear();
      for (; sent < due; ++sent) batch += frame;
      if (!batch.empty() && !publisher_->WriteAll(batch)) {
        failed_ = true;
        return;
      }
    }
  });
  read_thread_ = std::thread([this] {
    while (!stop_.load()) {
      if (!subscriber_->ReadSome(50) && subscriber_->closed()) {
        failed_ = true;
        return;
      }
    }
  });
  return true;
}

void SteadyLoad::Stop() {
  if (!publish_thread_.joinable()) return;
  stop_ = true;
  publish_thread_.join();
  read_thread_.join();
  const double seconds = static_cast<double>(NowNs() - started_ns_) / 1e9;
  received_rate_ = seconds > 0 ? static_cast<double>(subscriber_->messages()) / seconds : 0;
}

}  // namespace tern::bench
