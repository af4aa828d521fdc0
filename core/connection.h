#pragma once
// Connection: what the shard keeps its connections by, whatever their kind. A kind (the
// client today; routes, leafnodes, gateways, MQTT and WebSocket next) is a subclass with
// its own parser and encoder; it reaches its shard only through ShardPort. The shard sees
// the state below (read on the message path without a virtual call) and the virtual
// interface (I/O events, deliveries, timers, closing, monitoring). Ownership: the shard
// that adopted the socket, for the connection's whole life; the shard deletes it after the
// reactor releases its IoConn.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/auth/accounts.h"
#include "core/conn_info.h"
#include "core/message.h"
#include "core/subscription.h"
#include "io/reactor.h"
#include "io/timer_heap.h"

namespace tern::core {

// Why a connection closed (what /connz and the logs show).
enum class CloseReason {
  kClientClosed,
  kProtocolViolation,
  kParseError,
  kMaxPayload,
  kMaxConnections,
  kSlowConsumerPending,
  kSlowConsumerDeadline,
  kStaleConnection,
  kWriteError,
  kServerShutdown,
  kAuthenticationFailure,
  kAuthenticationTimeout,
  kAuthenticationExpired,
  kTlsRequired,
  kTlsHandshakeError,
  kDuplicateClientId,  // an MQTT session taken over by a newer connection
};
const char* CloseReasonText(CloseReason reason);

// May a message that came in on a connection of kind `from` go out on one of kind `to`?
// The one place where routing differs by kind (nats-server 2.9's rules): a message from a
// route never goes back out on a route (a full mesh: one hop); a message from our hub goes
// to no route (each node of a leafnode cluster has its own link to the hub) and one from a
// route to no hub (the route's node sends it there itself). `from` is kClient for messages
// the server publishes.
constexpr bool MayForward(ConnectionKind from, ConnectionKind to) {
  // Only what entered this node from a client or a leafnode goes to other clusters: the
  // node that took it in sends it, once (its routes' nodes do not).
  if (to == ConnectionKind::kGateway) {
    return from == ConnectionKind::kClient || from == ConnectionKind::kLeaf ||
           from == ConnectionKind::kHub;
  }
  if (to == ConnectionKind::kRoute) {
    return from != ConnectionKind::kRoute && from != ConnectionKind::kHub;
  }
  if (to == ConnectionKind::kHub) return from != ConnectionKind::kRoute;
  return true;
}

// A leafnode link, in either role.
constexpr bool IsLeafKind(ConnectionKind kind) {
  return kind == ConnectionKind::kLeaf || kind == ConnectionKind::kHub;
}

// Does a subscription held by a connection of this kind tell the cluster's other nodes
// (RS+)? Clients' do, and a leafnode's (this node is its way into the cluster); what a
// route, our hub or another cluster told us does not go on to the routes.
constexpr bool ExportsToRoutes(ConnectionKind kind) {
  return kind == ConnectionKind::kClient || kind == ConnectionKind::kLeaf;
}

class Connection;
class ShardPort;

// Makes the connection for a socket a listener accepted (a kind per listener: clients on
// the client port, routes on the cluster port...). Called on the shard that adopts it;
// the shard owns (and deletes) what it returns.
using ConnectionFactory =
    std::function<Connection*(ShardPort* shard, uint64_t id, std::string ip, int port)>;

class Connection {
 public:
  Connection(ConnectionKind kind, uint64_t id) : kind_(kind), id_(id) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // --- I/O events, from the shard's reactor callbacks ---
  // Called once after the socket is adopted.
  virtual void Start(io::IoConn* io, bool over_connection_limit) = 0;
  virtual void OnBytes(const char* data, std::size_t len) = 0;
  virtual void OnSendDone(int result) = 0;
  virtual void OnPeerClosed(int err) = 0;

