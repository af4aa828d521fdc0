#pragma once
// LeafService: this node's leafnode links, a loop service on shard 0 (where every link
// lives). It dials each `remotes` entry (one link per entry, its URLs in turn, again
// after the reconnect delay, forever; 30 s after the hub reported a loop), makes the links
// the leafnode port accepts, and keeps what each link must be told of the node's interest,
// per account, as nats-server 2.9 decides it:
//   - a leafnode of ours (kLeaf) hears of everything in its account: local clients and
//     the server's own subscriptions, route-learned interest, and what other leafnode links
//     asked for, but not its own;
//   - our hub (kHub) hears of local interest only: clients, the server's own subscriptions
//     and our leafnodes' (the other nodes of our cluster have their own links to the hub).
// Plain subjects get LS+ on the first holder and LS- on the last; a queue group its total
// weight on every change. A link starts with all of it, and its account's loop detection
// subject ($LDS.<random>): a link that hears its own node's subject back closes a cycle.
// Ownership: shard 0's thread.
#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cluster_service.h"
#include "core/dialler.h"
#include "core/interest.h"
#include "core/leaf.h"
#include "core/loop_service.h"

namespace tern::core {

class Shard;

class LeafService final : public LoopService,
                          public LeafRegistry,
                          public InterestExport,
                          public RouteLeafUrls {
 public:
  // `leaf_port`: the bound leafnode port (0 without one). `cluster`: the node's routes
  // (null without).
  LeafService(Shard* shard, int leaf_port, ClusterService* cluster);
  ~LeafService() override;

  // Makes the connection for a socket the leafnode listener accepted.
  Connection* MakeAccepted(ShardPort* shard, uint64_t id, std::string ip, int port);

  void Turn(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  // LeafRegistry
  std::string HubInfoLine(const LeafConnection& link, HubInfo which) const override;
  void HubLeafUrls(const LeafConnection& link, const std::vector<std::string>& urls) override;
  std::string LeafClusterName() const override;
  void RegisterLeaf(LeafConnection* link) override;
  const std::string& LoopSubject(uint16_t account) const override;
  void LeafClosed(LeafConnection* link, int64_t delay_ns) override;

  // RouteLeafUrls
  std::vector<std::string> OwnLeafUrls() const override;
  void PeerLeafUrlsChanged() override;

  // InterestExport
  void OnNodeInterest(uint16_t account, std::string_view subject, std::string_view queue,
                      int32_t delta, const Connection* source, std::string_view origin) override;

  // Monitoring, on shard 0's thread: every registered link.
  template <typename Fn>
  void ForEachLeaf(Fn&& fn) const {
    for (const LeafConnection* link : links_) fn(*link);
  }
  std::size_t leaf_count() const { return links_.size(); }

 private:
  // One `remotes` entry's dialling state.
  struct Remote {
    std::vector<RouteUrl> learned;  // leafnode URLs the hub named beyond the configured ones
    std::size_t next_url = 0;       // into the configured URLs, then the learned ones
    int64_t next_at = 1;            // when to dial next (0 = a link is up or being made)
    bool in_flight = false;
  };
  // One subject (and queue group) of one account: who holds it, by where they are.
  struct KeyInterest {
    int64_t local = 0;   // clients and the server's own, on any shard
    int64_t routes = 0;  // route-learned
    int64_t leafs = 0;   // asked for by our leafnodes (kLeaf links)
    int64_t hubs = 0;    // asked for by our hubs (kHub links)
    absl::InlinedVector<std::pair<const Connection*, int64_t>, 1> by_link;
    // Of `routes`: what the routes said came from a leafnode cluster, by that cluster.
    std::vector<std::pair<std::string, int64_t>> route_origins;
    bool Empty() const { return local == 0 && routes == 0 && leafs == 0 && hubs == 0; }
  };
  // What `link` is to be told for this key (0 = nothing).
  static int64_t ValueFor(const LeafConnection& link, const KeyInterest& interest,
                          std::string_view subject);
  static std::string SubLine(std::string_view key, int64_t value, bool queue);
  void OnDialed(const Dialler::Result& result);
  // A remote's URLs to dial in turn: the configured ones, then those its hub named.
  std::size_t UrlCount(std::size_t remote) const;
  const RouteUrl& UrlAt(std::size_t remote, std::size_t index) const;

  Shard* shard_;
  int leaf_port_;
  ClusterService* cluster_;
  std::vector<Remote> remotes_;
  std::vector<LeafConnection*> links_;  // registered, in registration order
  // By account, then "subject[ queue]".
  std::vector<absl::flat_hash_map<std::string, KeyInterest>> interest_;
  std::vector<std::string> loop_subjects_;  // by account
  // Last: destroyed first, so no result is posted for a service that is gone.
  std::unique_ptr<Dialler> dialler_;
};

}  // namespace tern::core
