// Gather: results from every shard's thread, and a late shard that never touches the
// asking thread's stack frame after it gave up.
#include "core/gather.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace tern::core {
namespace {

using namespace std::chrono_literals;

// A stand-in for the shards: each posted task runs on its own thread after a delay.
struct FakeShards {
  explicit FakeShards(std::vector<std::chrono::milliseconds> d) : delays(std::move(d)) {}
  std::vector<std::chrono::milliseconds> delays;
  std::vector<std::thread> threads;
  void Post(std::size_t i, std::function<void()> task) {
    threads.emplace_back([delay = delays[i], task = std::move(task)] {
      std::this_thread::sleep_for(delay);
      task();
    });
  }
  ~FakeShards() {
    for (auto& t : threads) t.join();
  }
};

TEST(Gather, CollectsOneResultPerShardInOrder) {
  FakeShards shards({0ms, 5ms, 1ms});
  std::vector<int> out;
  const std::function<void(std::size_t, int*)> fill = [](std::size_t i, int* v) {
    *v = static_cast<int>(i) * 10;
  };
  ASSERT_TRUE(Gather<int>(
      3, [&](std::size_t i, std::function<void()> task) { shards.Post(i, std::move(task)); }, fill,
      2000ms, &out));
  EXPECT_EQ(out, (std::vector<int>{0, 10, 20}));
}

// The caller's fill refers to its own locals. A shard that answers after the timeout must
// not run it: by then those locals are gone.
TEST(Gather, ALateShardDoesNotRunFillAfterTheCallerGaveUp) {
  std::atomic<int> fills_after_return{0};
  std::atomic<bool> returned{false};
  FakeShards shards({0ms, 300ms});
  {
    int caller_local = 7;  // what a by-reference capture would read
    std::vector<int> out;
    const std::function<void(std::size_t, int*)> fill = [&](std::size_t, int* v) {
      if (returned.load()) ++fills_after_return;
      *v = caller_local;
    };
    EXPECT_FALSE(Gather<int>(
        2, [&](std::size_t i, std::function<void()> task) { shards.Post(i, std::move(task)); },
        fill, 50ms, &out));
    returned = true;
  }
  for (auto& t : shards.threads) t.join();
  shards.threads.clear();
  EXPECT_EQ(fills_after_return.load(), 0);
}

}  // namespace
}  // namespace tern::core
