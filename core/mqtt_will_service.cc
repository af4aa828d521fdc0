#include "core/mqtt_will_service.h"

#include <vector>

#include "core/mqtt_registry.h"
#include "core/server_context.h"
#include "core/shard_port.h"

namespace tern::core {

void MqttWillService::Watch(std::string key, uint64_t token, int64_t due_ns) {
  watched_[std::move(key)] = {token, due_ns};  // a newer will of the client replaces its last
  if (next_due_ns_ == 0 || due_ns < next_due_ns_) next_due_ns_ = due_ns;
}

void MqttWillService::Turn(int64_t now_ns) {
  if (next_due_ns_ == 0 || now_ns < next_due_ns_) return;
  std::vector<std::pair<std::string, uint64_t>> due;
  next_due_ns_ = 0;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (it->second.due_ns <= now_ns) {
      due.emplace_back(it->first, it->second.token);
      watched_.erase(it++);
      continue;
    }
    if (next_due_ns_ == 0 || it->second.due_ns < next_due_ns_) next_due_ns_ = it->second.due_ns;
    ++it;
  }
  // A will cancelled meanwhile (its session resumed) is no longer in the registry.
  for (const auto& [key, token] : due) {
    MqttWill will;
    if (shard_->context().mqtt_registry.TakeWill(key, token, &will)) {
      PublishMqttWill(*shard_, will);
    }
  }
}

}  // namespace tern::core
