#pragma once
// TimerHeap<T, Slot>: the objects of one loop ordered by their next deadline. Intrusive:
// each object holds its own TimerSlot (deadline and heap position), so arming, moving and
// cancelling a timer is O(log n) with no allocation, and the loop sleeps exactly until the
// earliest deadline instead of sweeping every object on a tick. Ownership: one loop thread.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tern::io {

struct TimerSlot {
  static constexpr std::size_t kNotQueued = SIZE_MAX;
  int64_t at = 0;  // the deadline while queued
  std::size_t index = kNotQueued;
  bool queued() const { return index != kNotQueued; }
};

template <typename T, TimerSlot T::*Slot>
class TimerHeap {
 public:
  // Arms the item's timer for `at`, or moves it there if armed already.
  void Schedule(T* item, int64_t at) {
    TimerSlot& slot = item->*Slot;
    if (!slot.queued()) {
      slot.index = heap_.size();
      heap_.push_back(item);
    }
    slot.at = at;
    SiftUp(slot.index);
    SiftDown(slot.index);
  }

  void Cancel(T* item) {
    TimerSlot& slot = item->*Slot;
    if (!slot.queued()) return;
    const std::size_t i = slot.index;
    slot.index = TimerSlot::kNotQueued;
    T* last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    Place(i, last);
    SiftUp(i);
    SiftDown((last->*Slot).index);
  }

  // The earliest deadline, or 0 when nothing is armed.
  int64_t NextDeadline() const { return heap_.empty() ? 0 : (heap_[0]->*Slot).at; }

  // Removes and returns an item whose deadline is at or before `now`; null if none.
  T* PopDue(int64_t now) {
    if (heap_.empty() || (heap_[0]->*Slot).at > now) return nullptr;
    T* item = heap_[0];
    Cancel(item);
    return item;
  }

  std::size_t size() const { return heap_.size(); }

 private:
  void Place(std::size_t i, T* item) {
    heap_[i] = item;
    (item->*Slot).index = i;
  }
  static int64_t At(const T* item) { return (item->*Slot).at; }

  void SiftUp(std::size_t i) {
    T* item = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (At(heap_[parent]) <= At(item)) break;
      Place(i, heap_[parent]);
      i = parent;
    }
    Place(i, item);
  }

  void SiftDown(std::size_t i) {
    T* item = heap_[i];
    const std::size_t n = heap_.size();
    while (true) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && At(heap_[child + 1]) < At(heap_[child])) ++child;
      if (At(heap_[child]) >= At(item)) break;
      Place(i, heap_[child]);
      i = child;
    }
    Place(i, item);
  }

  std::vector<T*> heap_;
};

}  // namespace tern::io
