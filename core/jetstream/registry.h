#pragma once
// JetStream's server-wide state: where the store lives, which stream lives on which shard
// (its home), each stream's subjects (for overlap checks and STREAM.NAMES lookups), and
// figures each home shard publishes for listings and monitoring. Shared by every shard:
// the map is guarded by a mutex and touched only by API requests (the control plane);
// the per-stream figures are relaxed atomics written once per loop turn by the home shard.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mutex.h"
#include "core/auth/accounts.h"
#include "core/jetstream/api_error.h"

namespace tern::core::js {

struct StreamFigures {
  std::atomic<uint64_t> msgs{0}, bytes{0}, first_seq{0}, last_seq{0}, num_subjects{0},
      num_deleted{0}, consumers{0}, visible_consumers{0};
  std::atomic<int64_t> first_ts{0}, last_ts{0};
  std::atomic<bool> memory{false};
  // A mirror that has caught up with its origin (a delivery with fewer than 10 pending):
  // with mirror_direct it answers direct gets for the origin.
  std::atomic<bool> mirror_current{false};
};

struct StreamEntry {
  std::string name;
  int home = 0;
  std::vector<std::string> subjects;
  nlohmann::json config;  // normalized, as StreamInfo shows it
  int64_t created_ns = 0;
  std::shared_ptr<StreamFigures> figures;
};

// One per account with JetStream: its streams live in their own directory and count
// against the account's limits.
class Registry {
 public:
  Registry(std::string store_dir, int shard_count, std::string account = auth::kGlobalAccountName,
           auth::AccountId account_id = auth::kGlobalAccount, auth::JetStreamLimits limits = {})
      : store_dir_(std::move(store_dir)),
        shard_count_(shard_count),
        account_(std::move(account)),
        account_id_(account_id),
        limits_(limits) {}

  const std::string& store_dir() const { return store_dir_; }
  const std::string& account() const { return account_; }
  auth::AccountId account_id() const { return account_id_; }
  const auth::JetStreamLimits& limits() const { return limits_; }
  // False: the account has no JetStream and its API answers so.
  bool enabled() const { return limits_.enabled; }
  // The directory of the account's streams.
  std::string StreamsDir() const { return store_dir_ + "/jetstream/" + account_ + "/streams"; }

  // Bytes stored by the account's streams of one kind, as their figures last said.
  uint64_t usage(bool memory) const { return usage_[memory].load(std::memory_order_relaxed); }
  void AddUsage(bool memory, int64_t delta) {
    usage_[memory].fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  }
  // The account's byte limit for the kind; -1 = none.
  int64_t max_bytes(bool memory) const { return memory ? limits_.max_memory : limits_.max_file; }
  // The consumers of all the account's streams, as their figures last said.
  uint64_t ConsumerCount() const;
  // The shard a stream (by name) lives on; stable for a given shard count.
  int HomeOf(std::string_view stream_name) const;

  // Claims the name and subjects; fails with 10065 if they overlap another stream's.
  ApiError Add(const StreamEntry& entry);
  // Replaces subjects/config of an existing stream (after an update); overlap checked.
  ApiError Update(const std::string& name, const std::vector<std::string>& subjects,
                  const nlohmann::json& config);
  void Remove(const std::string& name);
  bool Find(const std::string& name, StreamEntry* out) const;
  // Who answers $JS.API.DIRECT.GET.<stream>: the stream itself with allow_direct, else a
  // caught-up mirror of it with mirror_direct (the first by name), as nats-server's `_sys_`
  // queue group picks one of them. The responder's home shard and name, or kNoResponder
  // (the stream exists and nobody answers: clients time out), or kNoStream (503).
  static constexpr int kNoResponder = -1;
  static constexpr int kNoStream = -2;
  int DirectResponder(std::string_view stream, std::string* responder) const;
  // Sorted names, optionally only streams with a subject overlapping `subject`.
  std::vector<StreamEntry> List(const std::string& subject) const;
  std::size_t size() const;

  std::atomic<uint64_t> api_total{0}, api_errors{0};
  // Streams whose store failed (a sync error is sticky): /healthz reports them.
  std::atomic<uint64_t> failed_streams{0};

 private:
  std::string store_dir_;
  int shard_count_;
  std::string account_;
  auth::AccountId account_id_;
  auth::JetStreamLimits limits_;
  std::atomic<uint64_t> usage_[2] = {};  // [memory]
  mutable base::Mutex mutex_;
  std::vector<StreamEntry> streams_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::core::js
