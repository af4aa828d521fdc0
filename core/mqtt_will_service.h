#pragma once
// MqttWillService: the delayed wills (MQTT 5.0 Will Delay Interval) of connections that ended
// on this shard. The will itself waits in the MqttRegistry, where a new connection with the
// same client id can cancel it (the session resumed) or take it to publish at once (the
// session ended with a clean start); this service only remembers when each is due and, then,
// takes it from the registry and publishes it if it is still there. Owned by its shard.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>

#include "core/loop_service.h"

namespace tern::core {

class ShardPort;

class MqttWillService final : public LoopService {
 public:
  explicit MqttWillService(ShardPort* shard) : shard_(shard) {}
  // Will `token` of client `key` (the registry's key) is due at `due_ns` (monotonic).
  void Watch(std::string key, uint64_t token, int64_t due_ns);
  // Does nothing until the first will is due (the loop calls it every turn).
  void Turn(int64_t now_ns) override;
  int64_t NextDeadline() const override { return next_due_ns_; }

 private:
  struct Watched {
    uint64_t token = 0;
    int64_t due_ns = 0;
  };
  ShardPort* shard_;
  // By client (at most one will each): those of connections gone within their delay.
  absl::flat_hash_map<std::string, Watched> watched_;
  int64_t next_due_ns_ = 0;  // the earliest due_ns; 0: none
};

}  // namespace tern::core
