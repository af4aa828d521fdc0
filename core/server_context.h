#pragma once
// ServerContext: what all shards share. Everything here is either immutable after start
// (options, identity, the mesh's shape) or an atomic touched off the message path
// (connection counts, the run state). Owned by Server; outlives every shard.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/xbatch.h"
#include "io/spsc_ring.h"

namespace tern::core {

class Shard;

enum class RunState : int { kRunning = 0, kLameDuck = 1, kStopping = 2 };

// Per-shard counters: written only by the owning shard (relaxed load+store, no RMW),
// read by anyone and summed.
struct ShardStats {
  std::atomic<uint64_t> in_msgs{0}, in_bytes{0}, out_msgs{0}, out_bytes{0};
  std::atomic<uint64_t> slow_consumers{0}, stale_connections{0}, connections{0},
      total_connections{0}, subscriptions{0};
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// The N x N single-producer rings between shards, and each shard's "sleeping" flag.
class ShardMesh {
 public:
  static constexpr std::size_t kRingSlots = 1024;
  explicit ShardMesh(int shard_count) : count_(shard_count), sleeping_(shard_count) {
    for (int i = 0; i < shard_count * shard_count; ++i) {
      rings_.push_back(std::make_unique<io::SpscRing<XBatch*>>(kRingSlots));
    }
  }
  io::SpscRing<XBatch*>& ring(int from, int to) { return *rings_[from * count_ + to]; }
  std::atomic<bool>& sleeping(int shard) { return sleeping_[shard]; }

 private:
  int count_;
  std::vector<std::unique_ptr<io::SpscRing<XBatch*>>> rings_;
  std::vector<std::atomic<bool>> sleeping_;
};

struct ServerContext {
  const ServerOptions* options = nullptr;
  std::string server_id;
  std::string server_name;
  std::string info_prefix;  // INFO fields common to every connection, ending with ','
  int bound_port = 0;
  int shard_count = 1;
  std::unique_ptr<ShardMesh> mesh;
  std::vector<Shard*> shards;
  std::vector<std::unique_ptr<ShardStats>> stats;
  std::atomic<int64_t> connections{0};
  std::atomic<uint64_t> next_client_id{0};
  std::atomic<int> state{static_cast<int>(RunState::kRunning)};
  std::atomic<int64_t> lame_duck_start_ns{0};
  int64_t start_unix_ns = 0;

  RunState run_state() const { return static_cast<RunState>(state.load()); }
};

}  // namespace tern::core
