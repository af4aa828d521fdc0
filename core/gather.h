#pragma once
// Gather: runs a fill function once per shard, on each shard's own thread, and collects
// the results for the (HTTP) thread that asked, waiting at most `timeout`. Safe against a
// shard that answers late: a task that starts after the caller gave up does not run fill
// (which may refer to the caller's stack frame, gone by then), and the caller does not
// return while a task that did start is still running it. Ownership: the calling thread;
// the shared state lives until the last task has run.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace tern::core {

// post(i, task) must run `task` on shard i's thread (or never, if that shard is gone).
template <typename T, typename PostFn>
bool Gather(std::size_t count, PostFn&& post, const std::function<void(std::size_t, T*)>& fill,
            std::chrono::milliseconds timeout, std::vector<T>* out) {
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<T> results;
    std::size_t answered = 0;
    std::size_t running = 0;
    bool abandoned = false;
  };
  auto state = std::make_shared<State>();
  state->results.resize(count);
  const auto* fill_ptr = &fill;  // dereferenced only while the caller is known to wait
  for (std::size_t i = 0; i < count; ++i) {
    post(i, [state, fill_ptr, i] {
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        if (state->abandoned) return;
        ++state->running;
      }
      T value{};
      (*fill_ptr)(i, &value);
      std::lock_guard<std::mutex> lock(state->mutex);
      state->results[i] = std::move(value);
      --state->running;
      ++state->answered;
      state->changed.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(state->mutex);
  if (!state->changed.wait_for(lock, timeout, [&] { return state->answered == count; })) {
    state->abandoned = true;
    // A task that started before now still uses fill: its shard is answering, just late.
    state->changed.wait(lock, [&] { return state->running == 0; });
    return false;
  }
  *out = std::move(state->results);
  return true;
}

}  // namespace tern::core
