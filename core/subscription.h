#pragma once
// Subscription: one SUB of one connection, owned by its connection (by sid), or a server-internal
// subscription owned by its InternalSink. Lives on its owner's shard only.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/message.h"

namespace tern::core {

class Connection;
struct Subscription;

// The receiver of a server-internal subscription (JetStream's API, a stream's subjects,
// its ack subjects). Called on the subscription's shard while a message is being routed:
// it must not route messages or change interest itself (queue work for later instead).
class InternalSink {
 public:
  virtual ~InternalSink() = default;
  virtual void OnInternalMessage(const Subscription& sub, const Message& msg) = 0;
};

struct Subscription {
  uint16_t account = 0;  // the account whose subject space `subject` is in
  // Seen only by messages published on this shard, never announced to the others (every
  // shard has its own; account imports).
  bool shard_local = false;
  // A shard-local subscription that peers must still know of (shard 0 announces it on
  // routes): the response route of service imports, whose responders may be on other nodes.
  bool announce_to_links = false;
  Connection* conn = nullptr;    // who subscribed; null for an internal subscription
  InternalSink* sink = nullptr;  // set for an internal subscription
  int tag = 0;                   // the sink's own label for this subscription
  std::string subject;
  std::string queue;  // empty for a plain subscription
  std::string sid;
  // Queue members this subscription stands for when a member is picked: 1, or a route's
  // queue weight (the members the other node has).
  uint32_t weight = 1;
  // Held by a leafnode or gateway link: a queue member picked only when its group has no
  // other (nats-server prefers members in the cluster).
  bool fallback = false;
  // Held by a route for a leafnode of another node: that leafnode's cluster (nats-server's
  // origin cluster), owned by the route. Null otherwise.
  const std::string* origin = nullptr;
  uint64_t max = 0;  // auto-unsubscribe after this many deliveries; 0 = no limit
  // MQTT 5.0 No Local: never the subscriber's own publishes, whatever its echo.
  bool no_local = false;
  uint64_t delivered = 0;
};

}  // namespace tern::core