  // --- While routing (hot path) ---
  // Queues the message for the subscription; true if this connection is falling behind
  // and the publisher should be stalled. May close it as a slow consumer.
  virtual bool DeliverMessage(const Subscription& sub, const Message& msg) = 0;
  // A link (a route to another node): the message once, however many of the link's
  // subscriptions matched, with the queue groups picked on it. Called instead of
  // DeliverMessage for connections with is_link(). True as DeliverMessage.
  virtual bool DeliverToLink(const Message& msg, const std::string_view* queues,
                             std::size_t queue_count) {
    (void)msg, (void)queues, (void)queue_count;
    return false;
  }
  // A request it published reached no one (it asked to be told).
  virtual void SendNoResponders(std::string_view sid, std::string_view reply) = 0;
  // Starts a send if output is waiting and none is in flight.
  virtual void Flush() = 0;

  // --- Barrier, back-pressure, timers ---
  // Barrier epochs up to acked_epoch are known to all shards: release what waited for it.
  virtual void ReleaseHolds(uint64_t acked_epoch) = 0;
  virtual bool has_holds() const = 0;
  virtual bool StillCongesting(int64_t now_ns) = 0;
  // Stop / restart reading this connection (it publishes faster than others drain).
  virtual void Stall() = 0;
  virtual void Unstall() = 0;
  virtual void OnTimer(int64_t now_ns) = 0;
  virtual int64_t NextDeadline() const = 0;

  // --- Lifetime, reload, monitoring ---
  virtual void SendLameDuckInfo() = 0;
  // A leafnode link: the cluster of the server at the other end (nats-server's origin
  // cluster). Messages and interest never go from one link to another of the same cluster
  // (its nodes have routes between them). Empty for other kinds.
  virtual std::string_view link_cluster() const { return {}; }
  // The cluster's INFO fields changed (ShardPort::cluster_info): tell the peer if it wants
  // to know (a client with protocol >= 1).
  virtual void SendInfoUpdate() {}
  // Starts closing; with flush, what is queued (an -ERR) is sent first.
  virtual void Close(CloseReason reason, bool flush) = 0;
  // True once the socket itself may be closed (flushed, or gave up waiting).
  virtual bool WantsIoClose() const = 0;
  // The authorization changed (reload): check this connection again.
  virtual void Reauthorize() = 0;
  // Removes every subscription (at close) and tells the shard.
  virtual void DropSubscriptions() = 0;
  // Removes one subscription after its auto-unsubscribe limit was reached.
  virtual void RemoveSubscription(const std::string& sid) = 0;
  // What /connz shows; subscriptions if asked.
  virtual void Describe(ConnInfo* info, bool with_subs) const = 0;

  // --- State the shard reads on the message path ---
  ConnectionKind kind() const { return kind_; }
  uint64_t id() const { return id_; }
  bool closing() const { return closing_; }
  bool connected() const { return connected_; }  // past its handshake (CONNECT accepted)
  bool echo() const { return echo_; }
  bool no_responders() const { return no_responders_; }
  bool stalled() const { return stalled_; }
  // Another node behind this connection: the shard collects a message's matches on it and
  // calls DeliverToLink once (a message crosses a link once, however many subscriptions).
  bool is_link() const { return link_; }
  auth::AccountId account() const { return account_; }
  io::IoConn* io() const { return io_; }

  // The shard's bookkeeping: position in its list (O(1) removal), in its dirty list, and
  // the slot in its TimerHeap.
  std::size_t list_index = 0;
  bool dirty = false;
  io::TimerSlot timer;

 protected:
  const ConnectionKind kind_;
  const uint64_t id_;
  io::IoConn* io_ = nullptr;
  bool closing_ = false;
  bool connected_ = false;
  bool echo_ = true;
  bool no_responders_ = false;
  bool stalled_ = false;
  bool link_ = false;
  auth::AccountId account_ = auth::kGlobalAccount;
};

}  // namespace tern::core
