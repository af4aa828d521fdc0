#pragma once
// SpscRing: a bounded lock-free queue with exactly one producer thread and one
// consumer thread. Ownership: the producer shard owns the tail side, the consumer
// shard owns the head side; the ring itself is owned by whoever created the mesh and
// must outlive both threads' use of it.
#include <atomic>
#include <cstddef>
#include <memory>
#include <new>

#include "base/check.h"

namespace tern::io {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
class SpscRing {
 public:
  // capacity is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity) {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::make_unique<T[]>(cap);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  // Producer side. Returns false when full.
  bool TryPush(const T& item) { return TryPushBulk(&item, 1) == 1; }

  // Producer side. Pushes up to n items, returns how many went in.
  std::size_t TryPushBulk(const T* items, std::size_t n) {
    const std::size_t tail = producer_.tail.load(std::memory_order_relaxed);
    std::size_t free_slots = capacity() - (tail - producer_.cached_head);
    if (free_slots < n) {
      // Only re-read the consumer's index (a cross-core cache miss) when the cached copy
      // says we might be full.
      producer_.cached_head = consumer_.head.load(std::memory_order_acquire);
      free_slots = capacity() - (tail - producer_.cached_head);
    }
    TERN_DCHECK(free_slots <= capacity());  // the consumer never passes the producer
    const std::size_t count = n < free_slots ? n : free_slots;
    for (std::size_t i = 0; i < count; ++i) slots_[(tail + i) & mask_] = items[i];
    // seq_cst (not just release): this store is the producer's half of the sleep
    // handshake (see EmptyBeforeSleep). It costs one full barrier per push of a batch.
    producer_.tail.store(tail + count, std::memory_order_seq_cst);
    return count;
  }

  // Consumer side. Returns false when empty.
  bool TryPop(T* out) { return TryPopBulk(out, 1) == 1; }

  // Consumer side. Pops up to n items into out, returns how many.
  std::size_t TryPopBulk(T* out, std::size_t n) {
    const std::size_t head = consumer_.head.load(std::memory_order_relaxed);
    std::size_t available = consumer_.cached_tail - head;
    if (available < n) {
      consumer_.cached_tail = producer_.tail.load(std::memory_order_acquire);
      available = consumer_.cached_tail - head;
    }
    TERN_DCHECK(available <= capacity());  // the producer never laps the consumer
    const std::size_t count = n < available ? n : available;
    for (std::size_t i = 0; i < count; ++i) out[i] = slots_[(head + i) & mask_];
    consumer_.head.store(head + count, std::memory_order_release);
    return count;
  }

  // Consumer, after announcing it will sleep (a seq_cst store): with the producer's
  // seq_cst tail store and seq_cst read of that announcement, one of the two sides is
  // guaranteed to see the other, so no wake-up is lost.
  bool EmptyBeforeSleep() const {
    return producer_.tail.load(std::memory_order_seq_cst) ==
           consumer_.head.load(std::memory_order_relaxed);
  }

  // Any thread: how many items are queued (a snapshot, for monitoring).
  std::size_t ApproxSize() const {
    const std::size_t head = consumer_.head.load(std::memory_order_acquire);
    const std::size_t tail = producer_.tail.load(std::memory_order_acquire);
    return tail >= head ? tail - head : 0;
  }

  // Either side: a snapshot, exact only for the consumer.
  bool Empty() const {
    return producer_.tail.load(std::memory_order_acquire) ==
           consumer_.head.load(std::memory_order_acquire);
  }

 private:
  // Each side's index and its cached copy of the peer's index share one cache line
  // that only that side writes.
  struct alignas(kCacheLine) Producer {
    std::atomic<std::size_t> tail{0};
    std::size_t cached_head = 0;
  };
  struct alignas(kCacheLine) Consumer {
    std::atomic<std::size_t> head{0};
    std::size_t cached_tail = 0;
  };
  Producer producer_;
  Consumer consumer_;
  std::size_t mask_;
  std::unique_ptr<T[]> slots_;
};

}  // namespace tern::io
