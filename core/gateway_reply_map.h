#pragma once
// Replies that reached a client through another cluster's gateway. nats-server shows a
// client the bare reply (`_INBOX.abc`, `$JS.ACK.…`, which clients parse) and maps the
// client's answer back to the routed form (`_GR_.<cluster>.<server>._INBOX.abc`) for two
// seconds, so that the answer goes straight back to the requesting server.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

namespace tern::core {

// `_GR_.<6-char cluster hash>.<6-char server hash>.`
inline constexpr std::size_t kGatewayReplyPrefixLen = 19;
inline constexpr int64_t kGatewayReplyMapTtlNs = 2'000'000'000;

// Whether `reply` carries a gateway routing prefix (nats-server's isGWRoutedReply).
inline bool IsGatewayRoutedReply(std::string_view reply) {
  return reply.size() > kGatewayReplyPrefixLen && reply.starts_with("_GR_.");
}

// What a client is shown of a reply: the routed prefix taken off.
inline std::string_view ShownReply(std::string_view reply) {
  return IsGatewayRoutedReply(reply) ? reply.substr(kGatewayReplyPrefixLen) : reply;
}

// Owned by one client connection, on its shard. Entries live two seconds, as nats-server's
// (the gateway's recent-subscription expiry); expired ones go on the next insert or lookup.
class GatewayReplyMap {
 public:
  bool empty() const { return routed_by_shown_.empty(); }

  // `routed` is the reply as it arrived (with its prefix).
  void Remember(std::string_view routed, int64_t now_ns);

  // The routed form of `subject` if the client was shown it within the last two seconds,
  // else `subject` itself.
  std::string_view Routed(std::string_view subject, int64_t now_ns);

 private:
  void Expire(int64_t now_ns);

  struct Entry {
    std::string routed;
    int64_t expires_ns = 0;
  };
  absl::flat_hash_map<std::string, Entry> routed_by_shown_;
  std::deque<std::pair<int64_t, std::string>> expiry_order_;  // (expires, shown)
};

}  // namespace tern::core
