#pragma once
// ServerContext: what all shards share. Everything here is either immutable after start
// (options, identity, the mesh's shape) or an atomic touched off the message path
// (connection counts, the run state). Owned by Server; outlives every shard.
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <vector>
#include "core/mqtt_registry.h"

#include "core/clock.h"
#include "core/options.h"
#include "core/shard_set.h"
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
  // Loop: nanoseconds spent outside the reactor's sleep, and since the loop started.
  std::atomic<uint64_t> busy_ns{0}, loop_started_ns{0};
  // JetStream group-commit fdatasync latency: a histogram over kSyncBucketsUs (upper
  // bounds in microseconds; the last bucket is +Inf), their count and total.
  static constexpr uint64_t kSyncBucketsUs[] = {100,   250,   500,   1000,   2500,   5000,
                                                10000, 25000, 50000, 100000, 250000, 1000000};
  static constexpr std::size_t kSyncBuckets = std::size(kSyncBucketsUs) + 1;
  std::atomic<uint64_t> sync_buckets[kSyncBuckets] = {};
  std::atomic<uint64_t> sync_count{0}, sync_total_ns{0};
  static void Add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void RecordSync(int64_t ns) {
    std::size_t i = 0;
    while (i < std::size(kSyncBucketsUs) && static_cast<uint64_t>(ns) > kSyncBucketsUs[i] * 1000)
      ++i;
    Add(sync_buckets[i], 1);
    Add(sync_count, 1);
    Add(sync_total_ns, static_cast<uint64_t>(ns));
  }
};

// The settings a shard reads while it runs, replaced as a whole by a config reload: each
// shard swaps its pointer at a turn boundary (Shard::Post), so none sees a torn update.
struct LiveSettings {
  ServerOptions options;
  std::string info_prefix;  // INFO fields common to every connection, ending with ','
};

// The N x N single-producer rings between shards, and each shard's "sleeping" flag.
class ShardMesh {
 public:
  static constexpr std::size_t kRingSlots = 1024;
  explicit ShardMesh(int shard_count)
      : count_(shard_count), sleeping_(shard_count), announced_(shard_count) {
    for (int i = 0; i < shard_count * shard_count; ++i) {
      rings_.push_back(std::make_unique<io::SpscRing<XBatch*>>(kRingSlots));
    }
  }
  io::SpscRing<XBatch*>& ring(int from, int to) { return *rings_[from * count_ + to]; }
  std::atomic<bool>& sleeping(int shard) { return sleeping_[shard]; }

  // Which peers pushed to a shard since it last looked, so a turn drains those rings only
  // instead of looking at every peer's (a cost that grew with the shard count). The
  // producer announces after its push and before it reads `sleeping` (seq_cst both); the
  // consumer reads the set after announcing sleep: one of the two sees the other.
  void Announce(int from, int to) {
    announced_[to].words[from >> 6].fetch_or(uint64_t{1} << (from & 63), std::memory_order_seq_cst);
  }
  ShardSet TakeAnnounced(int to) {
    auto& words = announced_[to].words;
    ShardSet set;
    for (int w = 0; w < 2; ++w) {
      if (words[w].load(std::memory_order_relaxed) != 0) {
        set.SetWord(w, words[w].exchange(0, std::memory_order_acq_rel));
      }
    }
    return set;
  }
  bool AnyAnnounced(int to) const {
    const auto& words = announced_[to].words;
    return (words[0].load(std::memory_order_seq_cst) | words[1].load(std::memory_order_seq_cst)) !=
           0;
  }

 private:
  struct alignas(64) Announced {
    std::atomic<uint64_t> words[2] = {0, 0};
  };
  int count_;
  std::vector<std::unique_ptr<io::SpscRing<XBatch*>>> rings_;
  std::vector<std::atomic<bool>> sleeping_;
  std::vector<Announced> announced_;  // by receiving shard
};

struct ServerContext {
  std::shared_ptr<const LiveSettings> settings;  // as at start; shards keep their own copy
  std::string server_id;
  std::string server_name;
  int bound_port = 0;
  int cluster_port = 0;    // the bound route port; 0 without a cluster
  int leaf_port = 0;       // the bound leafnode port; 0 without one
  int websocket_port = 0;  // the bound websocket port; 0 without one
  int mqtt_port = 0;       // the bound MQTT port; 0 without one
  int gateway_port = 0;    // the bound gateway port; 0 without one
  // With gateways: "_GR_.<cluster hash>.<server hash>.", the prefix of answers meant for
  // this node (set before the shards start).
  std::string gateway_reply_prefix;
  int shard_count = 1;
  std::unique_ptr<ShardMesh> mesh;
  std::vector<Shard*> shards;
  std::vector<std::unique_ptr<ShardStats>> stats;
  std::atomic<int64_t> connections{0};
  std::atomic<uint64_t> next_client_id{0};
  std::atomic<int> state{static_cast<int>(RunState::kRunning)};
  std::atomic<int64_t> lame_duck_start_ns{0};
  int64_t start_unix_ns = 0;
  int64_t start_mono_ns = 0;
  // The shards' loop clock: the system's, or a test's hand-stepped one.
  const Clock* clock = &SystemClock::Get();
  // MQTT client ids and the connections that hold them (session takeover).
  MqttRegistry mqtt_registry;
  // Open connections per account (by AccountId), for accounts' connection limits.
  std::unique_ptr<std::atomic<int64_t>[]> account_connections;

  RunState run_state() const { return static_cast<RunState>(state.load()); }
};

// Server-wide counters summed over the shards' ShardStats (any thread).
struct Totals {
  uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0, slow_consumers = 0,
           stale_connections = 0, connections = 0, total_connections = 0, subscriptions = 0;
};
Totals SumStats(const ServerContext& context);

}  // namespace tern::core
