#pragma once
// ClusterService: this node's side of the cluster, a loop service on shard 0 (where every
// route lives). It keeps the registry of routes by the peer's server id (the first route
// registered wins; a second one to the same node is closed, as nats-server does), dials
// the explicit routes (retried forever, 1 s apart) and the servers peers gossip about
// (implicit routes, connect_retries extra attempts), forwards a new peer's INFO to the
// other routes, and sums the node's interest over all shards into what routes are told:
// RS+ when a subject gains its first subscriber, RS- when it loses its last, a queue
// group's weight on every change; a new route gets all of it before any message. A
// Dialler makes the blocking connects and each socket is posted back to shard 0.
// Ownership: shard 0's thread.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/auth/permissions.h"
#include "core/dialler.h"
#include "core/interest.h"
#include "core/loop_service.h"
#include "core/route.h"

namespace tern::core {

class Shard;

// The gateway side of gossip over routes (GatewayService): gateways a peer names, and the
// INFO lines that tell a new route of this node's. Called on shard 0's thread.
class RouteGatewayGossip {
 public:
  virtual void LearnGatewayFromRoute(const std::string& name,
                                     const std::vector<std::string>& urls) = 0;
  virtual std::string GatewayGossipLines() const = 0;

 protected:
  ~RouteGatewayGossip() = default;
};

// The leafnode side of what routes carry (LeafService): this node's leafnode URLs for the
// route INFO, and word that the peers' changed (a hub tells its leafnodes every node's, as
// their reconnect list). Called on shard 0's thread.
class RouteLeafUrls {
 public:
  virtual std::vector<std::string> OwnLeafUrls() const = 0;
  virtual void PeerLeafUrlsChanged() = 0;

 protected:
  ~RouteLeafUrls() = default;
};

class ClusterService final : public LoopService, public RouteRegistry, public InterestExport {
 public:
  // `cluster_port` is the bound cluster port (what peers are told).
  ClusterService(Shard* shard, int cluster_port);
  ~ClusterService() override;

  // Makes the connection for a socket the cluster listener accepted.
  Connection* MakeAccepted(ShardPort* shard, uint64_t id, std::string ip, int port);

  void Turn(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  // RouteRegistry
  std::string RouteInfoLine(bool lame_duck) const override;
  const std::string& cluster_name() const override { return name_; }
  bool cluster_dynamic() const override { return dynamic_; }
  bool RegisterRoute(RouteConnection* route) override;
  void LearnServer(const RoutePeer& server) override;
  void LearnGatewayFromRoute(const std::string& name,
                             const std::vector<std::string>& urls) override;
  void RouteClosed(RouteConnection* route) override;
  void PeerUrlsChanged() override;

  // InterestExport
  void OnNodeInterest(uint16_t account, std::string_view subject, std::string_view queue,
                      int32_t delta, const Connection* source, std::string_view origin) override;

  // Gateways of this node, told to routes and learned from them (set once, at start).
  void SetGatewayGossip(RouteGatewayGossip* gossip) { gateway_gossip_ = gossip; }
  void SetLeafUrls(RouteLeafUrls* leaf_urls) { leaf_urls_ = leaf_urls; }
  // The leafnode URLs of the other nodes (from their route INFOs).
  std::vector<std::string> PeerLeafUrls() const;
  // Protocol lines to every registered route but `except`.
  void Broadcast(const std::string& line, const RouteConnection* except = nullptr);

  // Monitoring, on shard 0's thread: every registered route.
  template <typename Fn>
  void ForEachRoute(Fn&& fn) const {
    for (const auto& [id, route] : registered_) fn(*route);
  }
  template <typename Fn>
  void ForEachRoute(Fn&& fn) {
    for (auto& [id, route] : registered_) fn(*route);
  }
  std::size_t route_count() const { return registered_.size(); }
  // The client URLs clients are told in INFO `connect_urls` (empty with no_advertise or
  // without another node), as /varz shows them.
  const std::vector<std::string>& client_connect_urls() const { return client_connect_urls_; }

 private:
  // A route this node dials: an explicit one (from the config) or one learned by gossip.
  struct Dial {
    std::string text;  // as configured, for logs
    RouteUrl url;
    bool explicit_route = true;
    int attempts_left = -1;  // implicit routes: attempts still allowed; -1 = forever
    int64_t next_at = 0;     // when to dial next (0 = not scheduled)
    bool in_flight = false;  // a connect or a route on it is alive
    std::string server_id;   // the node at the URL, once known
  };
  struct NodeInterest {
    int64_t count = 0;
    bool queue = false;
    // The leafnode cluster of the holder that made it known (as nats-server, whose LS+
    // names the subscription that went 0 -> 1); empty for the node's own.
    std::string origin;
  };

  void StartDial(std::size_t index);
  void OnDialed(const Dialler::Result& result);
  // A change of interest to every route: `lnoc_line` to those that take origin clusters.
  void BroadcastInterest(const std::string& line, const std::string& lnoc_line);
  // RS+, or LS+ naming the origin cluster to a route that takes it (`lnoc`).
  static std::string SubLine(const std::string& key, const NodeInterest& interest, bool lnoc);
  static std::string UnsubLine(const std::string& key, const NodeInterest& interest, bool lnoc);
  std::string GossipInfo(const RoutePeer& peer) const;
  Dial* DialFor(const RouteConnection& route);
  // A registered route reaches the node at this URL (by the address it told us).
  bool Connected(const RouteUrl& url) const;
  std::vector<std::string> ClientUrls() const;
  // Sends every shard the client URLs of the cluster (own first, then the peers'), when
  // they changed.
  void PublishConnectUrls(bool shards_running = true);

  Shard* shard_;
  int cluster_port_;
  std::string name_;
  bool dynamic_ = false;
  std::vector<Dial> dials_;
  absl::flat_hash_map<std::string, RouteConnection*> registered_;  // by peer server id
  absl::flat_hash_map<std::string, NodeInterest> interest_;        // by "account subject[ queue]"
  std::minstd_rand rng_;
  std::string connect_urls_;                               // what the shards were last sent
  std::vector<std::string> client_connect_urls_;           // the same, as a list
  std::unique_ptr<auth::PermissionChecker> import_check_;  // cluster permissions' import

  RouteGatewayGossip* gateway_gossip_ = nullptr;
  RouteLeafUrls* leaf_urls_ = nullptr;

  // Last: destroyed first, so no result is posted for a service that is gone.
  std::unique_ptr<Dialler> dialler_;
};

}  // namespace tern::core
