#include "core/stan/stan_directory.h"

namespace tern::core::stan {

std::shared_ptr<const DirectorySnapshot> StanDirectory::Load() const {
  base::MutexLock lock(&mutex_);
  return snapshot_;
}

void StanDirectory::Publish(std::shared_ptr<const DirectorySnapshot> snapshot) {
  {
    base::MutexLock lock(&mutex_);
    snapshot_ = std::move(snapshot);
  }
  version_.fetch_add(1, std::memory_order_release);
}

uint64_t StanDirectory::TotalMsgs() const {
  uint64_t total = 0;
  for (const Counters& c : counters_) total += c.msgs.load(std::memory_order_relaxed);
  return total;
}

uint64_t StanDirectory::TotalBytes() const {
  uint64_t total = 0;
  for (const Counters& c : counters_) total += c.bytes.load(std::memory_order_relaxed);
  return total;
}

}  // namespace tern::core::stan
