#include "core/cluster_service.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/log.h"
#include "core/shard.h"
#include "io/socket.h"

namespace tern::core {
namespace {

constexpr int64_t kRedialNs = 1'000'000'000;

// A random name for a cluster without one (nats-server uses a nuid and marks it dynamic).
std::string RandomClusterName(std::minstd_rand* rng) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string name;
  for (int i = 0; i < 22; ++i) name.push_back(kAlphabet[(*rng)() % 62]);
  return name;
}

bool SameUrl(const RouteUrl& a, const RouteUrl& b) { return a.host == b.host && a.port == b.port; }

}  // namespace

ClusterService::ClusterService(Shard* shard, int cluster_port)
    : shard_(shard), cluster_port_(cluster_port), rng_(std::random_device{}()) {
  const ClusterOptions& cluster = shard->options().cluster;
  name_ = cluster.name;
  if (name_.empty()) {
    name_ = RandomClusterName(&rng_);
    dynamic_ = true;
  }
  if (cluster.permissions != nullptr && cluster.permissions->publish) {
    import_check_ = std::make_unique<auth::PermissionChecker>(cluster.permissions);
  }
  for (const std::string& text : cluster.routes) {
    Dial dial;
    dial.text = text;
    ParseRouteUrl(text, &dial.url);  // checked when the options were read
    dial.next_at = 1;                // at once
    dials_.push_back(std::move(dial));
  }
  dialler_ = std::make_unique<Dialler>([this](const Dialler::Result& result) {
    shard_->Post([this, result] { OnDialed(result); });
  });
  // The cluster's name, for clients' INFO. Before the shards run: set directly.
  PublishConnectUrls(/*shards_running=*/false);
}

ClusterService::~ClusterService() = default;

Connection* ClusterService::MakeAccepted(ShardPort* shard, uint64_t id, std::string ip, int port) {
  return new RouteConnection(shard, this, id, std::move(ip), port, nullptr, false);
}

// ---------------------------------------------------------------- dialling

void ClusterService::Turn(int64_t now_ns) {
  for (std::size_t i = 0; i < dials_.size(); ++i) {
    Dial& dial = dials_[i];
    if (dial.in_flight || dial.next_at == 0 || now_ns < dial.next_at) continue;
    // The node at this URL is connected already (it dialled us) or is this node itself.
    if ((!dial.server_id.empty() &&
         (dial.server_id == shard_->context().server_id || registered_.contains(dial.server_id))) ||
        Connected(dial.url)) {
      dial.next_at = now_ns + kRedialNs;
      continue;
    }
    StartDial(i);
  }
}

int64_t ClusterService::NextDeadline() const {
  int64_t next = 0;
  for (const Dial& dial : dials_) {
    if (dial.in_flight || dial.next_at == 0) continue;
    if (next == 0 || dial.next_at < next) next = dial.next_at;
  }
  return next;
}

void ClusterService::StartDial(std::size_t index) {
  Dial& dial = dials_[index];
  dial.in_flight = true;
  dial.next_at = 0;
  if (dial.attempts_left > 0) --dial.attempts_left;
  dialler_->Dial(index, dial.url.host, dial.url.port);
}

void ClusterService::OnDialed(const Dialler::Result& result) {
  Dial& dial = dials_[result.tag];
  if (result.fd < 0) {
    dial.in_flight = false;
    LOG_DEBUG("Error trying to connect to route (attempt %s): %s", dial.text.c_str(),
              result.error.c_str());
    if (dial.explicit_route || dial.attempts_left != 0) {
      dial.next_at = shard_->now_ns() + kRedialNs;
    }
    return;
  }
  const RouteUrl url = dial.url;
  const bool explicit_route = dial.explicit_route;
  shard_->AdoptConnected(result.fd, [this, url, explicit_route](ShardPort* shard, uint64_t id,
                                                                std::string ip, int port) {
    return new RouteConnection(shard, this, id, std::move(ip), port, &url, explicit_route);
  });
}

bool ClusterService::Connected(const RouteUrl& url) const {
  for (const auto& [id, route] : registered_) {
    RouteUrl peer;
    if (ParseRouteUrl(route->peer().route_url, &peer) && SameUrl(peer, url)) return true;
  }
  return false;
}

ClusterService::Dial* ClusterService::DialFor(const RouteConnection& route) {
  if (!route.dialled()) return nullptr;
  for (Dial& dial : dials_) {
    if (SameUrl(dial.url, route.url())) return &dial;
  }
  return nullptr;
}

