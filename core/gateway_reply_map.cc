#include "core/gateway_reply_map.h"

#include "core/strings.h"

namespace tern::core {

void GatewayReplyMap::Remember(std::string_view routed, int64_t now_ns) {
  Expire(now_ns);
  const std::string_view shown = routed.substr(kGatewayReplyPrefixLen);
  const int64_t expires_ns = now_ns + kGatewayReplyMapTtlNs;
  // The same reply from another cluster replaces the older routing: the newest request is
  // the one being answered.
  Entry& entry = routed_by_shown_[AbslView(shown)];
  entry.routed.assign(routed);
  entry.expires_ns = expires_ns;
  expiry_order_.emplace_back(expires_ns, std::string(shown));
}

std::string_view GatewayReplyMap::Routed(std::string_view subject, int64_t now_ns) {
  Expire(now_ns);
  auto it = routed_by_shown_.find(AbslView(subject));
  if (it == routed_by_shown_.end()) return subject;
  return it->second.routed;
}

void GatewayReplyMap::Expire(int64_t now_ns) {
  while (!expiry_order_.empty() && expiry_order_.front().first <= now_ns) {
    auto it = routed_by_shown_.find(AbslView(expiry_order_.front().second));
    // A later Remember of the same reply pushed its own, later, expiry.
    if (it != routed_by_shown_.end() && it->second.expires_ns <= now_ns) {
      routed_by_shown_.erase(it);
    }
    expiry_order_.pop_front();
  }
}

}  // namespace tern::core
