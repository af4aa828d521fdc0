#pragma once
// IdleTrimmedPool: a free list of same-sized buffers that gives back what sat unused. The
// shard's output chunks and cross-shard batches are pooled so the hot path does not call
// the allocator; a burst (a slow reader's backlog, a fan-out spike) fills the pool, and
// without trimming that high-water mark would stay resident for good. Trim(), called about
// once a second, frees the entries that stayed in the pool for the whole period (its
// low-water mark since the last Trim), keeping `reserve`. Owned by one shard; no locks.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace tern::core {

template <typename T, void (*Release)(T)>
class IdleTrimmedPool {
 public:
  IdleTrimmedPool(std::size_t max_pooled, std::size_t reserve)
      : max_pooled_(max_pooled), reserve_(reserve) {}
  ~IdleTrimmedPool() {
    for (T item : items_) Release(item);
  }
  IdleTrimmedPool(const IdleTrimmedPool&) = delete;
  IdleTrimmedPool& operator=(const IdleTrimmedPool&) = delete;

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }

  // The most recently returned entry (warm in cache). The pool must not be empty.
  T Take() {
    T item = items_.back();
    items_.pop_back();
    low_water_ = std::min(low_water_, items_.size());
    return item;
  }
  // False when the pool is full: the caller releases the entry itself.
  bool Give(T item) {
    if (items_.size() >= max_pooled_) return false;
    items_.push_back(item);
    return true;
  }
  // Releases what nobody took since the last call (the oldest entries), down to the reserve.
  void Trim() {
    const std::size_t idle = low_water_ > reserve_ ? low_water_ - reserve_ : 0;
    for (std::size_t i = 0; i < idle; ++i) Release(items_[i]);
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(idle));
    low_water_ = items_.size();
  }

 private:
  std::vector<T> items_;
  std::size_t max_pooled_;
  std::size_t reserve_;
  std::size_t low_water_ = 0;
};

}  // namespace tern::core