// ---------------------------------------------------------------- the registry

std::vector<std::string> ClusterService::ClientUrls() const {
  const ServerOptions& o = shard_->options();
  const int port = shard_->context().bound_port;
  std::vector<std::string> urls;
  if (!o.client_advertise.empty()) {
    std::string host;
    int advertised = port;
    ParseAdvertise(o.client_advertise, port, &host, &advertised);
    urls.push_back(host + ":" + std::to_string(advertised));
    return urls;
  }
  if (!o.host.empty() && o.host != "0.0.0.0" && o.host != "::") {
    urls.push_back(o.host + ":" + std::to_string(port));
    return urls;
  }
  // Listening on every address: tell clients each global unicast one, IPv4 and IPv6 (as
  // nats-server: not loopback, not link-local).
  ifaddrs* addresses = nullptr;
  if (getifaddrs(&addresses) == 0) {
    for (ifaddrs* a = addresses; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
      char text[INET6_ADDRSTRLEN];
      if (a->ifa_addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
        if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) {
          urls.push_back(std::string(text) + ":" + std::to_string(port));
        }
      } else if (a->ifa_addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
        const in6_addr& ip = in6->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&ip) || IN6_IS_ADDR_LINKLOCAL(&ip) || IN6_IS_ADDR_MULTICAST(&ip) ||
            IN6_IS_ADDR_UNSPECIFIED(&ip) || IN6_IS_ADDR_V4MAPPED(&ip)) {
          continue;
        }
        if (inet_ntop(AF_INET6, &ip, text, sizeof text) != nullptr) {
          urls.push_back("[" + std::string(text) + "]:" + std::to_string(port));
        }
      }
    }
    freeifaddrs(addresses);
  }
  if (urls.empty()) urls.push_back("127.0.0.1:" + std::to_string(port));
  return urls;
}

std::string ClusterService::RouteInfoLine(bool lame_duck) const {
  const ServerOptions& o = shard_->options();
  const ClusterOptions& cluster = o.cluster;
  std::string host = cluster.host.empty() ? "0.0.0.0" : cluster.host;
  int port = cluster_port_;
  if (!cluster.advertise.empty()) ParseAdvertise(cluster.advertise, cluster_port_, &host, &port);
  nlohmann::ordered_json info;
  info["server_id"] = shard_->context().server_id;
  info["server_name"] = shard_->context().server_name;
  info["version"] = kNatsProtocolVersion;
  info["proto"] = 2;
  info["go"] = "tern " TERN_VERSION;
  info["host"] = host;
  info["port"] = port;
  info["headers"] = true;
  if (!cluster.user.empty()) info["auth_required"] = true;
  if (cluster.tls_context != nullptr) {
    info["tls_required"] = true;
    if (cluster.tls.verify) info["tls_verify"] = true;
  }
  info["max_payload"] = o.max_payload;
  if (!cluster.advertise.empty()) {
    info["ip"] = "nats-route://" + host + ":" + std::to_string(port) + "/";
  }
  if (cluster.permissions != nullptr) {
    auto side = [](const std::optional<auth::SubjectPermission>& p) {
      nlohmann::ordered_json j = nlohmann::ordered_json::object();
      if (p && p->allow) j["allow"] = *p->allow;
      if (p && !p->deny.empty()) j["deny"] = p->deny;
      return j;
    };
    if (cluster.permissions->publish) info["import"] = side(cluster.permissions->publish);
    if (cluster.permissions->subscribe) info["export"] = side(cluster.permissions->subscribe);
  }
  info["cluster"] = name_;
  if (dynamic_) info["cluster_dynamic"] = true;
  info["lnoc"] = true;  // LS+/LMSG with the leafnode cluster of interest and messages
  if (!cluster.no_advertise) info["connect_urls"] = ClientUrls();
  if (leaf_urls_ != nullptr) {
    if (std::vector<std::string> urls = leaf_urls_->OwnLeafUrls(); !urls.empty()) {
      info["leafnode_urls"] = urls;
    }
  }
  if (lame_duck) info["ldm"] = true;
  return "INFO " + info.dump() + "\r\n";
}

void ClusterService::PeerUrlsChanged() { PublishConnectUrls(); }

