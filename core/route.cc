#include "core/route.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "core/auth/authenticator.h"
#include "core/link_json.h"
#include "core/log.h"
#include "core/subject.h"

namespace tern::core {
namespace {

// The first PING goes out about a second after the route is made, then every
// ping_interval capped at 30 s (as nats-server 2.10 caps routes; 2.9 peers accept it).
constexpr int64_t kFirstPingNs = 1'000'000'000;
constexpr int64_t kMaxRoutePingNs = 30'000'000'000;
// What may wait for a route before new messages for it are dropped (counted): a slow
// route is never cut off, but it must not take the node's memory.
constexpr int64_t kRouteMaxPendingBytes = int64_t{256} << 20;
// A route with this much queued holds its publishers back (as a congested subscriber).
constexpr int64_t kRouteCongestedBytes = int64_t{4} << 20;

void AppendNumber(std::string* out, std::size_t n) {
  char digits[24];
  out->append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

}  // namespace

RouteConnection::RouteConnection(ShardPort* shard, RouteRegistry* registry, uint64_t id,
                                 std::string ip, int port, const RouteUrl* dialled,
                                 bool explicit_route)
    : LinkConnection(ConnectionKind::kRoute, id, shard, std::move(ip), port, "Route", "rid",
                     {kRouteCongestedBytes, kRouteMaxPendingBytes}),
      registry_(registry),
      dialled_(dialled != nullptr),
      explicit_(explicit_route) {
  if (dialled != nullptr) url_ = *dialled;
  const auto& permissions = shard->options().cluster.permissions;
  if (permissions != nullptr && permissions->subscribe) {
    export_check_ = std::make_unique<auth::PermissionChecker>(permissions);
  }
}

RouteConnection::~RouteConnection() = default;

void RouteConnection::Start(io::IoConn* io, bool) {
  io_ = io;
  StartClocks(kFirstPingNs);
  const int64_t now = shard_->now_ns();
  LOG_INFO("%s - Route connection created", Label().c_str());
  const ClusterOptions& cluster = shard_->options().cluster;
  if (cluster.tls_context == nullptr) {
    StartProtocol();
    return;
  }
  // TLS from the first byte, as nats-server's routes: the dialler is the TLS client.
  tls_deadline_ns_ = now + cluster.tls.timeout_ns;
  if (!StartTls(cluster.tls_context, dialled_, url_.host)) return;
  ArmTimer();
}

void RouteConnection::StartProtocol() {
  protocol_started_ = true;
  const ClusterOptions& cluster = shard_->options().cluster;
  if (dialled_) {
    nlohmann::json connect = nlohmann::json::object();
    connect["echo"] = true;
    connect["verbose"] = false;
    connect["pedantic"] = false;
    // The URL's credentials, else (a gossiped route) this node's own.
    const std::string& user = url_.user.empty() ? cluster.user : url_.user;
    const std::string& pass = url_.user.empty() ? cluster.password : url_.password;
    if (!user.empty()) {
      connect["user"] = user;
      connect["pass"] = pass;
    }
    connect["tls_required"] = tls_ != nullptr;
    connect["headers"] = true;
    connect["name"] = shard_->context().server_id;
    connect["cluster"] = registry_->cluster_name();
    if (registry_->cluster_dynamic()) connect["cluster_dynamic"] = true;
    SendProto("CONNECT " + connect.dump() + "\r\n");
  } else if (!cluster.user.empty()) {
    auth_deadline_ns_ = shard_->now_ns() + cluster.auth_timeout_ns;
  }
  SendProto(registry_->RouteInfoLine());
  ArmTimer();
}

int64_t RouteConnection::NextDeadline() const {
  if (closing_) return 0;
  int64_t next = next_ping_ns_;
  if (!connect_received_ && auth_deadline_ns_ != 0 && auth_deadline_ns_ < next) {
    next = auth_deadline_ns_;
  }
  if (!protocol_started_ && tls_deadline_ns_ != 0 && tls_deadline_ns_ < next) {
    next = tls_deadline_ns_;
  }
  return next;
}

void RouteConnection::OnTimer(int64_t now_ns) {
  if (closing_) return;
  if (!protocol_started_ && tls_deadline_ns_ != 0 && now_ns >= tls_deadline_ns_) {
    LOG_ERROR("%s - TLS handshake timeout", Label().c_str());
    Close(CloseReason::kTlsHandshakeError, false);
    return;
  }
  if (!protocol_started_) return;  // no PINGs before the handshake is done
  if (!connect_received_ && auth_deadline_ns_ != 0 && now_ns >= auth_deadline_ns_) {
    LOG_ERROR("%s - Authentication Timeout", Label().c_str());
    SendErrAndClose("Authentication Timeout", CloseReason::kAuthenticationTimeout);
    return;
  }
  if (now_ns < next_ping_ns_) return;
  // A route that spoke within the interval is alive (its RTT known): no need to ask.
  KeepAlive(now_ns, kMaxRoutePingNs, /*skip_when_active=*/true);
}

std::size_t RouteConnection::FeedInput(const char* data, std::size_t len) {
  return parser_.Feed(data, len, *this);
}

void RouteConnection::OnLinkClosing() { registry_->RouteClosed(this); }

void RouteConnection::DropSubscriptions() {
  for (auto& [key, sub] : subs_) shard_->RemoveSubscription(this, sub.get());
  subs_.clear();
}

// ---------------------------------------------------------------- output

bool RouteConnection::DeliverMessage(const Subscription&, const Message& msg) {
  // The shard calls DeliverToLink for links; this is the same message without queues.
  return DeliverToLink(msg, nullptr, 0);
}

bool RouteConnection::DeliverToLink(const Message& msg, const std::string_view* queues,
                                    std::size_t queue_count) {
  if (closing_ || !registered_) return false;
  if (!HasRoomForMessage()) return true;
  std::string_view data = msg.data;
  std::size_t header_len = msg.header_len;
  FitHeaders(peer_.headers, &data, &header_len);
  // RMSG <account> <subject> [reply | + reply q... | | q...] <size>; HMSG adds the header
  // length before the size.
  std::string& line = line_;
  // From a leafnode, to a peer that takes its origin: LMSG <origin> <account> ..., always
  // with a header length.
  const bool lmsg = peer_.lnoc && !msg.origin_cluster.empty() && IsLeafKind(msg.origin);
  if (lmsg) {
    line.assign("LMSG ");
    line.append(msg.origin_cluster);
    line.push_back(' ');
  } else {
    line.assign(header_len > 0 ? "HMSG " : "RMSG ");
  }
  line.append(RouteAccountName(shard_->options().auth.accounts, msg.account));
  line.push_back(' ');
  line.append(msg.subject);
  line.push_back(' ');
  const std::string_view reply = LinkReply(msg);
  if (queue_count > 0) {
    if (!reply.empty()) {
      line.append("+ ");
      line.append(reply);
      line.push_back(' ');
    } else {
      line.append("| ");
    }
    for (std::size_t i = 0; i < queue_count; ++i) {
      line.append(queues[i]);
      line.push_back(' ');
    }
  } else if (!reply.empty()) {
    line.append(reply);
    line.push_back(' ');
  }
  if (header_len > 0 || lmsg) {
    AppendNumber(&line, header_len);
    line.push_back(' ');
  }
  AppendNumber(&line, data.size());
  line.append("\r\n");
  return QueueMessage(line, data);
}

// ---------------------------------------------------------------- input

bool RouteConnection::Authorized() {
  if (connect_received_ || shard_->options().cluster.user.empty()) return true;
  LOG_ERROR("%s - route sent an operation before CONNECT", Label().c_str());
  SendErrAndClose("Authorization Violation", CloseReason::kAuthenticationFailure);
  return false;
}

void RouteConnection::OnRouteConnect(std::string_view text) {
  std::optional<LinkJson> connect = LinkJson::Parse(text);
  if (!connect) {
    LOG_ERROR("%s - bad route CONNECT", Label().c_str());
    SendErrAndClose("Invalid CONNECT", CloseReason::kProtocolViolation);
    return;
  }
  const ClusterOptions& cluster = shard_->options().cluster;
  auto text_of = [&](const char* key) { return connect->Text(key); };
  if (!cluster.user.empty() && !(text_of("user") == cluster.user &&
                                 auth::SecretMatches(cluster.password, text_of("pass")))) {
    LOG_ERROR("%s - Route connection: Authorization Violation", Label().c_str());
    SendErrAndClose("Authorization Violation", CloseReason::kAuthenticationFailure);
    return;
  }
  if (connect->Has("lang")) {
    LOG_ERROR("%s - a client connected to the route port", Label().c_str());
    SendErrAndClose("attempted to connect to route port", CloseReason::kProtocolViolation);
    return;
  }
  const std::string gateway = text_of("gateway");
  if (!gateway.empty()) {
    SendErrAndClose("Rejecting connection from gateway \"" + gateway + "\" on the Route port",
                    CloseReason::kProtocolViolation);
    return;
  }
  const std::string name = text_of("cluster");
  if (!registry_->cluster_dynamic() && name != registry_->cluster_name()) {
    LOG_ERROR("%s - Rejecting connection, cluster name \"%s\" does not match \"%s\"",
              Label().c_str(), name.c_str(), registry_->cluster_name().c_str());
    SendErrAndClose("Rejecting connection, cluster name \"" + name + "\" does not match \"" +
                        registry_->cluster_name() + "\"",
                    CloseReason::kProtocolViolation);
    return;
  }
  connect_received_ = true;
  connected_ = true;
}

void RouteConnection::OnRouteInfo(std::string_view text) {
  std::optional<LinkJson> info = LinkJson::Parse(text);
  if (!info) {
    LOG_ERROR("%s - bad route INFO", Label().c_str());
    Close(CloseReason::kProtocolViolation, false);
    return;
  }
  auto text_of = [&](const char* key) { return info->Text(key); };
  // Gateway gossip (nats-server relays the gateways it knows over its routes): not a route.
  if (const std::string gateway = text_of("gateway"); !gateway.empty()) {
    if (info_received_) registry_->LearnGatewayFromRoute(gateway, info->Texts("gateway_urls"));
    return;
  }
  RoutePeer peer;
  peer.server_id = text_of("server_id");
  peer.server_name = text_of("server_name");
  peer.cluster = text_of("cluster");
  peer.cluster_dynamic = info->Flag("cluster_dynamic");
  peer.headers = info->Flag("headers");
  peer.lnoc = info->Flag("lnoc");
  peer.route_url = text_of("ip");
  if (const int port = info->Integer("port", 0); peer.route_url.empty() && port > 0) {
    const std::string host = ip_.find(':') != std::string::npos ? "[" + ip_ + "]" : ip_;
    peer.route_url = "nats-route://" + host + ":" + std::to_string(port) + "/";
  }
  peer.connect_urls = info->Texts("connect_urls");
  peer.leafnode_urls = info->Texts("leafnode_urls");
  if (peer.server_id.empty()) {
    LOG_ERROR("%s - route INFO without server_id", Label().c_str());
    Close(CloseReason::kProtocolViolation, false);
    return;
  }
  if (info_received_) {
    // A later INFO: gossip about another server, or an update about the peer itself.
    if (peer.server_id != peer_.server_id) {
      registry_->LearnServer(peer);
    } else if (info->Flag("ldm")) {
      // The peer is going away: clients must not be sent there any more.
      peer_.connect_urls.clear();
      if (registered_) registry_->PeerUrlsChanged();
    }
    return;
  }
  if (!Authorized()) return;
  info_received_ = true;
  if (!registry_->cluster_dynamic() && peer.cluster != registry_->cluster_name() &&
      !peer.cluster.empty()) {
    LOG_ERROR("%s - Rejecting connection, cluster name \"%s\" does not match \"%s\"",
              Label().c_str(), peer.cluster.c_str(), registry_->cluster_name().c_str());
    Close(CloseReason::kProtocolViolation, false);
    return;
  }
  peer_ = std::move(peer);
  if (!dialled_) connected_ = connect_received_;
  if (!registry_->RegisterRoute(this)) {
    // To itself, or a duplicate: closed silently, once our INFO is out (the other side
    // learns whom it reached and does not redial while that node is connected).
    Close(CloseReason::kClientClosed, true);
    return;
  }
  registered_ = true;
  connected_ = true;
}

void RouteConnection::SendLameDuckInfo() {
  if (registered_) SendProto(registry_->RouteInfoLine(true));
}

void RouteConnection::OnRouteErr(std::string_view text) {
  // Any error from a peer ends the route (nats-server does the same); the dialler retries.
  LOG_ERROR("%s - Route Error %.*s", Label().c_str(), static_cast<int>(text.size()), text.data());
  Close(CloseReason::kProtocolViolation, false);
}

void RouteConnection::OnRouteParseError(std::string_view what) {
  LOG_ERROR("%s - Route parser error: %.*s", Label().c_str(), static_cast<int>(what.size()),
            what.data());
  Close(CloseReason::kParseError, false);
}

int RouteConnection::FindAccount(std::string_view name) const {
  const auth::Accounts& accounts = shard_->options().auth.accounts;
  if (accounts.size() == 0) return name == "$G" ? 0 : -1;
  return accounts.Find(name);
}

const std::string& RouteAccountName(const auth::Accounts& accounts, uint16_t account) {
  static const std::string kGlobal = "$G";
  return account < accounts.size() ? accounts[account].name : kGlobal;
}

void RouteConnection::OnRouteSub(std::string_view account, std::string_view subject,
                                 std::string_view queue, uint32_t weight, std::string_view origin) {
  if (!Authorized() || !registered_) return;
  const int id = FindAccount(account);
  if (id < 0) {
    LOG_DEBUG("%s - RS+ for unknown account %.*s ignored", Label().c_str(),
              static_cast<int>(account.size()), account.data());
    return;
  }
  if (!IsValidSubject(subject)) {
    LOG_DEBUG("%s - RS+ with invalid subject ignored", Label().c_str());
    return;
  }
  // cluster permissions: a peer may subscribe only to what this node exports.
  if (export_check_ != nullptr && !export_check_->CanSubscribe(subject, queue)) {
    LOG_DEBUG("%s - Can not export \"%.*s\", ignoring remote subscription request", Label().c_str(),
              static_cast<int>(subject.size()), subject.data());
    return;
  }
  std::string key;
  key.reserve(account.size() + subject.size() + queue.size() + 2);
  key.append(account).append(" ").append(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto [it, inserted] = subs_.try_emplace(std::move(key));
  const std::string* origin_name =
      origin.empty() ? nullptr : &*origins_.emplace(std::string(origin)).first;
  if (!inserted) {
    Subscription* sub = it->second.get();
    if (queue.empty() || sub->weight == weight) return;
    // A new weight: peers count members, so the old weight goes and the new one comes.
    shard_->RemoveSubscription(this, sub);
    sub->weight = weight;
    shard_->AddSubscription(this, sub);
    return;
  }
  auto sub = std::make_unique<Subscription>();
  sub->account = static_cast<uint16_t>(id);
  sub->conn = this;
  sub->subject.assign(subject);
  sub->queue.assign(queue);
  sub->sid = it->first;
  sub->weight = queue.empty() ? 1 : weight;
  sub->origin = origin_name;
  shard_->AddSubscription(this, sub.get());
  it->second = std::move(sub);
}

void RouteConnection::OnRouteUnsub(std::string_view account, std::string_view subject,
                                   std::string_view queue) {
  if (!Authorized() || !registered_) return;
  std::string key;
  key.append(account).append(" ").append(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto it = subs_.find(key);
  if (it == subs_.end()) return;
  shard_->RemoveSubscription(this, it->second.get());
  subs_.erase(it);
}

void RouteConnection::OnRouteMsg(const RoutedMsg& routed) {
  if (!Authorized() || !registered_) return;
  ++in_msgs_;
  in_bytes_ += routed.data.size();
  ShardStats::Add(stats_->in_msgs, 1);
  ShardStats::Add(stats_->in_bytes, routed.data.size());
  const int id = FindAccount(routed.account);
  if (id < 0) return;
  Message msg;
  msg.subject = routed.subject;
  msg.reply = routed.reply;
  msg.data = routed.data;
  msg.header_len = routed.header_len;
  msg.account = static_cast<uint16_t>(id);
  msg.origin = ConnectionKind::kRoute;
  msg.link = static_cast<uint32_t>(id_);
  msg.route_queues = routed.queues;
  msg.origin_cluster = routed.origin;
  // An answer another node of this cluster took in on its gateway for this node.
  if (const std::string& prefix = shard_->context().gateway_reply_prefix;
      !prefix.empty() && msg.subject.starts_with(prefix)) {
    msg.subject.remove_prefix(prefix.size());
  }
  // A JetStream delivery from a nats-server peer carries the stream subject after '@' in
  // its ack reply: clients must see that subject, and the ack subject alone as reply.
  if (msg.reply.starts_with("$JS.ACK.")) {
    const std::size_t at = msg.reply.rfind('@');
    if (at != std::string_view::npos) {
      msg.display = msg.reply.substr(at + 1);
      msg.reply = msg.reply.substr(0, at);
    }
  }
  shard_->Publish(this, msg);
}

void RouteConnection::Describe(ConnInfo* info, bool with_subs) const {
  DescribeLink(info, with_subs);
  info->name = peer_.server_name;
  info->account = "$G";
}

}  // namespace tern::core
