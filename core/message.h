#pragma once
// Message: one message on its way through the broker, passed by reference: subject,
// reply, the header block and payload, the account whose subject space it is in, and where
// it came from (the kind of connection and, for links, which one). A connection's parser
// frame becomes one, Shard::Route takes one, the cross-shard batch (xbatch) carries one
// and gives one back, internal sinks (JetStream, imports) and connections' encoders receive
// one. A field added here travels everywhere through this struct and the XBatch codec.
// Ownership: the views point into whoever produced the message (a receive buffer, a batch,
// a stream's record) and are valid for the call that receives it.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tern::core {

// The kinds of connection (core/connection.h). Leafnodes, gateways, MQTT and WebSocket
// join the client and the route here.
// kLeaf: a leafnode of this node (it dialled our leafnode port; we are its hub). kHub: the
// hub this node is a leafnode of (we dialled it, a `leafnodes.remotes` entry). kGateway: a
// gateway to another cluster of a supercluster (either direction).
enum class ConnectionKind : uint8_t { kClient, kRoute, kLeaf, kHub, kGateway };

struct Message {
  std::string_view subject;
  std::string_view reply;  // empty if none
  std::string_view data;   // the header block, then the payload
  std::size_t header_len = 0;
  // The subject a MSG line shows when it is not `subject` (JetStream deliveries); empty =
  // the subject.
  std::string_view display;
  uint16_t account = 0;  // an auth::AccountId
  // Where it came in: the server's own messages count as a client's.
  ConnectionKind origin = ConnectionKind::kClient;
  uint32_t link = 0;  // which link (route, leafnode, gateway) it came in on; 0 = none
  // From a route: the queue groups (names, space-separated) the sending node picked this
  // node for. A routed message reaches only these groups (none when empty), as in
  // nats-server. Read on the shard the route lives on only (other shards get the picks).
  std::string_view route_queues;
  // From a leafnode (here, or through a route): the cluster of the leafnode it came from.
  // Never sent back to a leafnode link of that cluster. Read on the link's shard only.
  std::string_view origin_cluster;

  std::string_view header() const { return data.substr(0, header_len); }
  std::string_view payload() const { return data.substr(header_len); }
  std::string_view shown_subject() const { return display.empty() ? subject : display; }
};

}  // namespace tern::core
