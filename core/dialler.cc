#include "core/dialler.h"

#include "io/socket.h"

namespace tern::core {
namespace {

constexpr int kDialTimeoutMs = 1000;

}  // namespace

Dialler::Dialler(std::function<void(const Result&)> done) : done_(std::move(done)) {
  thread_ = std::thread([this] { Loop(); });
}

Dialler::~Dialler() {
  {
    base::MutexLock lock(&mutex_);
    stop_ = true;
  }
  wake_.SignalAll();
  thread_.join();
}

void Dialler::Dial(uint64_t tag, std::string host, int port) {
  {
    base::MutexLock lock(&mutex_);
    pending_.push_back(Request{tag, std::move(host), port});
  }
  wake_.SignalAll();
}

void Dialler::Loop() {
  for (;;) {
    Request request;
    {
      base::MutexLock lock(&mutex_);
      wake_.Wait(&mutex_, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stop_ || !pending_.empty();
      });
      if (stop_) return;
      request = std::move(pending_.front());
      pending_.pop_front();
    }
    Result result{request.tag, -1, {}};
    result.fd = io::ConnectTcp(request.host, request.port, kDialTimeoutMs, &result.error);
    done_(result);
  }
}

}  // namespace tern::core
