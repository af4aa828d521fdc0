#include "core/mqtt_will_service.h"

#include <algorithm>

#include "core/mqtt_registry.h"
#include "core/server_context.h"
#include "core/shard_port.h"

namespace tern::core {

void MqttWillService::Watch(std::string key, uint64_t token, int64_t due_ns) {
  watched_.push_back({std::move(key), token, due_ns});
}

void MqttWillService::Turn(int64_t now_ns) {
  if (watched_.empty()) return;
  std::vector<Watched> due;
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (it->due_ns <= now_ns) {
      due.push_back(std::move(*it));
      it = watched_.erase(it);
    } else {
      ++it;
    }
  }
  for (const Watched& one : due) {
    MqttWill will;
    if (shard_->context().mqtt_registry.TakeWill(one.key, one.token, &will)) {
      PublishMqttWill(*shard_, will);
    }
  }
}

int64_t MqttWillService::NextDeadline() const {
  int64_t first = 0;
  for (const Watched& one : watched_) {
    if (first == 0 || one.due_ns < first) first = one.due_ns;
  }
  return first;
}

}  // namespace tern::core
