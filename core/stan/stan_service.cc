#include "core/stan/stan_service.h"

#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"
#include "core/log.h"
#include "core/shard.h"
#include "core/stan/channel.h"
#include "core/stan/protocol.h"
#include "core/stan/stan_gate.h"

namespace tern::core {
namespace {

constexpr int64_t kDuplicateProbeNs = 500'000'000;  // as nats-streaming-server

// The texts nats-streaming-server sends (docs/STAN.md, "Error strings").
constexpr std::string_view kErrInvalidConnReq = "stan: invalid connection request";
constexpr std::string_view kErrInvalidClientId =
    "stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed";
constexpr std::string_view kErrClientRegistered = "stan: clientID already registered";
constexpr std::string_view kErrInvalidCloseReq = "stan: invalid close request";
constexpr std::string_view kErrUnknownClient = "stan: unknown clientID";
constexpr std::string_view kErrReplaced = "client has been replaced or is no longer registered";

bool IsValidClientId(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The number after the last '.' of a reply token subject; 0 if there is none.
std::string RandomToken(std::size_t length) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (char c : auth::RandomBytes(length))
    out.push_back(kAlphabet[static_cast<unsigned char>(c) % 62]);
  return out;
}

uint64_t TrailingNumber(std::string_view subject) {
  uint64_t n = 0;
  for (char c : subject.substr(subject.rfind('.') + 1)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

StanService::StanService(Shard* shard, const StanOptions& options,
                         std::shared_ptr<stan::StanDirectory> directory)
    : shard_(shard), options_(options), directory_(std::move(directory)) {
  const std::string& id = options_.cluster_id;
  discover_ = "_STAN.discover." + id;
  pings_ = discover_ + ".pings";
  pub_prefix_ = "_STAN.pub." + id;
  sub_requests_ = "_STAN.sub." + id;
  unsub_requests_ = "_STAN.unsub." + id;
  sub_close_requests_ = "_STAN.subclose." + id;
  close_requests_ = "_STAN.close." + id;
  run_nonce_ = RandomToken(12);
  // Replies come back on subjects no client is handed, so none can answer in their place.
  reply_secret_ = RandomToken(16);
  api_inbox_ = "_STAN.js." + id + "." + reply_secret_;
  heartbeat_inbox_ = "_STAN.hb." + id + "." + reply_secret_;
  state_stream_ = "STANSTATE_" + id;  // never a channel's: those begin "STAN_"
  state_prefix_ = "_STAN.state." + id + ".";
}

StanService::~StanService() = default;

void StanService::Subscribe(const std::string& subject, int tag,
                            std::vector<std::string>* subjects) {
  auto sub = std::make_unique<Subscription>();
  sub->account = auth::kGlobalAccount;
  sub->sink = this;
  sub->tag = tag;
  sub->subject = subject;
  shard_->AddInternal(sub.get(), false);
  subjects->push_back(subject);
  subs_.push_back(std::move(sub));
}

void StanService::Start(std::vector<std::string>* subjects) {
  Subscribe(discover_, kConnect, subjects);
  Subscribe(pings_, kPing, subjects);
  Subscribe(sub_requests_, kSubscribe, subjects);
  Subscribe(unsub_requests_, kUnsubscribe, subjects);
  Subscribe(sub_close_requests_, kSubClose, subjects);
  Subscribe(close_requests_, kClose, subjects);
  Subscribe(api_inbox_ + ".>", kApiReply, subjects);
  Subscribe(heartbeat_inbox_ + ".>", kHeartbeatReply, subjects);
  Subscribe("_STAN.ack." + options_.cluster_id + ".>", kAck, subjects);
  phase_ = Phase::kStarting;  // the state stream is read at the first turn
  LOG_INFO("Streaming: serving STAN clients of cluster \"%s\" on JetStream",
           options_.cluster_id.c_str());
}

void StanService::OnInternalMessage(const Subscription& sub, const Message& msg) {
  // Deliveries and acks come once per message: the records are reused, and their strings
  // keep their capacity, so none allocates once warm.
  if (arrived_count_ == arrived_.size()) arrived_.emplace_back();
  Arrived& in = arrived_[arrived_count_++];
  in.tag = sub.tag;
  in.subject.assign(msg.subject);
  in.reply.assign(msg.reply);
  in.data.assign(msg.payload());
}

void StanService::Turn(int64_t now_ns) {
  now_ns_ = now_ns;
  // Handling may publish, and what it publishes may come back here: take what is queued.
  batch_.swap(arrived_);
  const std::size_t count = arrived_count_;
  arrived_count_ = 0;
  if (phase_ == Phase::kStarting) {
    phase_ = Phase::kRestoring;
    BeginRestore();
  }
  const bool serving = phase_ == Phase::kServing;
  for (std::size_t i = 0; i < count; ++i) {
    Arrived& in = batch_[i];
    // Until the state is read, only JetStream's answers are taken; requests wait.
    if (!serving && in.tag != kApiReply) {
      held_.push_back(std::move(in));
    } else {
      Handle(in);
    }
  }
  if (phase_ != Phase::kServing) {
    // A restore waits on JetStream's answers: one that never comes must not hold every
    // request (and every gate's publishes) for ever.
    return ExpireCalls();
  }
  if (!held_.empty()) {
    std::deque<Arrived> held;
    held.swap(held_);
    for (const Arrived& in : held) Handle(in);
  }
  RunTimers();
}

void StanService::Handle(const Arrived& in) {
  switch (in.tag) {
    case kConnect:
      return OnConnect(in);
    case kPing:
      return OnPing(in);
    case kClose:
      return OnClose(in);
    case kApiReply:
      return OnApiReply(TrailingNumber(in.subject), in.data);
    case kHeartbeatReply:
      return OnHeartbeatReply(TrailingNumber(in.subject));
    case kSubscribe:
      return OnSubscribe(in);
    case kUnsubscribe:
      return OnUnsubscribe(in, /*close=*/false);
    case kSubClose:
      return OnUnsubscribe(in, /*close=*/true);
    case kDeliver:
      return OnDeliver(in);
    case kAck:
      return OnAck(in);
    default:
      return;
  }
}

std::string StanService::Token(std::string_view prefix, uint64_t token) const {
  return std::string(prefix) + "." + std::to_string(token);
}

void StanService::Send(std::string_view subject, std::string_view reply, std::string_view data) {
  shard_->Route(
      Message{.subject = subject, .reply = reply, .data = data, .account = auth::kGlobalAccount},
      nullptr);
}

// ------------------------------------------------------------------ clients

void StanService::OnConnect(const Arrived& in) {
  if (in.reply.empty()) return;
  stan::ConnectRequest request;
  std::string out;
  auto refuse = [&](std::string_view error) {
    stan::Encode(stan::ConnectResponse{.error = error}, &out);
    Send(in.reply, {}, out);
  };
  if (!stan::Decode(in.data, &request) || request.heartbeat_inbox.empty()) {
    return refuse(kErrInvalidConnReq);
  }
  if (!IsValidClientId(request.client_id)) return refuse(kErrInvalidClientId);
  const std::string id(request.client_id);
  if (probes_.count(id) != 0) return refuse(kErrClientRegistered);
  auto existing = clients_.find(id);
  if (existing == clients_.end()) return Register(in.data, in.reply);
  // Is the registered one alive? It answers a heartbeat within half a second if it is.
  const uint64_t token = ++next_token_;
  probes_[id] = DuplicateProbe{in.data, in.reply, token, now_ns_ + kDuplicateProbeNs};
  heartbeats_[token] = id;
  Send(existing->second.heartbeat_inbox, Token(heartbeat_inbox_, token), {});
}

void StanService::Register(std::string_view request_bytes, const std::string& reply) {
  stan::ConnectRequest request;
  stan::Decode(request_bytes, &request);  // checked by OnConnect
  const std::string id(request.client_id);
  StanClient& client = clients_[id];
  client.id = id;
  client.heartbeat_inbox = std::string(request.heartbeat_inbox);
  client.conn_id = std::string(request.conn_id);
  client.next_heartbeat_ns = now_ns_ + options_.hb_interval_ns;
  if (!client.conn_id.empty()) by_conn_id_[client.conn_id] = id;
  PublishDirectory();  // the gates know it before it is told it is connected
  stan::ConnectResponse response{.pub_prefix = pub_prefix_,
                                 .sub_requests = sub_requests_,
                                 .unsub_requests = unsub_requests_,
                                 .close_requests = close_requests_,
                                 .sub_close_requests = sub_close_requests_,
                                 .protocol = stan::kProtocolOne};
  if (request.protocol >= stan::kProtocolOne) {
    // Echoed as nats-streaming-server does: the client pings at the rate it asked for.
    response.ping_requests = pings_;
    response.ping_interval = request.ping_interval;
    response.ping_max_out = request.ping_max_out;
  }
  std::string out;
  stan::Encode(response, &out);
  // Answered once its record is stored: a client told it is connected stays so across a
  // restart.
  const std::string conn_id = client.conn_id;
  WriteState("c." + id, ClientRecord(client),
             [this, id, conn_id, reply, out](const std::string& error) {
               auto it = clients_.find(id);
               if (it == clients_.end() || it->second.conn_id != conn_id) return;
               if (error.empty()) return Send(reply, {}, out);
               std::string refused;
               stan::Encode(stan::ConnectResponse{.error = error}, &refused);
               Send(reply, {}, refused);
               RemoveClient(id);
             });
}

void StanService::RemoveClient(const std::string& id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  ForgetState("c." + id);
  // Its subscriptions go as if each were closed: durables stay, offline.
  std::vector<uint64_t> owned;
  for (const auto& [sub_id, sub] : stan_subs_) {
    if (sub.client_id == id) owned.push_back(sub_id);
  }
  for (uint64_t sub_id : owned) DropSub(sub_id, /*close=*/true);
  if (!it->second.conn_id.empty()) by_conn_id_.erase(it->second.conn_id);
  if (it->second.heartbeat_outstanding != 0) heartbeats_.erase(it->second.heartbeat_outstanding);
  clients_.erase(it);
  PublishDirectory();
}

void StanService::OnPing(const Arrived& in) {
  stan::Ping ping;
  // An empty or unreadable ping gets no answer, as from nats-streaming-server.
  if (in.reply.empty() || in.data.empty() || !stan::Decode(in.data, &ping)) return;
  const bool known = by_conn_id_.count(std::string(ping.conn_id)) != 0;
  std::string out;
  stan::Encode(stan::PingResponse{.error = known ? std::string_view() : kErrReplaced}, &out);
  Send(in.reply, {}, out);
}

void StanService::OnClose(const Arrived& in) {
  stan::CloseRequest request;
  std::string_view error;
  if (!stan::Decode(in.data, &request)) {
    error = kErrInvalidCloseReq;
  } else if (clients_.count(std::string(request.client_id)) == 0) {
    error = kErrUnknownClient;
  } else {
    RemoveClient(std::string(request.client_id));
  }
  if (in.reply.empty()) return;
  std::string out;
  stan::Encode(stan::CloseResponse{.error = error}, &out);
  Send(in.reply, {}, out);
}

void StanService::OnHeartbeatReply(uint64_t token) {
  auto it = heartbeats_.find(token);
  if (it == heartbeats_.end()) return;
  const std::string id = it->second;
  heartbeats_.erase(it);
  auto probe = probes_.find(id);
  if (probe != probes_.end() && probe->second.token == token) {
    // The registered client is alive: the newcomer is refused.
    std::string out;
    stan::Encode(stan::ConnectResponse{.error = kErrClientRegistered}, &out);
    Send(probe->second.reply, {}, out);
    probes_.erase(probe);
    return;
  }
  auto client = clients_.find(id);
  if (client == clients_.end() || client->second.heartbeat_outstanding != token) return;
  client->second.heartbeat_outstanding = 0;
  client->second.failed_heartbeats = 0;
  client->second.next_heartbeat_ns = now_ns_ + options_.hb_interval_ns;
}

void StanService::RunTimers() {
  for (auto it = probes_.begin(); it != probes_.end();) {
    if (now_ns_ < it->second.deadline_ns) {
      ++it;
      continue;
    }
    // No answer: the registered client is gone, the newcomer takes its id.
    LOG_INFO("Streaming: client \"%s\" replaced (the previous one did not answer)",
             it->first.c_str());
    heartbeats_.erase(it->second.token);
    RemoveClient(it->first);
    const DuplicateProbe probe = std::move(it->second);
    it = probes_.erase(it);
    Register(probe.request, probe.reply);
  }
  std::vector<std::string> lost;
  for (auto& [id, client] : clients_) {
    if (client.heartbeat_outstanding != 0 && now_ns_ >= client.heartbeat_deadline_ns) {
      heartbeats_.erase(client.heartbeat_outstanding);
      client.heartbeat_outstanding = 0;
      client.next_heartbeat_ns = now_ns_ + options_.hb_interval_ns;
      if (++client.failed_heartbeats > options_.hb_fail_count) lost.push_back(id);
    }
    if (client.heartbeat_outstanding == 0 && now_ns_ >= client.next_heartbeat_ns) {
      const uint64_t token = ++next_token_;
      client.heartbeat_outstanding = token;
      client.heartbeat_deadline_ns = now_ns_ + options_.hb_timeout_ns;
      heartbeats_[token] = id;
      Send(client.heartbeat_inbox, Token(heartbeat_inbox_, token), {});
    }
  }
  for (const std::string& id : lost) {
    LOG_INFO("Streaming: client \"%s\" closed: it missed %lld heartbeats", id.c_str(),
             static_cast<long long>(options_.hb_fail_count + 1));
    RemoveClient(id);
  }
  ExpireCalls();
  PruneUnacked(now_ns_);
  RetireInactiveChannels();
}

void StanService::ExpireCalls() {
  // Calls are looked through only when one may be overdue, not at every turn.
  if (next_call_check_ns_ != 0 && now_ns_ >= next_call_check_ns_) {
    next_call_check_ns_ = 0;
    std::vector<ApiCall> overdue;
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (now_ns_ < it->second.deadline_ns) {
        if (next_call_check_ns_ == 0 || it->second.deadline_ns < next_call_check_ns_) {
          next_call_check_ns_ = it->second.deadline_ns;
        }
        ++it;
        continue;
      }
      overdue.push_back(std::move(it->second));
      calls_.erase(it++);
    }
    for (ApiCall& call : overdue) {
      FinishCall(std::move(call), R"({"error":{"description":"JetStream did not answer"}})");
    }
  }
}

int64_t StanService::NextDeadline() const {
  int64_t next = 0;
  auto earliest = [&next](int64_t t) {
    if (t != 0 && (next == 0 || t < next)) next = t;
  };
  for (const auto& [id, probe] : probes_) earliest(probe.deadline_ns);
  for (const auto& [id, client] : clients_) {
    earliest(client.heartbeat_outstanding != 0 ? client.heartbeat_deadline_ns
                                               : client.next_heartbeat_ns);
  }
  earliest(next_call_check_ns_);
  earliest(NextPruneNs());
  earliest(next_inactivity_check_ns_);
  return next;
}

// ------------------------------------------------------------------ the gates

void StanService::PublishDirectory() {
  auto snapshot = std::make_shared<stan::DirectorySnapshot>();
  snapshot->serving = phase_ == Phase::kServing;
  for (const auto& [id, client] : clients_) snapshot->client_ids.insert(id);
  for (const auto& [conn_id, id] : by_conn_id_) snapshot->conn_ids.insert(conn_id);
  for (const auto& [name, channel] : channels_) {
    if (channel.ready) snapshot->channels.emplace(name, channel.entry);
  }
  directory_->Publish(std::move(snapshot));
}

void StanService::OpenChannelFor(StanGate* gate, const std::string& name) {
  std::string_view error;
  Channel* channel = OpenChannel(name, &error);
  if (channel == nullptr) return ResolveGate(gate, name, std::string(error));
  channel->last_activity_ns = now_ns_;
  // Ready already: the gate's request crossed the directory that says so.
  if (channel->ready) return ResolveGate(gate, name, {});
  auto& gates = channel->waiting_gates;
  if (std::find(gates.begin(), gates.end(), gate) == gates.end()) gates.push_back(gate);
}

void StanService::ResolveGate(StanGate* gate, const std::string& name, std::string error) {
  gate->shard()->Post(
      [gate, name, error = std::move(error)] { gate->OnChannelResolved(name, error); });
}

void StanService::TrackCall(uint64_t token, ApiCall call) {
  if (next_call_check_ns_ == 0 || call.deadline_ns < next_call_check_ns_) {
    next_call_check_ns_ = call.deadline_ns;
  }
  calls_[token] = std::move(call);
}

void StanService::OnApiReply(uint64_t token, std::string_view body) {
  auto it = calls_.find(token);
  if (it == calls_.end()) return;
  ApiCall call = std::move(it->second);
  calls_.erase(it);
  FinishCall(std::move(call), body);
}

void StanService::FinishCall(ApiCall call, std::string_view body) {
  nlohmann::json answer = nlohmann::json::parse(body, nullptr, false);
  std::string error;
  if (answer.is_discarded() || !answer.is_object()) {
    error = "stan: unreadable answer from JetStream";
    answer = nlohmann::json::object();
  } else if (auto e = answer.find("error"); e != answer.end()) {
    auto text = e->is_object() ? e->find("description") : e->end();
    error = text != e->end() && text->is_string() ? text->get<std::string>()
                                                  : std::string("JetStream error");
  }
  try {
    DispatchAnswer(std::move(call), error, answer);
  } catch (const nlohmann::json::exception& e) {
    // An answer of an unexpected shape costs that request, never the server.
    LOG_WARN("Streaming: unexpected answer from JetStream: %s", e.what());
  }
}

void StanService::DispatchAnswer(ApiCall call, const std::string& error,
                                 const nlohmann::json& answer) {
  if (call.done) return call.done(error, answer);
  if (call.feed != 0) return FinishFeedCall(call, error, answer);
  OnChannelAnswer(call, error);
}

}  // namespace tern::core
