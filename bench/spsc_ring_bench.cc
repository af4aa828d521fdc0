// The cross-shard ring: one producer thread pushing pointers, one consumer thread popping
// them, as two shards do with batches.
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "io/spsc_ring.h"

namespace {

// Measures: items/s through a 1024-slot ring between two threads, pushed and popped in
// bulks of `bulk` (1 = item at a time; shards push a handful of batches per turn).
void BM_SpscRingTwoThreads(benchmark::State& state) {
  const std::size_t bulk = static_cast<std::size_t>(state.range(0));
  tern::io::SpscRing<void*> ring(1024);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> popped{0};
  std::thread consumer([&] {
    void* items[64];
    uint64_t count = 0;
    while (!done.load(std::memory_order_acquire) || !ring.Empty()) {
      count += ring.TryPopBulk(items, bulk);
    }
    popped.store(count, std::memory_order_release);
  });
  void* items[64];
  for (std::size_t i = 0; i < 64; ++i) items[i] = &items[i];
  uint64_t pushed = 0;
  for (auto _ : state) {
    std::size_t sent = 0;
    while (sent < bulk) sent += ring.TryPushBulk(items + sent, bulk - sent);
    pushed += bulk;
  }
  done.store(true, std::memory_order_release);
  consumer.join();
  if (popped.load() != pushed) state.SkipWithError("the consumer lost items");
  state.SetItemsProcessed(static_cast<int64_t>(pushed));
}
BENCHMARK(BM_SpscRingTwoThreads)->Arg(1)->Arg(16)->Arg(64)->UseRealTime();

}  // namespace
