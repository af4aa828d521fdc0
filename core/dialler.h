#pragma once
// Dialler: a thread that makes blocking TCP connects for a loop service (the routes and
// leafnode remotes a node dials) so that the shard never blocks. Each request's outcome is
// handed to `done` on the dialler thread; the service posts it to its shard. Ownership:
// the service that holds it; Dial() from the shard's thread, `done` on the dialler's.
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "base/mutex.h"

namespace tern::core {

class Dialler {
 public:
  struct Result {
    uint64_t tag;  // the caller's: which dial this was
    int fd;        // the connected socket, or -1
    std::string error;
  };
  explicit Dialler(std::function<void(const Result&)> done);
  ~Dialler();  // waits for a connect in progress (at most its timeout)

  void Dial(uint64_t tag, std::string host, int port);

 private:
  struct Request {
    uint64_t tag;
    std::string host;
    int port;
  };
  void Loop();

  std::function<void(const Result&)> done_;
  base::Mutex mutex_;
  base::CondVar wake_;
  std::deque<Request> pending_ ABSL_GUARDED_BY(mutex_);
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace tern::core
