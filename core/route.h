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
#include "core/outbound.h"
#include "core/route_parser.h"
#include "core/shard_port.h"
#include "core/socket_connection.h"
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
  std::vector<std::string> connect_urls;  // its client URLs (host:port)
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
  // A registered peer's client URLs changed (a new INFO, or lame duck mode: none).
  virtual void PeerUrlsChanged() = 0;
  // The route is closing: forget it (and redial if it was an explicit route).
  virtual void RouteClosed(RouteConnection* route) = 0;

 protected:
  ~RouteRegistry() = default;
};

// The listener id of the cluster port, and the factory for what it accepts.
inline constexpr uint32_t kRouteListener = 1;

class RouteConnection final : public SocketConnection, public RouteHandler {
 public:
  // `dialled` is set for a route this node connected (to `url`, explicit or not).
  RouteConnection(ShardPort* shard, RouteRegistry* registry, uint64_t id, std::string ip, int port,
                  const RouteUrl* dialled, bool explicit_route);
  ~RouteConnection() override;

  void Start(io::IoConn* io, bool over_connection_limit) override;
  void OnBytes(const char* data, std::size_t len) override;
  void OnPeerClosed(int err) override;

  bool DeliverMessage(const Subscription& sub, const Message& msg) override;
  bool DeliverToLink(const Message& msg, const std::string_view* queues,
                     std::size_t queue_count) override;
  void SendNoResponders(std::string_view, std::string_view) override {}
  void Flush() override;

  void ReleaseHolds(uint64_t) override {}
  bool has_holds() const override { return false; }
  bool StillCongesting(int64_t now_ns) override;
  void OnTimer(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  void SendLameDuckInfo() override;
  void Close(CloseReason reason, bool flush) override;
  bool WantsIoClose() const override;
  void Reauthorize() override {}
  void DropSubscriptions() override;
  void RemoveSubscription(const std::string&) override {}
  void Describe(ConnInfo* info, bool with_subs) const override;

  // --- For the registry ---
  const RoutePeer& peer() const { return peer_; }
  bool registered() const { return registered_; }
  bool dialled() const { return dialled_; }
  bool explicit_route() const { return explicit_; }
  const RouteUrl& url() const { return url_; }
  // Protocol bytes from the node (RS+/RS-, a gossip INFO).
  void SendProto(std::string_view line);
  // Monitoring: what /routez shows of it.
  uint64_t in_msgs() const { return in_msgs_; }
  uint64_t out_msgs() const { return out_msgs_; }
  uint64_t in_bytes() const { return in_bytes_; }
  uint64_t out_bytes() const { return out_bytes_; }
  uint64_t dropped_msgs() const { return dropped_msgs_; }
  std::size_t subscription_count() const { return subs_.size(); }
  const std::string& ip() const { return ip_; }
  int port() const { return port_; }

 private:
  // RouteHandler
  void OnRouteInfo(std::string_view json) override;
  void OnRouteConnect(std::string_view json) override;
  void OnRoutePing() override;
  void OnRoutePong() override;
  void OnRouteErr(std::string_view text) override;
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight, std::string_view origin) override;
  void OnRouteUnsub(std::string_view account, std::string_view subject,
                    std::string_view queue) override;
  void OnRouteMsg(const RoutedMsg& msg) override;
  void OnRouteParseError(std::string_view what) override;
  bool RoutePaused() const override { return closing_ || stalled_; }

  // The handshake (after TLS's, with TLS): the dialler's CONNECT, then INFO.
  void StartProtocol();
  // SocketConnection
  void OnTlsEstablished() override { StartProtocol(); }
  std::size_t FeedInput(const char* data, std::size_t len) override;
  std::string LogLabel() const override { return Label(); }
  // Ops a peer may send only after a CONNECT when route authorization is on.
  bool Authorized();
  void SendErrAndClose(std::string_view text, CloseReason reason);
  void ArmTimer();
  int FindAccount(std::string_view name) const;
  std::string Label() const;

  RouteRegistry* registry_;
  std::string ip_;
  int port_;
  bool dialled_;
  bool explicit_;
  RouteUrl url_;
  RouteParser parser_;
  int64_t tls_deadline_ns_ = 0;    // cluster tls {}: the handshake's deadline
  bool protocol_started_ = false;  // CONNECT/INFO sent (at once without TLS)
  RoutePeer peer_;
  bool info_received_ = false;
  bool connect_received_ = false;
  bool registered_ = false;
  absl::flat_hash_map<std::string, std::unique_ptr<Subscription>> subs_;  // by RS+ key
  absl::node_hash_set<std::string> origins_;  // the leafnode clusters its subscriptions name
  std::unique_ptr<auth::PermissionChecker> export_check_;  // cluster permissions' export

  int64_t start_mono_ns_ = 0;
  int64_t start_unix_ns_ = 0;
  int64_t auth_deadline_ns_ = 0;
  int64_t next_ping_ns_ = 0;
  int64_t last_in_ns_ = 0;
  int pings_out_ = 0;
  int64_t ping_sent_ns_ = 0;
  int64_t rtt_ns_ = 0;
  CongestionWatch congestion_;
  bool close_after_flush_ = false;
  int64_t close_deadline_ns_ = 0;
  CloseReason close_reason_ = CloseReason::kClientClosed;
  std::string line_;  // the RMSG control line being built (reused)
  uint64_t in_msgs_ = 0, in_bytes_ = 0, out_msgs_ = 0, out_bytes_ = 0, dropped_msgs_ = 0;
};

}  // namespace tern::core
