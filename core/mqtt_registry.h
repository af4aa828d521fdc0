#pragma once
// MqttRegistry: which connection holds each MQTT client id, server-wide, so that a second
// CONNECT with the same id takes the session over (the first connection is closed), and
// ids taken over a moment ago are held off (nats-server's "flappers": a client that keeps
// reconnecting with the same id as another). Touched at CONNECT and close only, never on
// the message path: one mutex. It also holds the wills that wait out a 5.0 Will Delay
// Interval (MqttWillService publishes them when due). Owned by ServerContext; any shard.
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string>

#include "base/mutex.h"
#include "core/mqtt_will.h"

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

  // 5.0 Will Delay Interval: `will` of client `id`, whose connection `owner` ended, waits;
  // TakeWill with the token returned gets it when due, unless a new connection with the id
  // came first (ResumeWill). 0, and the will dropped, when another connection holds the id
  // already (it took the session over).
  uint64_t HoldWill(const std::string& id, Owner owner, MqttWill will) {
    base::MutexLock lock(&mutex_);
    auto holder = owners_.find(id);
    if (holder == owners_.end() || holder->second.shard != owner.shard ||
        holder->second.conn_id != owner.conn_id) {
      return 0;
    }
    const uint64_t token = ++will_tokens_;
    held_wills_[id] = {token, std::move(will)};
    return token;
  }
  bool TakeWill(const std::string& id, uint64_t token, MqttWill* will) {
    base::MutexLock lock(&mutex_);
    auto it = held_wills_.find(id);
    if (it == held_wills_.end() || it->second.token != token) return false;
    *will = std::move(it->second.will);
    held_wills_.erase(it);
    return true;
  }
  // A new connection with client id `id`: a will still held is not sent when the session is
  // resumed; with a clean start the old session ended, so its will goes now (true, in *will).
  bool ResumeWill(const std::string& id, bool clean_start, MqttWill* will) {
    base::MutexLock lock(&mutex_);
    auto it = held_wills_.find(id);
    if (it == held_wills_.end()) return false;
    if (clean_start) *will = std::move(it->second.will);
    held_wills_.erase(it);
    return clean_start;
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
  struct HeldWill {
    uint64_t token = 0;
    MqttWill will;
  };
  absl::flat_hash_map<std::string, HeldWill> held_wills_ ABSL_GUARDED_BY(mutex_);
  uint64_t will_tokens_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace tern::core
