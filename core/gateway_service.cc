#include "core/gateway_service.h"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/cluster_service.h"
#include "core/log.h"
#include "core/route.h"
#include "core/shard.h"

namespace tern::core {
namespace {

constexpr int64_t kRedialNs = 1'000'000'000;

std::string Base64(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= uint8_t(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

std::string GatewayHash(std::string_view text) {
  static const char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hash;
  for (int i = 0; i < 6; ++i) hash.push_back(kDigits[digest[i] % 62]);
  return hash;
}

GatewayService::GatewayService(Shard* shard, int gateway_port, ClusterService* cluster)
    : shard_(shard), gateway_port_(gateway_port), cluster_(cluster) {
  const GatewayOptions& options = shard->options().gateway;
  server_hash_ = GatewayHash(shard->context().server_id);
  reply_prefix_ = "_GR_." + GatewayHash(options.name) + "." + server_hash_ + ".";
  shard->context().gateway_reply_prefix = reply_prefix_;
  for (const RemoteGateway& gateway : options.gateways) {
    if (gateway.name == options.name) continue;  // this cluster itself
    remotes_.push_back(Remote{gateway.name, gateway.urls});
  }
  interest_.resize(account_count());
  if (cluster_ != nullptr) cluster_->SetGatewayGossip(this);
  dialler_ = std::make_unique<Dialler>([this](const Dialler::Result& result) {
    shard_->Post([this, result] { OnDialed(result); });
  });
}

GatewayService::~GatewayService() = default;

uint16_t GatewayService::account_count() const {
  return static_cast<uint16_t>(std::max<std::size_t>(1, shard_->options().auth.accounts.size()));
}

Connection* GatewayService::MakeAccepted(ShardPort* shard, uint64_t id, std::string ip, int port) {
  return new GatewayConnection(shard, this, id, std::move(ip), port, nullptr, nullptr);
}

// ---------------------------------------------------------------- dialling

void GatewayService::Turn(int64_t now_ns) {
  for (std::size_t i = 0; i < remotes_.size(); ++i) {
    Remote& remote = remotes_[i];
    if (remote.in_flight || remote.next_at == 0 || now_ns < remote.next_at) continue;
    if (outbound_.contains(remote.name)) {
      remote.next_at = 0;
      continue;
    }
    remote.in_flight = true;
    remote.next_at = 0;
    const RouteUrl& url = remote.urls[remote.next_url % remote.urls.size()];
    dialler_->Dial(i, url.host, url.port);
  }
}

int64_t GatewayService::NextDeadline() const {
  int64_t next = 0;
  for (const Remote& remote : remotes_) {
    if (remote.in_flight || remote.next_at == 0) continue;
    if (next == 0 || remote.next_at < next) next = remote.next_at;
  }
  return next;
}

void GatewayService::OnDialed(const Dialler::Result& result) {
  Remote& remote = remotes_[result.tag];
  if (result.fd < 0) {
    remote.in_flight = false;
    LOG_DEBUG("Error connecting to gateway \"%s\": %s", remote.name.c_str(), result.error.c_str());
    ++remote.next_url;
    remote.next_at = shard_->now_ns() + kRedialNs;
    return;
  }
  const std::string name = remote.name;
  const RouteUrl url = remote.urls[remote.next_url % remote.urls.size()];
  shard_->AdoptConnected(
      result.fd, [this, name, url](ShardPort* shard, uint64_t id, std::string ip, int port) {
        return new GatewayConnection(shard, this, id, std::move(ip), port, &name, &url);
      });
}

void GatewayService::LearnGateway(const std::string& name, const std::vector<std::string>& urls) {
  // Learned from a gateway: the other nodes of this cluster hear of it over the routes.
  if (AddRemote(name, urls) && cluster_ != nullptr) {
    cluster_->Broadcast(GossipLine(name, remotes_.back().urls));
  }
}

void GatewayService::LearnGatewayFromRoute(const std::string& name,
                                           const std::vector<std::string>& urls) {
  AddRemote(name, urls);  // every node of the cluster had it: not told again
}

std::string GatewayService::GatewayGossipLines() const {
  std::string lines;
  for (const Remote& remote : remotes_) lines += GossipLine(remote.name, remote.urls);
  return lines;
}

// nats-server's gateway gossip on a route: the node's id with "GW" before it, no host or
// port, gateway_cmd 1.
std::string GatewayService::GossipLine(const std::string& name,
                                       const std::vector<RouteUrl>& urls) const {
  nlohmann::ordered_json info;
  info["server_id"] = "GW" + shard_->context().server_id;
  info["gateway"] = name;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const RouteUrl& url : urls) list.push_back(url.host + ":" + std::to_string(url.port));
  info["gateway_urls"] = list;
  info["gateway_cmd"] = kGatewayCmdGossip;
  return "INFO " + info.dump() + "\r\n";
}

bool GatewayService::AddRemote(const std::string& name, const std::vector<std::string>& urls) {
  if (name == shard_->options().gateway.name) return false;
  for (const Remote& remote : remotes_) {
    if (remote.name == name) return false;
  }
  Remote remote{name, {}};
  for (const std::string& text : urls) {
    RouteUrl url;
    if (ParseRouteUrl(text, &url)) remote.urls.push_back(url);
  }
  if (remote.urls.empty()) return false;
  LOG_INFO("Connecting to implicit gateway \"%s\"", name.c_str());
  remote.next_at = shard_->now_ns();
  remotes_.push_back(std::move(remote));
  return true;
}

void GatewayService::GatewayClosed(GatewayConnection* link) {
  if (link->outbound()) {
    auto it = outbound_.find(link->name());
    if (it != outbound_.end() && it->second == link) outbound_.erase(it);
    for (Remote& remote : remotes_) {
      if (remote.name != link->name()) continue;
      remote.in_flight = false;
      if (!link->registered()) ++remote.next_url;
      remote.next_at = shard_->now_ns() + kRedialNs;
    }
    return;
  }
  inbound_.erase(std::remove(inbound_.begin(), inbound_.end(), link), inbound_.end());
}

// ---------------------------------------------------------------- the registry

std::string GatewayService::GatewayInfoLine() const {
  const ServerOptions& o = shard_->options();
  const GatewayOptions& gateway = o.gateway;
  std::string host = gateway.host.empty() ? "0.0.0.0" : gateway.host;
  int port = gateway_port_;
  if (!gateway.advertise.empty()) ParseAdvertise(gateway.advertise, gateway_port_, &host, &port);
  const std::string url_host = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host;
  const std::string url = url_host + ":" + std::to_string(port);
  nlohmann::ordered_json info;
  info["server_id"] = shard_->context().server_id;
  info["server_name"] = shard_->context().server_name;
  info["version"] = kNatsProtocolVersion;
  info["proto"] = 1;
  info["go"] = "tern " TERN_VERSION;
  info["host"] = host;
  info["port"] = port;
  info["headers"] = true;
  if (!gateway.user.empty()) info["auth_required"] = true;
  if (gateway.tls_context != nullptr) {
    info["tls_required"] = true;
    if (gateway.tls.verify) info["tls_verify"] = true;
  }
  info["max_payload"] = o.max_payload;
  info["gateway"] = gateway.name;
  info["gateway_urls"] = {url};
  info["gateway_url"] = url;
  info["gateway_nrp"] = true;
  info["gateway_iom"] = true;
  return "INFO " + info.dump() + "\r\n";
}

bool GatewayService::RegisterOutbound(GatewayConnection* link) {
  if (outbound_.contains(link->name())) return false;
  outbound_.emplace(link->name(), link);
  // Answers for that cluster (`_GR_.<its hash>.`) leave on this link, from any shard.
  link->SubscribeReplies(GatewayHash(link->name()), account_count());
  return true;
}

std::string GatewayService::InterestLine(uint16_t account, std::string_view key, bool sub) const {
  std::string line = sub ? "RS+ " : "RS- ";
  line += RouteAccountName(shard_->options().auth.accounts, account);
  line.push_back(' ');
  line.append(key);
  if (sub && key.find(' ') != std::string_view::npos) line += " 1";  // queue weight: always 1
  return line + "\r\n";
}

void GatewayService::RegisterInbound(GatewayConnection* link) {
  inbound_.push_back(link);
  const std::string& name = shard_->options().gateway.name;
  // Every account's queue groups, then each account switched to interest-only mode with
  // all its plain subjects (nats-server 2.9 does this for every account at once).
  std::string out;
  for (uint16_t account = 0; account < interest_.size(); ++account) {
    for (const auto& [key, count] : interest_[account]) {
      if (key.find(' ') != std::string::npos) out += InterestLine(account, key, true);
    }
  }
  for (uint16_t account = 0; account < interest_.size(); ++account) {
    const std::string account_name = RouteAccountName(shard_->options().auth.accounts, account);
    auto command = [&](int cmd) {
      nlohmann::ordered_json info;
      info["gateway"] = name;
      info["gateway_cmd"] = cmd;
      info["gateway_cmd_payload"] = Base64(account_name);
      return "INFO " + info.dump() + "\r\n";
    };
    out += command(2);
    for (const auto& [key, count] : interest_[account]) {
      if (key.find(' ') == std::string::npos) out += InterestLine(account, key, true);
    }
    out += command(3);
  }
  link->SendProto(out);
  // Messages to that cluster need an outbound link of our own.
  if (!outbound_.contains(link->name())) LearnGateway(link->name(), link->peer().gateway_urls);
}

void GatewayService::OnGatewayReply(GatewayConnection* link, const Message& msg) {
  // _GR_.<cluster hash>.<server hash>.<reply subject>
  const std::string_view subject = msg.subject;
  if (subject.size() <= reply_prefix_.size() ||
      subject.substr(0, 12) != std::string_view(reply_prefix_).substr(0, 12)) {
    return;  // for another cluster: dropped, as nats-server does
  }
  const std::string_view server = subject.substr(12, 6);
  Message local = msg;
  if (server == server_hash_) {
    local.subject = subject.substr(reply_prefix_.size());
    shard_->Publish(link, local);
    return;
  }
  // Another node of this cluster sent the request: pass it on, prefix and all.
  if (cluster_ == nullptr) return;
  cluster_->ForEachRoute([&](RouteConnection& route) {
    if (GatewayHash(route.peer().server_id) == server) route.DeliverToLink(msg, nullptr, 0);
  });
}

// ---------------------------------------------------------------- interest

void GatewayService::OnNodeInterest(uint16_t account, std::string_view subject,
                                    std::string_view queue, int32_t delta, const Connection* source,
                                    std::string_view) {
  // What other clusters asked for is theirs, not this cluster's interest.
  if (source != nullptr && source->kind() == ConnectionKind::kGateway) return;
  if (account >= interest_.size()) return;
  std::string key(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto& accounts = interest_[account];
  int64_t& count = accounts[key];
  const int64_t before = count;
  count += delta;
  const int64_t after = count;
  if (after <= 0) accounts.erase(key);
  if ((before > 0) == (after > 0)) return;
  const std::string line = InterestLine(account, key, after > 0);
  for (GatewayConnection* link : inbound_) link->SendProto(line);
}

}  // namespace tern::core
