#pragma once
// Gather: runs a fill function once per shard, on each shard's own thread, and collects
// the results for the (HTTP) thread that asked, waiting at most `timeout`. Safe against a
// shard that answers late: a task that starts after the caller gave up does not run fill
// (which may refer to the caller's stack frame, gone by then), and the caller does not
// return while a task that did start is still running it. Ownership: the calling thread;
// the shared state lives until the last task has run.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/mutex.h"

namespace tern::core {

// post(i, task) must run `task` on shard i's thread (or never, if that shard is gone).
template <typename T, typename PostFn>
bool Gather(std::size_t count, PostFn&& post, const std::function<void(std::size_t, T*)>& fill,
            std::chrono::milliseconds timeout, std::vector<T>* out) {
  struct State {
    base::Mutex mutex;
    base::CondVar changed;
    std::vector<T> results ABSL_GUARDED_BY(mutex);
    std::size_t answered ABSL_GUARDED_BY(mutex) = 0;
    std::size_t running ABSL_GUARDED_BY(mutex) = 0;
    bool abandoned ABSL_GUARDED_BY(mutex) = false;
  };
  auto state = std::make_shared<State>();
  {
    base::MutexLock lock(&state->mutex);
    state->results.resize(count);
  }
  const auto* fill_ptr = &fill;  // dereferenced only while the caller is known to wait
  for (std::size_t i = 0; i < count; ++i) {
    post(i, [state, fill_ptr, i] {
      {
        base::MutexLock lock(&state->mutex);
        if (state->abandoned) return;
        ++state->running;
      }
      T value{};
      (*fill_ptr)(i, &value);
      base::MutexLock lock(&state->mutex);
      state->results[i] = std::move(value);
      --state->running;
      ++state->answered;
      state->changed.SignalAll();
    });
  }
  State& s = *state;
  base::MutexLock lock(&s.mutex);
  const auto all_answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mutex) {
    return s.answered == count;
  };
  const auto none_running = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mutex) { return s.running == 0; };
  if (!s.changed.WaitFor(&s.mutex, timeout, all_answered)) {
    s.abandoned = true;
    // A task that started before now still uses fill: its shard is answering, just late.
    s.changed.Wait(&s.mutex, none_running);
    return false;
  }
  *out = std::move(s.results);
  return true;
}

}  // namespace tern::core
