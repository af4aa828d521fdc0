#include "core/leaf_service.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/auth/nkeys.h"
#include "core/log.h"
#include "core/route.h"
#include "core/shard.h"

namespace tern::core {
namespace {

// A random token of base62 characters (nats-server uses a nuid for $LDS and nonces).
std::string RandomToken(std::size_t length) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const std::string bytes = auth::RandomBytes(length);
  std::string token;
  for (unsigned char b : bytes) token.push_back(kAlphabet[b % 62]);
  return token;
}

// The address a socket was accepted on ("host:port"), for leafnode_urls when the port
// listens on every address.
std::string LocalAddress(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return text;
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]";
  }
  return {};
}

// This host's first IPv4 address other than loopback ("127.0.0.1" if it has none): what
// the other nodes' leafnodes are told when the leafnode port listens on every address.
std::string FirstInterfaceAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "127.0.0.1";
  std::string found = "127.0.0.1";
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    if ((entry->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) {
      found = text;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

LeafService::LeafService(Shard* shard, int leaf_port, ClusterService* cluster)
    : shard_(shard), leaf_port_(leaf_port), cluster_(cluster) {
  const ServerOptions& o = shard->options();
  if (cluster_ != nullptr) cluster_->SetLeafUrls(this);
  remotes_.resize(o.leaf.remotes.size());
  const std::size_t accounts = std::max<std::size_t>(1, o.auth.accounts.size());
  interest_.resize(accounts);
  for (std::size_t i = 0; i < accounts; ++i) loop_subjects_.push_back("$LDS." + RandomToken(22));
  dialler_ = std::make_unique<Dialler>([this](const Dialler::Result& result) {
    shard_->Post([this, result] { OnDialed(result); });
  });
}

LeafService::~LeafService() = default;

Connection* LeafService::MakeAccepted(ShardPort* shard, uint64_t id, std::string ip, int port) {
  return new LeafConnection(shard, this, id, std::move(ip), port, -1, nullptr);
}

// ---------------------------------------------------------------- dialling

void LeafService::Turn(int64_t now_ns) {
  for (std::size_t i = 0; i < remotes_.size(); ++i) {
    Remote& remote = remotes_[i];
    if (remote.in_flight || remote.next_at == 0 || now_ns < remote.next_at) continue;
    remote.in_flight = true;
    remote.next_at = 0;
    const RouteUrl& url = UrlAt(i, remote.next_url);
    dialler_->Dial(i, url.host, url.port);
  }
}

int64_t LeafService::NextDeadline() const {
  int64_t next = 0;
  for (const Remote& remote : remotes_) {
    if (remote.in_flight || remote.next_at == 0) continue;
    if (next == 0 || remote.next_at < next) next = remote.next_at;
  }
  return next;
}

std::size_t LeafService::UrlCount(std::size_t remote) const {
  return shard_->options().leaf.remotes[remote].urls.size() + remotes_[remote].learned.size();
}

const RouteUrl& LeafService::UrlAt(std::size_t remote, std::size_t index) const {
  const std::vector<RouteUrl>& configured = shard_->options().leaf.remotes[remote].urls;
  index %= UrlCount(remote);
  return index < configured.size() ? configured[index]
                                   : remotes_[remote].learned[index - configured.size()];
}

void LeafService::OnDialed(const Dialler::Result& result) {
  Remote& remote = remotes_[result.tag];
  const std::size_t index = remote.next_url;
  if (result.fd < 0) {
    remote.in_flight = false;
    const RouteUrl& failed = UrlAt(result.tag, index);
    LOG_DEBUG("Error trying to connect as leafnode to remote server \"%s:%d\": %s",
              failed.host.c_str(), failed.port, result.error.c_str());
    remote.next_url = (index + 1) % UrlCount(result.tag);
    remote.next_at = shard_->now_ns() + shard_->options().leaf.reconnect_ns;
    return;
  }
  const RouteUrl url = UrlAt(result.tag, index);
  const int which = static_cast<int>(result.tag);
  shard_->AdoptConnected(
      result.fd, [this, url, which](ShardPort* shard, uint64_t id, std::string ip, int port) {
        return new LeafConnection(shard, this, id, std::move(ip), port, which, &url);
      });
}

void LeafService::LeafClosed(LeafConnection* link, int64_t delay_ns) {
  auto it = std::find(links_.begin(), links_.end(), link);
  if (it != links_.end()) links_.erase(it);
  if (!link->dialled()) return;
  const auto which = static_cast<std::size_t>(link->remote());
  Remote& remote = remotes_[which];
  remote.in_flight = false;
  // The next URL next time when this one failed before the link was up, or when the hub
  // went away (another node of its cluster may be up).
  remote.next_url = (remote.next_url + 1) % UrlCount(which);
  remote.next_at =
      shard_->now_ns() + (delay_ns > 0 ? delay_ns : shard_->options().leaf.reconnect_ns);
}

// ---------------------------------------------------------------- the registry

std::string LeafService::LeafClusterName() const {
  if (shard_->options().cluster.enabled && !shard_->cluster_name().empty()) {
    return shard_->cluster_name();
  }
  return shard_->context().server_name;
}

void LeafService::HubLeafUrls(const LeafConnection& link, const std::vector<std::string>& urls) {
  const auto which = static_cast<std::size_t>(link.remote());
  const std::vector<RouteUrl>& configured = shard_->options().leaf.remotes[which].urls;
  Remote& remote = remotes_[which];
  auto known = [](const std::vector<RouteUrl>& list, const RouteUrl& url) {
    return std::any_of(list.begin(), list.end(),
                       [&](const RouteUrl& u) { return u.host == url.host && u.port == url.port; });
  };
  for (const std::string& text : urls) {
    RouteUrl url;
    if (!ParseRouteUrl(text, &url) || known(configured, url) || known(remote.learned, url)) {
      continue;
    }
    // The credentials of the URL it dialled serve the hub's other nodes too (nats-server's).
    url.user = link.url().user;
    url.password = link.url().password;
    LOG_DEBUG("Leafnode remote %zu: the hub names %s:%d", which, url.host.c_str(), url.port);
    remote.learned.push_back(std::move(url));
  }
}

std::vector<std::string> LeafService::OwnLeafUrls() const {
  const LeafOptions& leaf = shard_->options().leaf;
  if (leaf_port_ <= 0 || leaf.no_advertise) return {};
  std::string host = leaf.host.empty() ? "0.0.0.0" : leaf.host;
  int port = leaf_port_;
  if (!leaf.advertise.empty()) ParseAdvertise(leaf.advertise, leaf_port_, &host, &port);
  if (host == "0.0.0.0" || host == "::") host = FirstInterfaceAddress();
  return {host + ":" + std::to_string(port)};
}

void LeafService::PeerLeafUrlsChanged() {
  for (LeafConnection* link : links_) {
    if (!link->dialled()) link->SendProto(HubInfoLine(*link, HubInfo::kUpdate));
  }
}

std::string LeafService::HubInfoLine(const LeafConnection& link, HubInfo which) const {
  const ServerOptions& o = shard_->options();
  const LeafOptions& leaf = o.leaf;
  std::string host = leaf.host.empty() ? "0.0.0.0" : leaf.host;
  int port = leaf_port_;
  if (!leaf.advertise.empty()) ParseAdvertise(leaf.advertise, leaf_port_, &host, &port);
  std::string url_host = host;
  if ((url_host == "0.0.0.0" || url_host == "::") && link.io() != nullptr) {
    url_host = LocalAddress(link.io()->fd);
  }
  nlohmann::ordered_json info;
  info["server_id"] = shard_->context().server_id;
  info["server_name"] = shard_->context().server_name;
  info["version"] = kNatsProtocolVersion;
  info["proto"] = 1;
  info["go"] = "tern " TERN_VERSION;
  info["host"] = host;
  info["port"] = port;
  info["headers"] = true;
  info["auth_required"] = true;
  if (leaf.tls_context != nullptr) {
    info["tls_required"] = true;
    if (leaf.tls.verify) info["tls_verify"] = true;
  }
  info["max_payload"] = o.max_payload;
  info["client_id"] = link.id();
  if (which == HubInfo::kFirst) info["nonce"] = link.nonce();
  // nats-server names its cluster only when it has a fixed name (clustered, or with remotes).
  if (o.cluster.enabled || !leaf.remotes.empty()) info["cluster"] = LeafClusterName();
  info["info_on_connect"] = true;
  if (which == HubInfo::kConnectInfo) info["connect_info"] = true;
  // This node's leafnode URL and the other nodes' of its cluster: the leafnode's reconnect
  // list (nats-server's).
  nlohmann::ordered_json urls = nlohmann::ordered_json::array();
  if (!leaf.no_advertise && !url_host.empty())
    urls.push_back(url_host + ":" + std::to_string(port));
  if (cluster_ != nullptr) {
    for (const std::string& url : cluster_->PeerLeafUrls()) {
      if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
    }
  }
  info["leafnode_urls"] = urls;
  if (which == HubInfo::kConnectInfo) {
    info["remote_account"] = RouteAccountName(o.auth.accounts, link.account());
  }
  return "INFO " + info.dump() + " \r\n";
}

const std::string& LeafService::LoopSubject(uint16_t account) const {
  return loop_subjects_[account < loop_subjects_.size() ? account : 0];
}

void LeafService::RegisterLeaf(LeafConnection* link) {
  links_.push_back(link);
  const uint16_t account = link->account();
  std::string flood = "LS+ " + LoopSubject(account) + "\r\n";
  // With gateways, answers a leafnode's clients give to requests from other clusters come
  // back here routed (`_GR_.<cluster>.<server>.…`) and leave on that cluster's gateway.
  if (link->kind() != ConnectionKind::kHub && !shard_->context().gateway_reply_prefix.empty()) {
    flood += "LS+ _GR_.>\r\nLS+ $GR.*.>\r\n";
  }
  if (account < interest_.size()) {
    for (const auto& [key, interest] : interest_[account]) {
      const std::size_t space = key.find(' ');
      const int64_t value = ValueFor(*link, interest, std::string_view(key).substr(0, space));
      if (value <= 0) continue;
      if (!link->MayAsk(std::string_view(key).substr(0, space))) continue;
      flood += SubLine(key, value, space != std::string::npos);
    }
  }
  link->SendProto(flood);
}

// ---------------------------------------------------------------- interest

int64_t LeafService::ValueFor(const LeafConnection& link, const KeyInterest& interest,
                              std::string_view subject) {
  if (link.kind() == ConnectionKind::kHub) return interest.local + interest.leafs;
  // Not its own interest, nor that of links to its own cluster (they have routes to it),
  // except loop detection subjects, which must go round to be seen.
  const bool loop_subject = subject.starts_with("$LDS.");
  int64_t excluded = 0;
  for (const auto& [holder, count] : interest.by_link) {
    if (holder == &link || (!loop_subject && !link.link_cluster().empty() &&
                            holder->link_cluster() == link.link_cluster())) {
      excluded += count;
    }
  }
  if (!loop_subject && !link.link_cluster().empty()) {
    for (const auto& [origin, count] : interest.route_origins) {
      if (origin == link.link_cluster()) excluded += count;
    }
  }
  return interest.local + interest.routes + interest.leafs + interest.hubs - excluded;
}

std::string LeafService::SubLine(std::string_view key, int64_t value, bool queue) {
  std::string line = "LS+ ";
  line.append(key);
  if (queue) line.append(" ").append(std::to_string(value));
  line.append("\r\n");
  return line;
}

void LeafService::OnNodeInterest(uint16_t account, std::string_view subject, std::string_view queue,
                                 int32_t delta, const Connection* source, std::string_view origin) {
  if (account >= interest_.size()) return;
  // Another cluster's interest is not the leafnodes' business.
  if (source != nullptr && source->kind() == ConnectionKind::kGateway) return;
  std::string key(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  KeyInterest& interest = interest_[account][key];
  // What each link of the account is told now, before the change.
  absl::InlinedVector<int64_t, 4> before;
  for (const LeafConnection* link : links_) {
    before.push_back(link->account() == account ? ValueFor(*link, interest, subject) : 0);
  }
  if (source == nullptr) {
    interest.local += delta;
  } else {
    switch (source->kind()) {
      case ConnectionKind::kRoute:
        interest.routes += delta;
        if (!origin.empty()) {
          auto it = std::find_if(interest.route_origins.begin(), interest.route_origins.end(),
                                 [&](const auto& entry) { return entry.first == origin; });
          if (it == interest.route_origins.end()) {
            interest.route_origins.emplace_back(std::string(origin), delta);
          } else if ((it->second += delta) == 0) {
            interest.route_origins.erase(it);
          }
        }
        break;
      case ConnectionKind::kLeaf:
        interest.leafs += delta;
        break;
      case ConnectionKind::kHub:
        interest.hubs += delta;
        break;
      case ConnectionKind::kClient:
        interest.local += delta;
        break;
      case ConnectionKind::kGateway:
        break;  // not reached: filtered above
    }
    if (source->kind() == ConnectionKind::kLeaf) {
      auto it = std::find_if(interest.by_link.begin(), interest.by_link.end(),
                             [&](const auto& entry) { return entry.first == source; });
      if (it == interest.by_link.end()) {
        interest.by_link.emplace_back(source, delta);
      } else if ((it->second += delta) == 0) {
        interest.by_link.erase(it);
      }
    }
  }
  for (std::size_t i = 0; i < links_.size(); ++i) {
    LeafConnection* link = links_[i];
    if (link->account() != account) continue;
    const int64_t after = ValueFor(*link, interest, subject);
    if (after == before[i] || !link->MayAsk(subject)) continue;
    if (after > 0 && (before[i] <= 0 || !queue.empty())) {
      link->SendProto(SubLine(key, after, !queue.empty()));
    } else if (after <= 0 && before[i] > 0) {
      link->SendProto("LS- " + key + "\r\n");
    }
  }
  if (interest.Empty()) interest_[account].erase(key);
}

}  // namespace tern::core
