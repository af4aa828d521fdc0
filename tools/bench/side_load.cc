#include "tools/bench/side_load.h"

#include <chrono>

namespace tern::bench {

bool SideLoad::AddInterest(const ServerAddress& server, int interest, std::string* error) {
  auto conn = std::make_unique<BenchConnection>();
  if (!conn->Open(server, error)) return false;
  std::string batch;
  for (int i = 0; i < interest; ++i) {
    batch += "SUB bench.idle." + std::to_string(i) + " " + std::to_string(i + 1) + "\r\n";
    if (batch.size() > 64 * 1024 || i + 1 == interest) {
      if (!conn->WriteAll(batch)) {
        *error = "idle subscriptions: " + conn->error();
        return false;
      }
      batch.clear();
    }
  }
  if (!conn->Flush(30000)) {  // every subscription is in place before the run
    *error = "idle subscriptions: " + conn->error();
    return false;
  }
  BenchConnection* c = conn.get();
  threads_.emplace_back([this, c] {
    while (!stop_.load()) c->ReadSome(100);  // answers the server's PINGs
  });
  conns_.push_back(std::move(conn));
  return true;
}

bool SideLoad::AddSlowSubscribers(const ServerAddress& server, int count,
                                  const std::string& pattern, std::string* error) {
  for (int i = 0; i < count; ++i) {
    auto conn = std::make_unique<BenchConnection>();
    if (!conn->Open(server, error) || !conn->WriteAll("SUB " + pattern + " 1\r\n") ||
        !conn->Flush(5000)) {
      if (error->empty()) *error = "slow subscriber: " + conn->error();
      return false;
    }
    conn->set_read_limit(16 * 1024);
    BenchConnection* c = conn.get();
    threads_.emplace_back([this, c] {
      while (!stop_.load()) {
        if (!c->ReadSome(100) && c->closed()) return;  // cut off as a slow consumer
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    conns_.push_back(std::move(conn));
  }
  return true;
}

void SideLoad::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  conns_.clear();
}

}  // namespace tern::bench