void ClusterService::PublishConnectUrls(bool shards_running) {
  std::string fragment = "\"cluster\":" + nlohmann::json(name_).dump() + ",";
  // In lame duck mode clients are told of the other nodes only (nats-server's
  // sendLDMToClients), so that they move there.
  std::string lame_duck = fragment;
  if (!shard_->options().cluster.no_advertise) {
    std::vector<std::string> urls = ClientUrls();
    const std::size_t own = urls.size();
    for (const auto& [id, route] : registered_) {
      for (const std::string& url : route->peer().connect_urls) {
        if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
      }
    }
    // Without another node to name, clients get no connect_urls (as nats-server).
    if (urls.size() > own) {
      fragment += "\"connect_urls\":" + nlohmann::json(urls).dump() + ",";
      const std::vector<std::string> others(urls.begin() + static_cast<std::ptrdiff_t>(own),
                                            urls.end());
      lame_duck += "\"connect_urls\":" + nlohmann::json(others).dump() + ",";
      client_connect_urls_ = std::move(urls);
    } else {
      client_connect_urls_.clear();
    }
  }
  if (fragment == connect_urls_) return;
  connect_urls_ = fragment;
  for (Shard* shard : shard_->context().shards) {
    if (shards_running) {
      shard->Post([shard, fragment, lame_duck, name = name_] {
        shard->SetClusterInfo(fragment, lame_duck, name);
      });
    } else {
      shard->SetClusterInfo(fragment, lame_duck, name_);
    }
  }
}

std::string ClusterService::GossipInfo(const RoutePeer& peer) const {
  nlohmann::ordered_json info;
  info["server_id"] = peer.server_id;
  info["server_name"] = peer.server_name;
  info["version"] = kNatsProtocolVersion;
  info["proto"] = 2;
  info["headers"] = peer.headers;
  info["ip"] = peer.route_url;
  info["cluster"] = name_;
  if (!shard_->options().cluster.user.empty()) info["auth_required"] = true;
  if (!peer.connect_urls.empty()) info["connect_urls"] = peer.connect_urls;
  return "INFO " + info.dump() + "\r\n";
}

bool ClusterService::RegisterRoute(RouteConnection* route) {
  const RoutePeer& peer = route->peer();
  Dial* dial = DialFor(*route);
  if (dial != nullptr) dial->server_id = peer.server_id;
  if (peer.server_id == shard_->context().server_id) {
    LOG_DEBUG("Detected route to self, ignoring \"%s\"", peer.route_url.c_str());
    return false;
  }
  if (registered_.contains(peer.server_id)) {
    LOG_DEBUG("Detected duplicate route to %s, closing it", peer.server_id.c_str());
    return false;
  }
  if (dynamic_ && peer.cluster != name_ && !peer.cluster.empty() &&
      (!peer.cluster_dynamic || peer.cluster > name_)) {
    LOG_INFO("Cluster name updated to %s", peer.cluster.c_str());
    name_ = peer.cluster;
    PublishConnectUrls();
  }
  // Tell the others of the newcomer before it is in the registry (not to itself).
  const std::string gossip = GossipInfo(peer);
  Broadcast(gossip);
  registered_.emplace(peer.server_id, route);
  LOG_INFO("%s:%d - rid:%lu - Route connection to %s (%s) registered", route->ip().c_str(),
           route->port(), static_cast<unsigned long>(route->id()), peer.server_name.c_str(),
           peer.server_id.c_str());
  // The node's whole interest, before anything else goes out on it.
  std::string flood;
  for (const auto& [key, interest] : interest_) flood += SubLine(key, interest, peer.lnoc);
  if (!flood.empty()) route->SendProto(flood);
  if (gateway_gossip_ != nullptr) route->SendProto(gateway_gossip_->GatewayGossipLines());
  PublishConnectUrls();
  if (leaf_urls_ != nullptr && !peer.leafnode_urls.empty()) leaf_urls_->PeerLeafUrlsChanged();
  return true;
}

void ClusterService::LearnGatewayFromRoute(const std::string& name,
                                           const std::vector<std::string>& urls) {
  if (gateway_gossip_ == nullptr) {
    LOG_DEBUG("Gateway gossip for \"%s\" ignored: no gateway here", name.c_str());
    return;
  }
  gateway_gossip_->LearnGatewayFromRoute(name, urls);
}

std::vector<std::string> ClusterService::PeerLeafUrls() const {
  std::vector<std::string> urls;
  for (const auto& [id, route] : registered_) {
    for (const std::string& url : route->peer().leafnode_urls) {
      if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
    }
  }
  return urls;
}

