#include "core/leaf.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "core/auth/authenticator.h"
#include "core/auth/nkeys.h"
#include "core/link_json.h"
#include "core/log.h"
#include "core/route.h"
#include "core/subject.h"

namespace tern::core {
namespace {

// The first PING about a second after the link is made, then every ping_interval.
constexpr int64_t kFirstPingNs = 1'000'000'000;
// nats-server's handshake limits: a spoke waits 1 s for the hub's INFO, then 2 s for the
// INFO that answers its CONNECT; a hub, its authorization timeout for the CONNECT.
constexpr int64_t kHubInfoWaitNs = 1'000'000'000;
constexpr int64_t kConnectInfoWaitNs = 2'000'000'000;
// A hub that reported a loop, or a cluster of the same name, is dialled again after 30 s.
constexpr int64_t kLoopDelayNs = 30'000'000'000;
constexpr int64_t kMaxPendingBytes = int64_t{256} << 20;
constexpr int64_t kCongestedBytes = int64_t{4} << 20;

// nats-server 2.9 keeps JetStream's API, KV and object store apart on every leafnode link
// of an account without a JetStream domain: neither side asks for them nor passes them.
const std::vector<std::string>& JetStreamDenies() {
  static const std::vector<std::string> kDenies = {"$JS.API.>", "$KV.>", "$OBJ.>"};
  return kDenies;
}

std::unique_ptr<auth::PermissionChecker> DenyChecker(const std::vector<std::string>& extra,
                                                     const std::string& own_domain = {}) {
  auto permissions = std::make_shared<auth::Permissions>();
  auth::SubjectPermission deny;
  deny.deny = JetStreamDenies();
  // Requests for this node's own domain are served here and never leave on a link.
  if (!own_domain.empty()) deny.deny.push_back("$JS." + own_domain + ".API.>");
  deny.deny.insert(deny.deny.end(), extra.begin(), extra.end());
  permissions->publish = deny;
  permissions->subscribe = deny;
  return std::make_unique<auth::PermissionChecker>(std::move(permissions));
}

void AppendNumber(std::string* out, std::size_t n) {
  char digits[24];
  out->append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
}

int AccountId(const auth::Accounts& accounts, const std::string& name) {
  if (accounts.size() == 0) return name.empty() || name == "$G" ? 0 : -1;
  return accounts.Find(name.empty() ? "$G" : name);
}

}  // namespace

LeafConnection::LeafConnection(ShardPort* shard, LeafRegistry* registry, uint64_t id,
                               std::string ip, int port, int remote, const RouteUrl* url)
    : LinkConnection(remote >= 0 ? ConnectionKind::kHub : ConnectionKind::kLeaf, id, shard,
                     std::move(ip), port, "Leafnode", "lid", {kCongestedBytes, kMaxPendingBytes}),
      registry_(registry),
      remote_(remote) {
  if (url != nullptr) url_ = *url;
  const LeafOptions& leaf = shard->options().leaf;
  if (remote >= 0) {
    const LeafRemote& r = leaf.remotes[static_cast<std::size_t>(remote)];
    account_ = static_cast<auth::AccountId>(AccountId(shard->options().auth.accounts, r.account));
    imports_ = DenyChecker(r.deny_imports);
    exports_ = DenyChecker(r.deny_exports, shard->options().js_domain);
  } else {
    imports_ = DenyChecker({});
    exports_ = DenyChecker({}, shard->options().js_domain);
  }
}

LeafConnection::~LeafConnection() = default;

void LeafConnection::Start(io::IoConn* io, bool) {
  io_ = io;
  StartClocks(kFirstPingNs);
  const int64_t now = shard_->now_ns();
  LOG_INFO(
      "%s - Leafnode connection created%s", Label().c_str(),
      dialled()
          ? (" for account: " + RouteAccountName(shard_->options().auth.accounts, account_)).c_str()
          : "");
  if (dialled()) {
    handshake_deadline_ns_ = now + kHubInfoWaitNs;
  } else {
    const LeafOptions& leaf = shard_->options().leaf;
    handshake_deadline_ns_ = now + std::max(leaf.auth_timeout_ns, leaf.tls.timeout_ns);
    nonce_ = auth::EncodeBase64Url(auth::RandomBytes(11));
    const std::string info = registry_->HubInfoLine(*this, HubInfo::kFirst);
    if (leaf.tls_context == nullptr) {
      SendProto(info);
    } else {
      // The INFO goes out in the clear, straight onto the wire queue; everything after it
      // (from the leafnode's ClientHello on) is TLS, as nats-server does it.
      cipher_.Append(info);
      MarkDirty();
      StartTls(leaf.tls_context, /*client=*/false, {});
    }
  }
  ArmTimer();
}

int64_t LeafConnection::NextDeadline() const {
  if (closing_) return 0;
  int64_t next = next_ping_ns_;
  if (!registered_ && handshake_deadline_ns_ != 0 && handshake_deadline_ns_ < next) {
    next = handshake_deadline_ns_;
  }
  return next;
}

void LeafConnection::OnTimer(int64_t now_ns) {
  if (closing_) return;
  if (!registered_ && handshake_deadline_ns_ != 0 && now_ns >= handshake_deadline_ns_) {
    if (!dialled()) {
      LOG_ERROR("%s - Authentication Timeout", Label().c_str());
      SendErrAndClose("Authentication Timeout", CloseReason::kAuthenticationTimeout);
    } else if (connect_sent_) {
      LOG_ERROR("%s - Stale Leaf Node Connection - Closing", Label().c_str());
      SendErrAndClose("Stale Leaf Node Connection - Closing", CloseReason::kStaleConnection);
    } else {
      LOG_ERROR("%s - no INFO from the hub within 1s", Label().c_str());
      Close(CloseReason::kStaleConnection, false);
    }
    return;
  }
  if (!registered_ || now_ns < next_ping_ns_) return;
  // A hub skips the PING when its leafnode spoke within the interval (as nats-server).
  KeepAlive(now_ns, INT64_MAX, /*skip_when_active=*/!dialled());
}

bool LeafConnection::StartClientTls(bool hub_requires) {
  const LeafRemote& remote = shard_->options().leaf.remotes[static_cast<std::size_t>(remote_)];
  std::shared_ptr<const tls::TlsContext> context = remote.tls_context;
  std::string error;
  if (context == nullptr) {
    if (!hub_requires) return true;
    // The hub requires TLS and the remote has no tls {}: the system's roots check it.
    tls::TlsConfig defaults;
    defaults.client_only = true;
    context = tls::TlsContext::Create(defaults, &error);
    if (context == nullptr) {
      LOG_ERROR("%s - %s", Label().c_str(), error.c_str());
      Close(CloseReason::kTlsHandshakeError, false);
      return false;
    }
  }
  return StartTls(std::move(context), /*client=*/true, url_.host);
}

std::size_t LeafConnection::FeedInput(const char* data, std::size_t len) {
  return parser_.Feed(data, len, *this);
}

void LeafConnection::OnLinkClosing() { registry_->LeafClosed(this, loop_delay_ns_); }

void LeafConnection::DropSubscriptions() {
  for (auto& [key, sub] : subs_) shard_->RemoveSubscription(this, sub.get());
  subs_.clear();
}

bool LeafConnection::MayAsk(std::string_view subject) const {
  return imports_->CanSubscribe(subject, {});
}

// ---------------------------------------------------------------- handshake

int LeafConnection::Authenticate(const LinkJson& connect) {
  const LeafOptions& leaf = shard_->options().leaf;
  const auth::Accounts& accounts = shard_->options().auth.accounts;
  const std::string user = connect.Text("user"), pass = connect.Text("pass");
  if (!leaf.users.empty()) {
    for (const LeafUser& u : leaf.users) {
      if (u.user == user && auth::SecretMatches(u.password, pass)) {
        return AccountId(accounts, u.account);
      }
    }
    return -1;
  }
  if (!leaf.user.empty()) {
    if (leaf.user != user || !auth::SecretMatches(leaf.password, pass)) return -1;
    return AccountId(accounts, leaf.account);
  }
  // No leafnodes authorization: the server's own applies, as to a client (users, nkeys,
  // a token, operator-mode JWTs signing this link's nonce), as nats-server does it.
  const auth::AuthConfig& config = shard_->options().auth;
  if (!config.required()) return AccountId(accounts, "$G");
  auth::Credentials credentials;
  credentials.auth_token = connect.Text("auth_token");
  credentials.user = user;
  credentials.pass = pass;
  credentials.nkey = connect.Text("nkey");
  credentials.sig = connect.Text("sig");
  credentials.jwt = connect.Text("jwt");
  credentials.client_ip = ip_;
  credentials.connection_type = "LEAFNODE";
  const auth::AuthResult result = auth::Authenticate(config, credentials, nonce_);
  if (!result.ok) {
    LOG_ERROR("%s - Leafnode authentication: %s", Label().c_str(), result.reason.c_str());
    return -1;
  }
  if (result.permissions) {
    user_permissions_ = std::make_unique<auth::PermissionChecker>(result.permissions);
  }
  return static_cast<int>(result.account);
}

void LeafConnection::OnRouteConnect(std::string_view text) {
  if (dialled() || connect_sent_) {
    SendErrAndClose("Invalid CONNECT", CloseReason::kProtocolViolation);
    return;
  }
  std::optional<LinkJson> connect = LinkJson::Parse(text);
  if (!connect) {
    LOG_ERROR("%s - bad leafnode CONNECT", Label().c_str());
    SendErrAndClose("Invalid CONNECT", CloseReason::kProtocolViolation);
    return;
  }
  auto text_of = [&](const char* key) { return connect->Text(key); };
  if (connect->Has("lang")) {
    LOG_ERROR("%s - a client connected to the leafnode port", Label().c_str());
    SendErrAndClose("attempted to connect to leaf node port", CloseReason::kProtocolViolation);
    return;
  }
  if (!text_of("gateway").empty()) {
    SendErrAndClose("Rejecting connection from gateway on the leafnode port",
                    CloseReason::kProtocolViolation);
    return;
  }
  const int account = Authenticate(*connect);
  if (account < 0) {
    LOG_ERROR("%s - Leafnode connection: Authorization Violation", Label().c_str());
    SendErrAndClose("Authorization Violation", CloseReason::kAuthenticationFailure);
    return;
  }
  peer_.server_id = text_of("server_id");
  peer_.name = text_of("name");
  peer_.cluster = text_of("cluster");
  peer_.headers = connect->Flag("headers");
  // Only a hub that names its cluster (HubInfoLine) checks the leafnode's against it.
  const ServerOptions& o = shard_->options();
  const bool named = o.cluster.enabled || !o.leaf.remotes.empty();
  if (named && !peer_.cluster.empty() && peer_.cluster == registry_->LeafClusterName()) {
    LOG_ERROR("%s - remote leafnode has same cluster name", Label().c_str());
    SendErrAndClose("remote leafnode has same cluster name", CloseReason::kProtocolViolation);
    return;
  }
  account_ = static_cast<auth::AccountId>(account);
  connect_sent_ = true;  // the handshake's CONNECT step is done (hub side)
  SendProto(registry_->HubInfoLine(*this, HubInfo::kConnectInfo));
  Register();
}

void LeafConnection::OnRouteInfo(std::string_view text) {
  std::optional<LinkJson> info = LinkJson::Parse(text);
  if (!info) {
    LOG_ERROR("%s - bad leafnode INFO", Label().c_str());
    Close(CloseReason::kProtocolViolation, false);
    return;
  }
  if (!dialled()) return;  // a leafnode has nothing to tell its hub in INFO
  auto text_of = [&](const char* key) { return info->Text(key); };
  // Every node of the hub's cluster, pushed again when it changes: the reconnect list.
  if (std::vector<std::string> urls = info->Texts("leafnode_urls"); !urls.empty()) {
    registry_->HubLeafUrls(*this, urls);
  }
  if (!info_received_) {
    info_received_ = true;
    peer_.server_id = text_of("server_id");
    peer_.name = text_of("server_name");
    peer_.cluster = text_of("cluster");
    peer_.headers = info->Flag("headers");
    nonce_ = text_of("nonce");
    if (!peer_.cluster.empty() && peer_.cluster == registry_->LeafClusterName()) {
      LOG_ERROR("%s - the hub has this node's cluster name \"%s\"", Label().c_str(),
                peer_.cluster.c_str());
      loop_delay_ns_ = kLoopDelayNs;
      Close(CloseReason::kProtocolViolation, false);
      return;
    }
    if (!StartClientTls(info->Flag("tls_required"))) return;
    SendConnect();
    if (!info->Flag("info_on_connect")) {
      Register();
    } else {
      handshake_deadline_ns_ = shard_->now_ns() + kConnectInfoWaitNs;
      ArmTimer();
    }
    return;
  }
  if (!registered_ && info->Flag("connect_info")) {
    peer_.remote_account = text_of("remote_account");
    Register();
  }
}

void LeafConnection::SendConnect() {
  nlohmann::ordered_json connect;
  connect["version"] = kNatsProtocolVersion;
  const LeafRemote& remote = shard_->options().leaf.remotes[static_cast<std::size_t>(remote_)];
  if (!remote.user_jwt.empty()) {
    connect["jwt"] = remote.user_jwt;
    connect["sig"] = auth::EncodeBase64Url(auth::SignEd25519(remote.user_seed, nonce_));
  }
  if (!url_.user.empty()) {
    connect["user"] = url_.user;
    connect["pass"] = url_.password;
  }
  connect["tls_required"] = tls_ != nullptr;
  connect["server_id"] = shard_->context().server_id;
  connect["name"] = shard_->context().server_name;
  connect["cluster"] = registry_->LeafClusterName();
  connect["headers"] = true;
  connect_sent_ = true;
  SendProto("CONNECT " + connect.dump() + "\r\n");
}

void LeafConnection::Register() {
  registered_ = true;
  connected_ = true;
  handshake_deadline_ns_ = 0;
  LOG_INFO("%s - Leafnode connection to %s (%s) registered, account %s", Label().c_str(),
           peer_.name.c_str(), peer_.server_id.c_str(),
           RouteAccountName(shard_->options().auth.accounts, account_).c_str());
  registry_->RegisterLeaf(this);
}

void LeafConnection::OnRouteErr(std::string_view text) {
  LOG_ERROR("%s - Leafnode Error %.*s", Label().c_str(), static_cast<int>(text.size()),
            text.data());
  // A loop or a cluster of the same name: nats-server's hub closes the link, and a
  // leafnode waits 30 s before it dials again. Other errors are only logged.
  if (text.find("Loop detected") != std::string_view::npos ||
      text.find("same cluster name") != std::string_view::npos) {
    loop_delay_ns_ = kLoopDelayNs;
    Close(CloseReason::kProtocolViolation, false);
  }
}

void LeafConnection::OnRouteParseError(std::string_view what) {
  LOG_ERROR("%s - Leafnode parser error: %.*s", Label().c_str(), static_cast<int>(what.size()),
            what.data());
  Close(CloseReason::kParseError, false);
}

// ---------------------------------------------------------------- interest and messages

void LeafConnection::OnRouteSub(std::string_view, std::string_view subject, std::string_view queue,
                                uint32_t weight, std::string_view) {
  if (!registered_) return;
  if (!IsValidSubject(subject)) {
    LOG_DEBUG("%s - LS+ with invalid subject ignored", Label().c_str());
    return;
  }
  if (subject == registry_->LoopSubject(account_)) {
    // Our own loop detection subject came back: this link closes a cycle.
    const std::string account = RouteAccountName(shard_->options().auth.accounts, account_);
    LOG_ERROR("%s - Loop detected for leafnode account=\"%s\"", Label().c_str(), account.c_str());
    loop_delay_ns_ = kLoopDelayNs;
    SendErrAndClose("Loop detected for leafnode account=\"" + account +
                        "\". Delaying attempt to reconnect for 30s",
                    CloseReason::kProtocolViolation);
    return;
  }
  if (!exports_->CanSubscribe(subject, queue) ||
      (user_permissions_ != nullptr && !user_permissions_->CanSubscribe(subject, queue))) {
    LOG_DEBUG("%s - leafnode asked for denied subject \"%.*s\": ignored", Label().c_str(),
              static_cast<int>(subject.size()), subject.data());
    return;
  }
  std::string key(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto [it, inserted] = subs_.try_emplace(std::move(key));
  if (!inserted) {
    Subscription* sub = it->second.get();
    if (queue.empty() || sub->weight == weight) return;
    shard_->RemoveSubscription(this, sub);  // a new weight replaces the old one
    sub->weight = weight;
    shard_->AddSubscription(this, sub);
    return;
  }
  auto sub = std::make_unique<Subscription>();
  sub->account = account_;
  sub->conn = this;
  sub->subject.assign(subject);
  sub->queue.assign(queue);
  sub->sid = it->first;
  sub->weight = queue.empty() ? 1 : weight;
  sub->fallback = true;
  shard_->AddSubscription(this, sub.get());
  it->second = std::move(sub);
}

void LeafConnection::OnRouteUnsub(std::string_view, std::string_view subject,
                                  std::string_view queue) {
  if (!registered_) return;
  std::string key(subject);
  if (!queue.empty()) key.append(" ").append(queue);
  auto it = subs_.find(key);
  if (it == subs_.end()) return;
  shard_->RemoveSubscription(this, it->second.get());
  subs_.erase(it);
}

void LeafConnection::OnRouteMsg(const RoutedMsg& routed) {
  if (!registered_) return;
  ++in_msgs_;
  in_bytes_ += routed.data.size();
  ShardStats::Add(stats_->in_msgs, 1);
  ShardStats::Add(stats_->in_bytes, routed.data.size());
  if (!imports_->CanPublish(routed.subject, shard_->now_ns())) return;
  if (user_permissions_ != nullptr &&
      !user_permissions_->CanPublish(routed.subject, shard_->now_ns())) {
    LOG_DEBUG("%s - leafnode published to denied subject \"%.*s\": dropped", Label().c_str(),
              static_cast<int>(routed.subject.size()), routed.subject.data());
    return;
  }
  Message msg;
  msg.subject = routed.subject;
  msg.reply = routed.reply;
  msg.data = routed.data;
  msg.header_len = routed.header_len;
  msg.account = account_;
  msg.origin = kind_;
  msg.link = static_cast<uint32_t>(id_);
  msg.route_queues = routed.queues;
  msg.origin_cluster = peer_.cluster;
  if (msg.reply.starts_with("$JS.ACK.")) {  // a JetStream delivery: reply@subject
    const std::size_t at = msg.reply.rfind('@');
    if (at != std::string_view::npos) {
      msg.display = msg.reply.substr(at + 1);
      msg.reply = msg.reply.substr(0, at);
    }
  }
  shard_->Publish(this, msg);
}

bool LeafConnection::DeliverMessage(const Subscription&, const Message& msg) {
  return DeliverToLink(msg, nullptr, 0);
}

bool LeafConnection::DeliverToLink(const Message& msg, const std::string_view* queues,
                                   std::size_t queue_count) {
  if (closing_ || !registered_) return false;
  if (!HasRoomForMessage()) return true;
  std::string_view data = msg.data;
  std::size_t header_len = msg.header_len;
  FitHeaders(peer_.headers, &data, &header_len);
  // LMSG <subject> [reply | + reply q... | | q...] <size>; HMSG adds the header length.
  std::string& line = line_;
  line.assign(header_len > 0 ? "HMSG " : "LMSG ");
  line.append(msg.subject);
  line.push_back(' ');
  const std::string_view reply = LinkReply(msg);
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

void LeafConnection::Describe(ConnInfo* info, bool with_subs) const {
  DescribeLink(info, with_subs);
  info->name = peer_.name;
  info->account = RouteAccountName(shard_->options().auth.accounts, account_);
}

}  // namespace tern::core
