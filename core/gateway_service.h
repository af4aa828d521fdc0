#pragma once
// GatewayService: this node's gateways, a loop service on shard 0 (where every link lives).
// It dials one outbound link to every other cluster (the configured gateways, and those
// an inbound link or a gossip INFO names), redialled 1 s after it drops; accepts inbound
// links; and keeps the cluster's interest as this node sees it (its clients, the routes',
// the leafnodes') per account, which it tells every inbound link in nats-server 2.9's
// interest-only mode: at registration the queue groups of every account (RS+ acc subj q 1),
// then per account INFO gateway_cmd 2, every plain subject, INFO gateway_cmd 3; after that
// RS+ on a subject's first holder and RS- after its last. Answers that come back with this
// cluster's `_GR_.` prefix are delivered here, or passed to the node of the cluster whose
// hash they name. Ownership: shard 0's thread.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cluster_service.h"
#include "core/dialler.h"
#include "core/gateway.h"
#include "core/interest.h"
#include "core/loop_service.h"

namespace tern::core {

class Shard;
class ClusterService;

// nats-server's 6-character hash of a gateway name or server id (`_GR_.` subjects).
std::string GatewayHash(std::string_view text);

class GatewayService final : public LoopService,
                             public GatewayRegistry,
                             public InterestExport,
                             public RouteGatewayGossip {
 public:
  // `gateway_port`: the bound gateway port. `cluster`: the node's routes (null without).
  GatewayService(Shard* shard, int gateway_port, ClusterService* cluster);
  ~GatewayService() override;

  Connection* MakeAccepted(ShardPort* shard, uint64_t id, std::string ip, int port);

  void Turn(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  // GatewayRegistry
  std::string GatewayInfoLine() const override;
  bool RegisterOutbound(GatewayConnection* link) override;
  void RegisterInbound(GatewayConnection* link) override;
  void LearnGateway(const std::string& name, const std::vector<std::string>& urls) override;

  // RouteGatewayGossip
  void LearnGatewayFromRoute(const std::string& name,
                             const std::vector<std::string>& urls) override;
  std::string GatewayGossipLines() const override;
  void OnGatewayReply(GatewayConnection* link, const Message& msg) override;
  const std::string& ReplyPrefix() const override { return reply_prefix_; }
  void GatewayClosed(GatewayConnection* link) override;

  // InterestExport
  void OnNodeInterest(uint16_t account, std::string_view subject, std::string_view queue,
                      int32_t delta, const Connection* source, std::string_view origin) override;

  // Monitoring, on shard 0's thread.
  template <typename Fn>
  void ForEachGateway(Fn&& fn) const {
    for (const auto& [name, link] : outbound_) fn(*link);
    for (const GatewayConnection* link : inbound_) fn(*link);
  }
  std::size_t outbound_count() const { return outbound_.size(); }
  std::size_t inbound_count() const { return inbound_.size(); }

 private:
  // One other cluster this node keeps an outbound link to.
  struct Remote {
    std::string name;
    std::vector<RouteUrl> urls;
    std::size_t next_url = 0;
    int64_t next_at = 1;  // when to dial next (0 = a link is up or being made)
    bool in_flight = false;
  };
  void OnDialed(const Dialler::Result& result);
  // A gateway to dial (configured elsewhere in the cluster, or learned): false if known.
  bool AddRemote(const std::string& name, const std::vector<std::string>& urls);
  std::string GossipLine(const std::string& name, const std::vector<RouteUrl>& urls) const;
  std::string InterestLine(uint16_t account, std::string_view key, bool sub) const;
  uint16_t account_count() const;

  Shard* shard_;
  int gateway_port_;
  ClusterService* cluster_;
  std::string reply_prefix_;  // "_GR_.<cluster hash>.<server hash>."
  std::string server_hash_;
  std::vector<Remote> remotes_;
  absl::flat_hash_map<std::string, GatewayConnection*> outbound_;  // by gateway name
  std::vector<GatewayConnection*> inbound_;
  // By account, then "subject[ queue]": how many hold it on this node (and its routes').
  std::vector<absl::flat_hash_map<std::string, int64_t>> interest_;
  std::unique_ptr<Dialler> dialler_;  // last: destroyed first
};

}  // namespace tern::core
