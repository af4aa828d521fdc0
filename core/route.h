#pragma once
// RouteConnection: one route to another node of the cluster (nats-server's route protocol,
// 2.9), a Connection kind and a link: the shard hands it each message once, with the
// queue groups picked on it (DeliverToLink), and it encodes one RMSG/HMSG per message.
// It keeps the other node's interest as subscriptions of its own (RS+/RS-, keyed
// "account subject[ queue]"), so routing treats the node like a subscriber. The handshake:
// the acceptor sends INFO at once, the dialler CONNECT then INFO; the route registers with
// the cluster (RouteRegistry) on the peer's INFO. Ownership: shard 0 (every route lives
// there; see docs/CLUSTERING.md), for the connection's whole life.
#include <absl/container/flat_hash_map.h>
#include <absl/container/node_hash_set.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/permissions.h"
#include "core/cluster_options.h"
#include "core/congestion.h"
#include "core/connection.h"
#include "core/link_connection.h"
#include "core/outbound.h"
#include "core/route_parser.h"
#include "core/shard_port.h"
#include "core/subscription.h"
#include "core/tls/tls_session.h"

namespace tern::core {

class RouteConnection;

// The account's name on the wire ($G for the global account).
const std::string& RouteAccountName(const auth::Accounts& accounts, uint16_t account);

// What a route learned of its peer from the peer's first INFO.
struct RoutePeer {
  std::string server_id;
  std::string server_name;
  std::string cluster;
  bool cluster_dynamic = false;
  std::string route_url;  // nats-route://host:port/ (its `ip`, or its address and port)
  std::vector<std::string> connect_urls;   // its client URLs (host:port)
  std::vector<std::string> leafnode_urls;  // its leafnode port (host:port), if it has one
  bool headers = true;
  // It takes LS+/LMSG naming the leafnode cluster of interest and messages (nats-server's
  // leafnode origin cluster, "lnoc").
  bool lnoc = false;
};

// The cluster's side of its routes (ClusterService). Called on shard 0's thread.
class RouteRegistry {
 public:
  // The INFO line this node sends on a new route (and, in lame duck mode, again with ldm).
  virtual std::string RouteInfoLine(bool lame_duck = false) const = 0;
  // This node's cluster name, and whether it is the random one (no cluster.name).
  virtual const std::string& cluster_name() const = 0;
  virtual bool cluster_dynamic() const = 0;
  // The peer's first INFO arrived: true if the route is registered (it then gets the
  // node's interest); false for a route to this node itself or a second route to a node
  // already connected, which the caller closes without an error.
  virtual bool RegisterRoute(RouteConnection* route) = 0;
  // A later INFO about another server (gossip): connect to it if it is new.
  virtual void LearnServer(const RoutePeer& server) = 0;
  // A gateway gossip INFO from a peer (another cluster's gateway, at `urls`).
  virtual void LearnGatewayFromRoute(const std::string& name,
                                     const std::vector<std::string>& urls) = 0;
  // A registered peer's client URLs changed (a new INFO, or lame duck mode: none).
  virtual void PeerUrlsChanged() = 0;
  // The route is closing: forget it (and redial if it was an explicit route).
  virtual void RouteClosed(RouteConnection* route) = 0;

 protected:
  ~RouteRegistry() = default;
};

// The listener id of the cluster port, and the factory for what it accepts.
inline constexpr uint32_t kRouteListener = 1;

class RouteConnection final : public LinkConnection {
 public:
  // `dialled` is set for a route this node connected (to `url`, explicit or not).
  RouteConnection(ShardPort* shard, RouteRegistry* registry, uint64_t id, std::string ip, int port,
                  const RouteUrl* dialled, bool explicit_route);
  ~RouteConnection() override;

  void Start(io::IoConn* io, bool over_connection_limit) override;

  bool DeliverMessage(const Subscription& sub, const Message& msg) override;
  bool DeliverToLink(const Message& msg, const std::string_view* queues,
                     std::size_t queue_count) override;

  void OnTimer(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  void SendLameDuckInfo() override;
  void DropSubscriptions() override;
  void Describe(ConnInfo* info, bool with_subs) const override;

  // --- For the registry ---
  const RoutePeer& peer() const { return peer_; }
  bool dialled() const { return dialled_; }
  bool explicit_route() const { return explicit_; }
  const RouteUrl& url() const { return url_; }

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

  // The handshake (after TLS's, with TLS): the dialler's CONNECT, then INFO.
  void StartProtocol();
  // SocketConnection
  void OnTlsEstablished() override { StartProtocol(); }
  std::size_t FeedInput(const char* data, std::size_t len) override;
  void OnLinkClosing() override;
  // Ops a peer may send only after a CONNECT when route authorization is on.
  bool Authorized();
  int FindAccount(std::string_view name) const;

  RouteRegistry* registry_;
  bool dialled_;
  bool explicit_;
  RouteUrl url_;
  RouteParser parser_;
  int64_t tls_deadline_ns_ = 0;    // cluster tls {}: the handshake's deadline
  bool protocol_started_ = false;  // CONNECT/INFO sent (at once without TLS)
  RoutePeer peer_;
  bool info_received_ = false;
  bool connect_received_ = false;
  absl::node_hash_set<std::string> origins_;  // the leafnode clusters its subscriptions name
  std::unique_ptr<auth::PermissionChecker> export_check_;  // cluster permissions' export

  int64_t auth_deadline_ns_ = 0;
};

}  // namespace tern::core
