#pragma once
// GatewayConnection: one gateway link to another cluster of a supercluster (nats-server
// 2.9's gateway protocol), a Connection kind and a link. Each direction is its own TCP
// connection: an outbound one (this node dialled the other cluster) carries this node's
// messages there and brings back that cluster's interest (RS+/RS- in interest-only mode,
// kept as subscriptions of its own, queue members picked only when the group has none in
// this cluster); an inbound one (the other cluster dialled us) brings its messages in and
// takes this cluster's interest out (GatewayRegistry sends it). Replies of requests sent
// out are prefixed `_GR_.<cluster hash>.<server hash>.` so that answers come straight back
// to this node. Ownership: shard 0 (every link lives there), for the connection's life.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/cluster_options.h"
#include "core/congestion.h"
#include "core/gateway_optimism.h"
#include "core/gateway_proto.h"
#include "core/link_connection.h"
#include "core/route_parser.h"

namespace tern::core {

class GatewayConnection;

// The listener id of the gateway port.
inline constexpr uint32_t kGatewayListener = 3;

// The node's side of its gateways (GatewayService). Called on shard 0's thread.
class GatewayRegistry {
 public:
  virtual std::string GatewayInfoLine() const = 0;
  // The peer's INFO arrived: true if the link is registered; false for a second outbound
  // link to one cluster (closed).
  virtual bool RegisterOutbound(GatewayConnection* link) = 0;
  virtual void RegisterInbound(GatewayConnection* link) = 0;
  // A gossip INFO of the peer: another cluster's gateway to connect to.
  virtual void LearnGateway(const std::string& name, const std::vector<std::string>& urls) = 0;
  // A message that arrived with a `_GR_.` subject: an answer for this cluster.
  virtual void OnGatewayReply(GatewayConnection* link, const Message& msg) = 0;
  // The hash of this cluster's and this server's in `_GR_.` subjects ("_GR_.<c>.<s>.").
  virtual const std::string& ReplyPrefix() const = 0;
  virtual void GatewayClosed(GatewayConnection* link) = 0;

 protected:
  ~GatewayRegistry() = default;
};

class GatewayConnection final : public LinkConnection {
 public:
  // `dialled` names the configured (or learned) gateway this node connected to.
  GatewayConnection(ShardPort* shard, GatewayRegistry* registry, uint64_t id, std::string ip,
                    int port, const std::string* dialled, const RouteUrl* url);
  ~GatewayConnection() override;

  void Start(io::IoConn* io, bool over_connection_limit) override;

  bool DeliverMessage(const Subscription& sub, const Message& msg) override;
  bool DeliverToLink(const Message& msg, const std::string_view* queues,
                     std::size_t queue_count) override;

  void OnTimer(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  void SendLameDuckInfo() override {}
  void DropSubscriptions() override;
  void Describe(ConnInfo* info, bool with_subs) const override;

  // --- For the registry ---
  bool outbound() const { return outbound_; }
  const std::string& name() const { return name_; }  // the other cluster's gateway name
  const GatewayPeer& peer() const { return peer_; }
  // Outbound: answers to `_GR_.<hash>.` subjects of that cluster go out here (an internal
  // subscription per account, so every shard routes them to this link).
  void SubscribeReplies(const std::string& cluster_hash, uint16_t accounts);

 private:
  // RouteHandler
  void OnRouteInfo(std::string_view json) override;
  void OnRouteConnect(std::string_view json) override;
  void OnRouteErr(std::string_view text) override;
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight, std::string_view origin) override;
  void OnRouteUnsub(std::string_view account, std::string_view subject,
                    std::string_view queue) override;
  void OnRouteMsg(const RoutedMsg& msg) override;
  void OnRouteParseError(std::string_view what) override;

  std::size_t FeedInput(const char* data, std::size_t len) override;
  void OnLinkClosing() override;

  int FindAccount(std::string_view name) const;
  // Optimistic mode: a `>` subscription per account the peer is interested in, so that
  // every message comes to this link (DeliverToLink leaves out what the peer suppressed).
  void SubscribeAll(uint16_t account);
  void UnsubscribeAll(uint16_t account);
  void OnRouteAccountInterest(std::string_view account, bool interest) override;

  GatewayRegistry* registry_;
  bool outbound_;
  std::string name_;
  RouteUrl url_;
  RouteParser parser_;
  GatewayPeer peer_;
  GatewayOptimism optimism_;  // outbound, towards a peer without gateway_iom
  bool info_received_ = false;
  bool connect_received_ = false;
  int64_t handshake_deadline_ns_ = 0;
};

}  // namespace tern::core
