#pragma once
// MqttRegistry: which connection holds each MQTT client id, server-wide, so that a second
// CONNECT with the same id takes the session over (the first connection is closed), and
// ids taken over a moment ago are held off (nats-server's "flappers": a client that keeps
// reconnecting with the same id as another). Touched at CONNECT and close only, never on
// the message path: one mutex. Owned by ServerContext; any shard.
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string>

#include "base/mutex.h"

namespace tern::core {

class MqttRegistry {
 public:
  struct Owner {
    int shard = -1;
    uint64_t conn_id = 0;
  };
  // How long an id that was just taken over refuses another CONNECT.
  static constexpr int64_t kJailNs = 1'000'000'000;

  // Records `owner` for `id`. Returns the previous owner (shard -1 if none); *jailed when
  // the id was taken over less than kJailNs ago (then nothing changes).
  Owner Claim(const std::string& id, Owner owner, int64_t now_ns, bool* jailed) {
    base::MutexLock lock(&mutex_);
    auto taken = taken_over_.find(id);
    *jailed = taken != taken_over_.end() && now_ns - taken->second < kJailNs;
    if (*jailed) return {};
    Owner previous;
    auto [it, inserted] = owners_.try_emplace(id, owner);
    if (!inserted) {
      previous = it->second;
      it->second = owner;
      if (taken_over_.size() >= 4096) {  // forget old takeovers now and then
        absl::erase_if(taken_over_,
                       [now_ns](const auto& entry) { return now_ns - entry.second >= kJailNs; });
      }
      taken_over_[id] = now_ns;
    }
    return previous;
  }
  // Whether an account's MQTT streams were made (or found) already: a CONNECT then need
  // not ask JetStream again. Forgotten when a store fails (someone removed them).
  bool StreamsReady(uint16_t account) {
    base::MutexLock lock(&mutex_);
    return ready_.contains(account);
  }
  void SetStreamsReady(uint16_t account, bool ready) {
    base::MutexLock lock(&mutex_);
    if (ready) {
      ready_.insert(account);
    } else {
      ready_.erase(account);
    }
  }

  // The connection is gone: forget it, unless another one holds the id by now.
  void Release(const std::string& id, Owner owner) {
    base::MutexLock lock(&mutex_);
    auto it = owners_.find(id);
    if (it != owners_.end() && it->second.shard == owner.shard &&
        it->second.conn_id == owner.conn_id) {
      owners_.erase(it);
    }
  }

 private:
  base::Mutex mutex_;
  absl::flat_hash_map<std::string, Owner> owners_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, int64_t> taken_over_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<uint16_t> ready_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace tern::core
