#pragma once
// Subject permissions of one user, as nats-server defines them: publish and subscribe
// allow/deny lists of subject patterns (a subscribe entry may name a queue group:
// "orders.* workers"), and allow_responses, which lets a service publish to the reply
// subjects of requests it received (each up to max_msgs times, within `expires`).
// Permissions is immutable and shared; PermissionChecker is per connection, owned by the
// connection's shard.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"

namespace tern::core::auth {

struct SubjectPermission {
  std::optional<std::vector<std::string>> allow;  // unset = everything not denied
  std::vector<std::string> deny;
};

struct ResponsePermission {
  int64_t max_msgs = 1;
  int64_t expires_ns = int64_t{2} * 60 * 1'000'000'000;  // nats-server's defaults
};

struct Permissions {
  std::optional<SubjectPermission> publish;
  std::optional<SubjectPermission> subscribe;
  std::optional<ResponsePermission> responses;
  // allow_responses without a publish allow list means: only responses (as nats-server).
  void Normalize();
};

class PermissionChecker {
 public:
  explicit PermissionChecker(std::shared_ptr<const Permissions> permissions)
      : permissions_(std::move(permissions)) {}

  bool CanPublish(std::string_view subject, int64_t now_ns);
  // A new subscription; queue empty for a plain one.
  bool CanSubscribe(std::string_view subject, std::string_view queue) const;
  // A message for one of this connection's (wildcard) subscriptions whose subject the
  // subscribe deny list covers: nats-server drops it at delivery.
  bool DeliveryDenied(std::string_view subject) const;
  bool has_delivery_filter() const { return delivery_filter_; }
  // This connection received a request carrying `reply`: with allow_responses it may now
  // publish there.
  void NoteRequest(std::string_view reply, int64_t now_ns);
  bool tracks_responses() const { return permissions_->responses.has_value(); }

 private:
  bool Allowed(std::string_view subject);  // publish allow/deny, cached

  std::shared_ptr<const Permissions> permissions_;
  bool delivery_filter_ = permissions_->subscribe && !permissions_->subscribe->deny.empty();
  // Publish decisions by subject (bounded; dropped whole when full).
  absl::flat_hash_map<std::string, bool> publish_cache_;
  struct Reply {
    int64_t remaining;
    int64_t expires_at_ns;  // 0 = never
  };
  absl::flat_hash_map<std::string, Reply> replies_;
};

}  // namespace tern::core::auth
