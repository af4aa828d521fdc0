#pragma once
// MqttWillService: the delayed wills (MQTT 5.0 Will Delay Interval) of connections that ended
// on this shard. The will itself waits in the MqttRegistry, where a new connection with the
// same client id can cancel it (the session resumed) or take it to publish at once (the
// session ended with a clean start); this service only remembers when each is due and, then,
// takes it from the registry and publishes it if it is still there. Owned by its shard.
#include <cstdint>
#include <string>
#include <vector>

#include "core/loop_service.h"

namespace tern::core {

class ShardPort;

class MqttWillService final : public LoopService {
 public:
  explicit MqttWillService(ShardPort* shard) : shard_(shard) {}
  // Will `token` of client `key` (the registry's key) is due at `due_ns` (monotonic).
  void Watch(std::string key, uint64_t token, int64_t due_ns);
  void Turn(int64_t now_ns) override;
  int64_t NextDeadline() const override;

 private:
  struct Watched {
    std::string key;
    uint64_t token = 0;
    int64_t due_ns = 0;
  };
  ShardPort* shard_;
  std::vector<Watched> watched_;  // few: wills of connections gone within their delay
};

}  // namespace tern::core
