#include "core/gateway.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "core/auth/authenticator.h"
#include "core/auth/nkeys.h"
#include "core/gateway_reply_map.h"
#include "core/link_json.h"
#include "core/log.h"
#include "core/route.h"
#include "core/subject.h"

namespace tern::core {
namespace {

// The first PING about a second after the link is made, then every ping_interval, at most
// 15 s apart (nats-server's cap for gateways). The dialler waits 2 s for the INFO.
constexpr int64_t kFirstPingNs = 1'000'000'000;
constexpr int64_t kMaxGatewayPingNs = 15'000'000'000;
constexpr int64_t kInfoWaitNs = 2'000'000'000;
constexpr int64_t kMaxPendingBytes = int64_t{256} << 20;
constexpr int64_t kCongestedBytes = int64_t{4} << 20;

void AppendNumber(std::string* out, std::size_t n) {
  char digits[24];
  out->append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

}  // namespace

GatewayConnection::GatewayConnection(ShardPort* shard, GatewayRegistry* registry, uint64_t id,
                                     std::string ip, int port, const std::string* dialled,
                                     const RouteUrl* url)
    : LinkConnection(ConnectionKind::kGateway, id, shard, std::move(ip), port, "Gateway", "gid",
                     {kCongestedBytes, kMaxPendingBytes}),
      registry_(registry),
      outbound_(dialled != nullptr) {
  if (dialled != nullptr) name_ = *dialled;
  if (url != nullptr) url_ = *url;
}

GatewayConnection::~GatewayConnection() = default;

void GatewayConnection::Start(io::IoConn* io, bool) {
  io_ = io;
  StartClocks(kFirstPingNs);
  const int64_t now = shard_->now_ns();
  const GatewayOptions& options = shard_->options().gateway;
  if (outbound_) {
    LOG_INFO("%s - Creating outbound gateway connection to \"%s\"", Label().c_str(), name_.c_str());
    handshake_deadline_ns_ = now + kInfoWaitNs;
  } else {
    LOG_INFO("%s - Processing inbound gateway connection", Label().c_str());
    handshake_deadline_ns_ = now + options.auth_timeout_ns;
    SendProto(registry_->GatewayInfoLine());  // sent once TLS is up, when it is on
  }
  // TLS from the first byte, as nats-server's gateways: the dialler is the TLS client, with
  // its gateways entry's tls {} when it has one.
  std::shared_ptr<const tls::TlsContext> context = options.tls_context;
  int64_t tls_timeout_ns = options.tls.timeout_ns;
  if (outbound_) {
    for (const RemoteGateway& remote : options.gateways) {
      if (remote.name == name_ && remote.tls_context != nullptr) {
        context = remote.tls_context;
        tls_timeout_ns = remote.tls.timeout_ns;
      }
    }
  }
  if (context != nullptr) {
    handshake_deadline_ns_ += tls_timeout_ns;
    if (!StartTls(std::move(context), outbound_, url_.host)) return;
  }
  ArmTimer();
}

int64_t GatewayConnection::NextDeadline() const {
  if (closing_) return 0;
  int64_t next = next_ping_ns_;
  if (!registered_ && handshake_deadline_ns_ != 0 && handshake_deadline_ns_ < next) {
    next = handshake_deadline_ns_;
  }
  return next;
}

void GatewayConnection::OnTimer(int64_t now_ns) {
  if (closing_) return;
  if (!registered_ && handshake_deadline_ns_ != 0 && now_ns >= handshake_deadline_ns_) {
    if (!outbound_ && !connect_received_) {
      LOG_ERROR("%s - Authentication Timeout", Label().c_str());
      SendErrAndClose("Authentication Timeout", CloseReason::kAuthenticationTimeout);
    } else {
      LOG_ERROR("%s - gateway handshake did not complete", Label().c_str());
      Close(CloseReason::kStaleConnection, false);
    }
    return;
  }
  if (!registered_ || now_ns < next_ping_ns_) return;
  KeepAlive(now_ns, kMaxGatewayPingNs, /*skip_when_active=*/false);
}

std::size_t GatewayConnection::FeedInput(const char* data, std::size_t len) {
  return parser_.Feed(data, len, *this);
}

void GatewayConnection::OnLinkClosing() { registry_->GatewayClosed(this); }

void GatewayConnection::DropSubscriptions() {
  for (auto& [key, sub] : subs_) {
    if (sub->sink == nullptr) shard_->RemoveSubscription(this, sub.get());
  }
  subs_.clear();
}

int GatewayConnection::FindAccount(std::string_view name) const {
  const auth::Accounts& accounts = shard_->options().auth.accounts;
  if (accounts.size() == 0) return name == "$G" ? 0 : -1;
  return accounts.Find(name);
}

void GatewayConnection::SubscribeAll(uint16_t account) {
  const std::string sid = "all " + std::to_string(account);
  if (subs_.contains(sid)) return;
  auto sub = std::make_unique<Subscription>();
  sub->account = account;
  sub->conn = this;
  sub->subject = ">";
  sub->sid = sid;
  shard_->AddSubscription(this, sub.get());
  subs_[sid] = std::move(sub);
}

void GatewayConnection::UnsubscribeAll(uint16_t account) {
  auto it = subs_.find("all " + std::to_string(account));
  if (it == subs_.end()) return;
  shard_->RemoveSubscription(this, it->second.get());
  subs_.erase(it);
}

void GatewayConnection::SubscribeReplies(const std::string& cluster_hash, uint16_t accounts) {
  for (uint16_t account = 0; account < accounts; ++account) {
    auto sub = std::make_unique<Subscription>();
    sub->account = account;
    sub->conn = this;
    sub->subject = "_GR_." + cluster_hash + ".>";
    sub->sid = "reply " + std::to_string(account);
    shard_->AddSubscription(this, sub.get());
    subs_[sub->sid] = std::move(sub);
  }
}

// ---------------------------------------------------------------- handshake

void GatewayConnection::OnRouteConnect(std::string_view text) {
  if (outbound_ || connect_received_) return;
  std::optional<GatewayConnect> connect = ParseGatewayConnect(text);
  if (!connect) {
    SendErrAndClose("Invalid CONNECT", CloseReason::kProtocolViolation);
    return;
  }
  if (connect->gateway.empty()) {
    LOG_ERROR("%s - a client or route connected to the gateway port", Label().c_str());
    SendErrAndClose("attempted to connect to gateway port", CloseReason::kProtocolViolation);
    return;
  }
  const GatewayOptions& options = shard_->options().gateway;
  if (!options.user.empty() &&
      !(connect->user == options.user && auth::SecretMatches(options.password, connect->pass))) {
    LOG_ERROR("%s - Gateway connection: Authorization Violation", Label().c_str());
    SendErrAndClose("Authorization Violation", CloseReason::kAuthenticationFailure);
    return;
  }
  if (options.reject_unknown) {
    bool known = false;
    for (const RemoteGateway& remote : options.gateways) known |= remote.name == connect->gateway;
    if (!known) {
      LOG_ERROR("%s - Rejecting connection from gateway \"%s\"", Label().c_str(),
                connect->gateway.c_str());
      SendErrAndClose("Connection to gateway \"" + options.name + "\" rejected",
                      CloseReason::kProtocolViolation);
      return;
    }
  }
  name_ = connect->gateway;
  connect_received_ = true;
}

void GatewayConnection::OnRouteInfo(std::string_view text) {
  std::optional<GatewayInfo> info = ParseGatewayInfo(text);
  if (!info) {
    LOG_ERROR("%s - bad gateway INFO", Label().c_str());
    Close(CloseReason::kProtocolViolation, false);
    return;
  }
  if (!outbound_ && !connect_received_) {
    SendErrAndClose("Authorization Violation", CloseReason::kAuthenticationFailure);
    return;
  }
  const std::string gateway = info->peer.gateway;
  if (info_received_) {
    // Later INFOs: another cluster to connect to (gossip), or the interest-only switch of
    // an account (its RS+ lines come in between; they are kept either way).
    if (info->command == kGatewayCmdGossip && !gateway.empty() && gateway != name_)
      registry_->LearnGateway(gateway, info->peer.gateway_urls);
    // An optimistic peer switching an account: from now on only its RS+ count there.
    std::string account;
    if (info->command == kGatewayCmdAllSubsStart && outbound_ &&
        auth::DecodeBase64Any(info->payload, &account)) {
      if (const int id = FindAccount(account); id >= 0 && optimism_.optimistic(id)) {
        optimism_.SwitchToInterestOnly(static_cast<uint16_t>(id));
        UnsubscribeAll(static_cast<uint16_t>(id));
      }
    }
    return;
  }
  info_received_ = true;
  if (gateway.empty()) {
    LOG_ERROR("%s - Attempt to connect to gateway \"%s\" using wrong port", Label().c_str(),
              name_.c_str());
    SendErrAndClose("Attempt to connect to gateway \"" + name_ + "\" using wrong port",
                    CloseReason::kProtocolViolation);
    return;
  }
  peer_ = std::move(info->peer);
  const GatewayOptions& options = shard_->options().gateway;
  if (outbound_) {
    if (gateway != name_) {
      LOG_ERROR("%s - Failing connection to gateway \"%s\", remote gateway name is \"%s\"",
                Label().c_str(), name_.c_str(), gateway.c_str());
      SendErrAndClose("Connection from \"" + options.name + "\" rejected, wanted to connect to \"" +
                          name_ + "\", this is \"" + gateway + "\"",
                      CloseReason::kProtocolViolation);
      return;
    }
    nlohmann::ordered_json connect;
    connect["echo"] = false;
    connect["verbose"] = false;
    connect["pedantic"] = false;
    const std::string& user = url_.user.empty() ? options.user : url_.user;
    const std::string& pass = url_.user.empty() ? options.password : url_.password;
    if (!user.empty()) {
      connect["user"] = user;
      connect["pass"] = pass;
    }
    connect["tls_required"] = tls_ != nullptr;
    connect["headers"] = true;
    connect["name"] = shard_->context().server_id;
    connect["cluster"] = "";
    connect["gateway"] = options.name;
    SendProto("CONNECT " + connect.dump() + "\r\n");
    SendProto(registry_->GatewayInfoLine());
    if (!registry_->RegisterOutbound(this)) {
      Close(CloseReason::kClientClosed, true);
      return;
    }
    if (!peer_.interest_only) {  // before nats-server 2.9: optimistic until it says otherwise
      const auto accounts =
          static_cast<uint16_t>(std::max<std::size_t>(1, shard_->options().auth.accounts.size()));
      optimism_.Start(accounts);
      for (uint16_t account = 0; account < accounts; ++account) SubscribeAll(account);
    }
  } else {
    if (gateway != name_) {
      SendErrAndClose("gateway name in INFO does not match CONNECT",
                      CloseReason::kProtocolViolation);
      return;
    }
    registry_->RegisterInbound(this);
  }
  registered_ = true;
  connected_ = true;
  handshake_deadline_ns_ = 0;
  LOG_INFO("%s - %s gateway connection to \"%s\" (%s) registered", Label().c_str(),
           outbound_ ? "Outbound" : "Inbound", name_.c_str(), peer_.server_id.c_str());
}

void GatewayConnection::OnRouteErr(std::string_view text) {
  LOG_ERROR("%s - Gateway Error %.*s", Label().c_str(), static_cast<int>(text.size()), text.data());
  Close(CloseReason::kProtocolViolation, false);
}

void GatewayConnection::OnRouteParseError(std::string_view what) {
  LOG_ERROR("%s - Gateway parser error: %.*s", Label().c_str(), static_cast<int>(what.size()),
            what.data());
  Close(CloseReason::kParseError, false);
}

// ---------------------------------------------------------------- interest and messages

void GatewayConnection::OnRouteSub(std::string_view account, std::string_view subject,
                                   std::string_view queue, uint32_t, std::string_view) {
  // The other cluster's interest arrives on the connection that carries messages there.
  if (!registered_ || !outbound_) return;
  const int id = FindAccount(account);
  if (id < 0 || !IsValidSubject(subject)) return;
  if (queue.empty()) optimism_.Interest(static_cast<uint16_t>(id), subject);
  std::string key;
  key.append(account).append(" ").append(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto [it, inserted] = subs_.try_emplace(std::move(key));
  if (!inserted) return;
  auto sub = std::make_unique<Subscription>();
  sub->account = static_cast<uint16_t>(id);
  sub->conn = this;
  sub->subject.assign(subject);
  sub->queue.assign(queue);
  sub->sid = it->first;
  sub->fallback = true;  // another cluster's member only when this one has none
  shard_->AddSubscription(this, sub.get());
  it->second = std::move(sub);
}

void GatewayConnection::OnRouteUnsub(std::string_view account, std::string_view subject,
                                     std::string_view queue) {
  if (!registered_ || !outbound_) return;
  if (const int id = FindAccount(account); id >= 0 && queue.empty()) {
    optimism_.NoInterest(static_cast<uint16_t>(id), subject);
  }
  std::string key;
  key.append(account).append(" ").append(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto it = subs_.find(key);
  if (it == subs_.end()) return;
  shard_->RemoveSubscription(this, it->second.get());
  subs_.erase(it);
}

void GatewayConnection::OnRouteAccountInterest(std::string_view account, bool interest) {
  if (!registered_ || !outbound_) return;
  const int id = FindAccount(account);
  if (id < 0 || !optimism_.optimistic(static_cast<uint16_t>(id))) return;
  optimism_.AccountInterest(static_cast<uint16_t>(id), interest);
  if (interest) {
    SubscribeAll(static_cast<uint16_t>(id));
  } else {
    UnsubscribeAll(static_cast<uint16_t>(id));
  }
}

void GatewayConnection::OnRouteMsg(const RoutedMsg& routed) {
  if (!registered_) return;
  ++in_msgs_;
  in_bytes_ += routed.data.size();
  ShardStats::Add(stats_->in_msgs, 1);
  ShardStats::Add(stats_->in_bytes, routed.data.size());
  const int id = FindAccount(routed.account);
  if (id < 0) {
    SendProto("A- " + std::string(routed.account) + "\r\n");  // no such account here
    return;
  }
  Message msg;
  msg.subject = routed.subject;
  msg.reply = routed.reply;
  msg.data = routed.data;
  msg.header_len = routed.header_len;
  msg.account = static_cast<uint16_t>(id);
  msg.origin = ConnectionKind::kGateway;
  msg.link = static_cast<uint32_t>(id_);
  msg.route_queues = routed.queues;
  // A JetStream delivery carries its stream subject after '@' in the (maybe routed) reply.
  if (ShownReply(msg.reply).starts_with("$JS.ACK.")) {
    if (const std::size_t at = msg.reply.rfind('@'); at != std::string_view::npos) {
      msg.display = msg.reply.substr(at + 1);
      msg.reply = msg.reply.substr(0, at);
    }
  }
  if (msg.subject.starts_with("_GR_.")) return registry_->OnGatewayReply(this, msg);
  shard_->Publish(this, msg);
}

bool GatewayConnection::DeliverMessage(const Subscription&, const Message& msg) {
  return DeliverToLink(msg, nullptr, 0);
}

bool GatewayConnection::DeliverToLink(const Message& msg, const std::string_view* queues,
                                      std::size_t queue_count) {
  if (closing_ || !registered_ || !outbound_) return false;
  // Optimistic: plain interest is assumed unless the peer suppressed it (queue groups are
  // always announced, so a message for one goes out; answers go back whatever it said).
  if (queue_count == 0 && optimism_.optimistic(msg.account) &&
      !optimism_.Sends(msg.account, msg.subject) && !msg.subject.starts_with("_GR_.")) {
    return false;
  }
  if (!HasRoomForMessage()) return true;
  std::string_view data = msg.data;
  std::size_t header_len = msg.header_len;
  FitHeaders(peer_.headers, &data, &header_len);
  // A reply is prefixed with this cluster's and this server's hashes, so the answer comes
  // straight back here whatever interest the other cluster has seen (nats-server's `_GR_.`).
  std::string reply;
  if (!msg.reply.empty()) {
    if (msg.reply.starts_with("_GR_.")) {
      reply.assign(LinkReply(msg));
    } else {
      reply = registry_->ReplyPrefix();
      reply.append(LinkReply(msg));
    }
  }
  std::string& line = line_;
  line.assign(header_len > 0 ? "HMSG " : "RMSG ");
  line.append(RouteAccountName(shard_->options().auth.accounts, msg.account));
  line.push_back(' ');
  line.append(msg.subject);
  line.push_back(' ');
  if (queue_count > 0) {
    if (!reply.empty()) {
      line.append("+ ").append(reply).push_back(' ');
    } else {
      line.append("| ");
    }
    for (std::size_t i = 0; i < queue_count; ++i) line.append(queues[i]).push_back(' ');
  } else if (!reply.empty()) {
    line.append(reply).push_back(' ');
  }
  if (header_len > 0) {
    AppendNumber(&line, header_len);
    line.push_back(' ');
  }
  AppendNumber(&line, data.size());
  line.append("\r\n");
  return QueueMessage(line, data);
}

void GatewayConnection::Describe(ConnInfo* info, bool with_subs) const {
  DescribeLink(info, with_subs);
  info->name = peer_.server_name;
}

}  // namespace tern::core
