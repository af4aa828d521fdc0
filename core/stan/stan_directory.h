#pragma once
// StanDirectory: what every shard's StanGate must know to store a STAN publish without
// passing it through shard 0: the registered clients, the channels whose streams are made
// (each with its subject) and whether the service serves yet (its state read back). Shard 0's
// StanService writes a new snapshot at each change (connects, closes, channels made or
// deleted: rare); a gate reads the version at each publish (one atomic load) and the
// snapshot only when the version moved. A change is in force before the service answers
// the request that made it, so a client told it is connected is known to every gate.
// Ownership: shared by the service and the gates; any thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "base/mutex.h"

namespace tern::core::stan {

// One channel as the gates see it; the service keeps the same object while the channel lives.
struct GateChannel {
  std::string subject;                      // where its stream takes messages
  std::atomic<bool> open{true};             // false while it is being deleted
  std::atomic<int64_t> last_publish_ns{0};  // by any gate, for max_inactivity
};

struct DirectorySnapshot {
  bool serving = false;  // until then a gate holds what it gets
  absl::flat_hash_set<std::string> client_ids, conn_ids;
  absl::flat_hash_map<std::string, std::shared_ptr<GateChannel>> channels;  // by name
};

class StanDirectory {
 public:
  explicit StanDirectory(int shard_count) : counters_(static_cast<std::size_t>(shard_count)) {}

  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  std::shared_ptr<const DirectorySnapshot> Load() const;
  // Shard 0's service.
  void Publish(std::shared_ptr<const DirectorySnapshot> snapshot);

  // Publishes a gate took, for the monitoring figures: each shard writes its own.
  struct alignas(64) Counters {
    std::atomic<uint64_t> msgs{0}, bytes{0};
    void Add(uint64_t n) {
      msgs.store(msgs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      bytes.store(bytes.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
  };
  Counters& counters(int shard) { return counters_[static_cast<std::size_t>(shard)]; }
  uint64_t TotalMsgs() const;
  uint64_t TotalBytes() const;

 private:
  mutable base::Mutex mutex_;
  std::shared_ptr<const DirectorySnapshot> snapshot_ ABSL_GUARDED_BY(mutex_) =
      std::make_shared<DirectorySnapshot>();
  std::atomic<uint64_t> version_{0};
  std::vector<Counters> counters_;
};

}  // namespace tern::core::stan