void ClusterService::LearnServer(const RoutePeer& server) {
  if (server.server_id == shard_->context().server_id) return;
  if (registered_.contains(server.server_id)) return;
  RouteUrl url;
  if (server.route_url.empty() || !ParseRouteUrl(server.route_url, &url)) return;
  for (Dial& dial : dials_) {
    if (SameUrl(dial.url, url) || dial.server_id == server.server_id) {
      if (!dial.in_flight && dial.next_at == 0) dial.next_at = shard_->now_ns();
      return;
    }
  }
  const ClusterOptions& cluster = shard_->options().cluster;
  Dial dial;
  dial.text = server.route_url;
  dial.url = url;
  dial.url.user = cluster.user;
  dial.url.password = cluster.password;
  dial.explicit_route = false;
  dial.attempts_left = 1 + cluster.connect_retries;
  dial.server_id = server.server_id;
  dial.next_at = shard_->now_ns();
  LOG_DEBUG("Learned of %s at %s: connecting", server.server_id.c_str(), dial.text.c_str());
  dials_.push_back(std::move(dial));
}

void ClusterService::RouteClosed(RouteConnection* route) {
  if (route->registered()) {
    auto it = registered_.find(route->peer().server_id);
    if (it != registered_.end() && it->second == route) {
      registered_.erase(it);
      PublishConnectUrls();
      if (leaf_urls_ != nullptr && !route->peer().leafnode_urls.empty()) {
        leaf_urls_->PeerLeafUrlsChanged();
      }
    }
  }
  Dial* dial = DialFor(*route);
  if (dial == nullptr) return;
  if (!route->peer().server_id.empty()) dial->server_id = route->peer().server_id;
  dial->in_flight = false;
  // Redial after a random 0-100 ms, plus a second for an explicit route (nats-server's
  // spacing, which also breaks the tie when two nodes dropped each other's duplicate).
  const int64_t jitter = static_cast<int64_t>(rng_() % 100) * 1'000'000;
  if (dial->explicit_route) {
    dial->next_at = shard_->now_ns() + kRedialNs + jitter;
  } else if (dial->attempts_left != 0) {
    dial->next_at = shard_->now_ns() + jitter;
  }
}

// ---------------------------------------------------------------- interest

std::string ClusterService::SubLine(const std::string& key, const NodeInterest& interest,
                                    bool lnoc) {
  std::string line = lnoc && !interest.origin.empty() ? "LS+ " + interest.origin + " " : "RS+ ";
  line += key;
  if (interest.queue) line += " " + std::to_string(interest.count);
  return line + "\r\n";
}

std::string ClusterService::UnsubLine(const std::string& key, const NodeInterest& interest,
                                      bool lnoc) {
  return (lnoc && !interest.origin.empty() ? "LS- " : "RS- ") + key + "\r\n";
}

void ClusterService::BroadcastInterest(const std::string& line, const std::string& lnoc_line) {
  for (const auto& [id, route] : registered_)
    route->SendProto(route->peer().lnoc ? lnoc_line : line);
}

void ClusterService::Broadcast(const std::string& line, const RouteConnection* except) {
  for (const auto& [id, route] : registered_) {
    if (route != except) route->SendProto(line);
  }
}

void ClusterService::OnNodeInterest(uint16_t account, std::string_view subject,
                                    std::string_view queue, int32_t delta, const Connection* source,
                                    std::string_view origin) {
  // What routes or our hub told us is not the cluster's business (one hop).
  if (source != nullptr && !ExportsToRoutes(source->kind())) return;
  // cluster permissions: peers are asked only for what this node may import.
  if (import_check_ != nullptr && !import_check_->CanPublish(subject, 0)) return;
  std::string key = RouteAccountName(shard_->options().auth.accounts, account);
  key.push_back(' ');
  key.append(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  NodeInterest& interest = interest_[key];
  const int64_t before = interest.count;
  interest.count += delta;
  interest.queue = !queue.empty();
  if (before <= 0) interest.origin.assign(origin);
  if (interest.count <= 0) {
    if (before > 0)
      BroadcastInterest(UnsubLine(key, interest, false), UnsubLine(key, interest, true));
    interest_.erase(key);
    return;
  }
  // Plain interest changes on the first subscriber; a queue group's weight on every change.
  if (interest.queue || before == 0) {
    BroadcastInterest(SubLine(key, interest, false), SubLine(key, interest, true));
  }
}

}  // namespace tern::core
