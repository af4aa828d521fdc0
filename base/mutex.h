#pragma once
// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with clang's lock
// annotations (abseil's macros), so that ABSL_GUARDED_BY data is checked at compile time
// (-Wthread-safety, the clang builds) while ThreadSanitizer still sees plain pthread
// locking (it cannot see inside a prebuilt absl::Mutex, and then reports false races).
// Locks are for the control plane only (posted tasks, reload, start-up, the JetStream
// registry, logging, monitoring gathers): never on the message path.
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace tern::base {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mutex_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : mutex_(mutex) {
    mutex_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mutex_;
};

// Waits on a Mutex the caller holds. The predicate is evaluated with it held.
class CondVar {
 public:
  template <typename Pred>
  void Wait(Mutex* mutex, Pred ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    std::unique_lock<std::mutex> lock(mutex->mutex_, std::adopt_lock);
    cv_.wait(lock, ready);
    lock.release();  // still held: the caller's MutexLock unlocks it
  }
  // False if `timeout` passed first.
  template <typename Rep, typename Period, typename Pred>
  bool WaitFor(Mutex* mutex, std::chrono::duration<Rep, Period> timeout, Pred ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    std::unique_lock<std::mutex> lock(mutex->mutex_, std::adopt_lock);
    const bool ok = cv_.wait_for(lock, timeout, ready);
    lock.release();
    return ok;
  }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace tern::base
