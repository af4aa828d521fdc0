#include "core/client.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "core/clock.h"
#include "core/log.h"
#include "core/msg_encode.h"
#include "core/strings.h"
#include "core/subject.h"

namespace tern::core {
namespace {

// A subscriber holds its publishers back once this much is queued for it (and until half
// of it is left): enough to cover a loop turn's burst, small enough that a fan-out to many
// slower readers does not pile up memory (1 MiB here peaked at 93 MiB on fan-out 1->64
// against 41 MiB at 256 KiB, at the same rate: docs/BENCHMARKS.md, memory).
int64_t CongestedAbove(int64_t max_pending) {
  return std::min<int64_t>(max_pending / 4 * 3, int64_t{256} << 10);
}

// Reads an optional JSON field of the expected type; false if present with another type.
template <typename T>
bool ReadField(const nlohmann::json& object, const char* key, T* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
  } else if constexpr (std::is_same_v<T, int>) {
    if (!it->is_number_integer()) return false;
  } else {
    if (!it->is_string()) return false;
  }
  *out = it->get<T>();
  return true;
}

}  // namespace

const char* CloseReasonText(CloseReason reason) {
  switch (reason) {
    case CloseReason::kClientClosed:
      return "Client Closed";
    case CloseReason::kProtocolViolation:
      return "Protocol Violation";
    case CloseReason::kParseError:
      return "Parse Error";
    case CloseReason::kMaxPayload:
      return "Maximum Payload Exceeded";
    case CloseReason::kMaxConnections:
      return "Maximum Connections Exceeded";
    case CloseReason::kSlowConsumerPending:
      return "Slow Consumer (Pending Bytes)";
    case CloseReason::kSlowConsumerDeadline:
      return "Slow Consumer (Write Deadline)";
    case CloseReason::kStaleConnection:
      return "Stale Connection";
    case CloseReason::kWriteError:
      return "Write Error";
    case CloseReason::kServerShutdown:
      return "Server Shutdown";
    case CloseReason::kAuthenticationFailure:
      return "Authentication Failure";
    case CloseReason::kAuthenticationTimeout:
      return "Authentication Timeout";
    case CloseReason::kAuthenticationExpired:
      return "Authentication Expired";
    case CloseReason::kTlsRequired:
      return "Secure Connection - TLS Required";
    case CloseReason::kTlsHandshakeError:
      return "TLS Handshake Error";
    case CloseReason::kDuplicateClientId:
      return "Duplicate Client ID";
  }
  return "Unknown";
}

namespace {

// The status of the close frame a WebSocket client gets (nats-server's mapping).
uint16_t WebsocketCloseCode(CloseReason reason) {
  switch (reason) {
    case CloseReason::kClientClosed:
      return kWsCloseNormal;
    case CloseReason::kProtocolViolation:
    case CloseReason::kParseError:
      return kWsCloseProtocolError;
    case CloseReason::kMaxPayload:
      return kWsCloseTooBig;
    case CloseReason::kServerShutdown:
      return kWsCloseGoingAway;
    case CloseReason::kMaxConnections:
    case CloseReason::kSlowConsumerPending:
    case CloseReason::kSlowConsumerDeadline:
    case CloseReason::kAuthenticationFailure:
    case CloseReason::kAuthenticationTimeout:
    case CloseReason::kAuthenticationExpired:
      return kWsClosePolicy;
    case CloseReason::kStaleConnection:
    case CloseReason::kWriteError:
      return 1006;
    case CloseReason::kTlsRequired:
    case CloseReason::kTlsHandshakeError:
      return kWsCloseTls;
    case CloseReason::kDuplicateClientId:
      return kWsCloseInternal;
  }
  return kWsCloseInternal;
}

}  // namespace

Connection* MakeClient(ShardPort* shard, uint64_t id, std::string ip, int port) {
  return new Client(shard, id, std::move(ip), port);
}

Connection* MakeWebsocketClient(ShardPort* shard, uint64_t id, std::string ip, int port) {
  return new Client(shard, id, std::move(ip), port, /*websocket=*/true);
}

Client::Client(ShardPort* shard, uint64_t id, std::string ip, int port, bool websocket)
    : SocketConnection(ConnectionKind::kClient, id, shard),
      ip_(std::move(ip)),
      port_(port),
      websocket_(websocket),
      parser_(
          ProtocolParser::Limits{shard->options().max_control_line, shard->options().max_payload}) {
  scratch_.reserve(512);
}

Client::~Client() { LeaveAccount(); }

std::string Client::InfoLine(bool lame_duck) const {
  std::string line = "INFO {" + shard_->info_prefix() + shard_->cluster_info();
  if (lame_duck) line += "\"ldm\":true,";
  if (!nonce_.empty()) line += "\"nonce\":\"" + nonce_ + "\",";
  if (websocket_ && !shard_->options().auth.required() && AuthRules().required()) {
    line += "\"auth_required\":true,";  // the websocket block's own authorization
  }
  line += "\"client_id\":" + std::to_string(id_) + ",\"client_ip\":\"" + ip_ + "\"}\r\n";
  return line;
}

void Client::Start(io::IoConn* io, bool over_connection_limit) {
  io_ = io;
  last_in_ns_ = shard_->now_ns();
  start_mono_ns_ = last_in_ns_;
  start_unix_ns_ = WallClockNs();
  // MQTT clients get no server pings: their keep-alive is theirs to keep.
  next_ping_ns_ = mqtt_ ? 0 : last_in_ns_ + shard_->options().ping_interval_ns;
  const auth::AuthConfig& auth = AuthRules();
  if (auth.required()) {
    auth_deadline_ns_ = last_in_ns_ + auth.timeout_ns;
    if (auth.wants_nonce()) nonce_ = NewNonce();
  }
  if (websocket_) {
    // The client speaks first (HTTP, over TLS when the websocket port has it); INFO
    // follows the 101 (OnWebsocketUpgraded).
    const WebsocketOptions& ws = shard_->options().websocket;
    EnableWebsocket(&ws.policy);
    if (ws.handshake_timeout_ns > 0)
      ws_handshake_deadline_ns_ = last_in_ns_ + ws.handshake_timeout_ns;
    if (ws.tls_context) {
      tls_ = std::make_unique<tls::TlsSession>(ws.tls_context);
      tls_deadline_ns_ = last_in_ns_ + ws.tls_context->config().timeout_ns;
    }
  } else if (mqtt_) {
    // The client speaks first (CONNECT), over TLS when the mqtt block has it.
    if (const auto& context = shard_->options().mqtt.tls_context) {
      tls_ = std::make_unique<tls::TlsSession>(context);
      tls_deadline_ns_ = last_in_ns_ + context->config().timeout_ns;
    }
  } else if (const auto& context = shard_->options().tls_context) {
    tls_ = std::make_unique<tls::TlsSession>(context);
    tls_deadline_ns_ = last_in_ns_ + context->config().timeout_ns;
    if (context->config().handshake_first) {
      info_after_handshake_ = true;  // the client speaks first; INFO follows, encrypted
    } else {
      // INFO goes out in clear; the client then starts the handshake.
      cipher_.Append(InfoLine(false));
      MarkDirty();
    }
  } else {
    SendText(InfoLine(false));
  }
  if (over_connection_limit) {
    SendErr("maximum connections exceeded");
    Close(CloseReason::kMaxConnections, true);
    return;
  }
  ArmTimer();
}

void Client::OnWebsocketUpgraded() {
  if (ws_->mqtt()) {
    if (!shard_->options().mqtt.enabled) {
      // MQTT over WebSocket needs the mqtt block (its settings and authorization).
      ws_out_.Append(WsCloseFrame(kWsCloseInternal, "MQTT is not configured"));
      MarkDirty();
      Close(CloseReason::kProtocolViolation, true);
      return;
    }
    // The MQTT front end from here on, with the MQTT port's authorization.
    mqtt_ = std::make_unique<MqttState>();
    next_ping_ns_ = 0;
    const auth::AuthConfig& auth = AuthRules();
    auth_deadline_ns_ = auth.required() ? last_in_ns_ + auth.timeout_ns : 0;
    ArmTimer();
    return;
  }
  SendText(InfoLine(false));
}

void Client::ArmTimer() {
  const int64_t at = NextDeadline();
  if (at != 0 && (!timer.queued() || at < timer.at)) shard_->ArmTimer(this, at);
}

int64_t Client::NextDeadline() const {
  if (closing_) return 0;
  int64_t next = next_ping_ns_;
  auto consider = [&next](int64_t at) {
    if (at != 0 && (next == 0 || at < next)) next = at;
  };
  if (tls_ && !tls_->handshake_done()) consider(tls_deadline_ns_);
  if (ws_ && !ws_->upgraded()) consider(ws_handshake_deadline_ns_);
  if (mqtt_ && mqtt_->keepalive_ns > 0) consider(last_in_ns_ + mqtt_->keepalive_ns);
  if (mqtt_) {
    if (!mqtt_->replies.empty() || !mqtt_->finished_fetches.empty()) consider(shard_->now_ns());
    consider(mqtt_->jailed_until_ns);
    consider(MqttRequestDeadline());
  }
  if (!connected_) consider(auth_deadline_ns_);
  consider(auth_expires_ns_);
  if (send_started_ns_ != 0 && io_ != nullptr && io_->send_in_flight) {
    consider(send_started_ns_ + shard_->options().write_deadline_ns);
  }
  return next;
}

void Client::OnBytes(const char* data, std::size_t len) {
  if (closing_) return;
  last_in_ns_ = shard_->now_ns();
  if (!tls_) return TakeInput(data, len);
  if (!tls_started_ && len > 0 && data[0] != 0x16) {
    // Not a TLS handshake record: a client speaking plaintext to a TLS server.
    LOG_ERROR("%s:%d - cid:%lu - client did not start TLS", ip_.c_str(), port_,
              static_cast<unsigned long>(id_));
    cipher_.Append("-ERR 'Secure Connection - TLS Required'\r\n");
    MarkDirty();
    Close(CloseReason::kTlsRequired, true);
    return;
  }
  tls_started_ = true;
  std::string error;
  tls_plain_.clear();  // reused: no allocation per read once it has grown
  if (!tls_->Receive(std::string_view(data, len), &tls_plain_, &error)) {
    LOG_ERROR("%s:%d - cid:%lu - %s", ip_.c_str(), port_, static_cast<unsigned long>(id_),
              error.c_str());
    Close(CloseReason::kTlsHandshakeError, false);
    return;
  }
  if (tls_->has_output()) MarkDirty();
  if (info_after_handshake_ && tls_->handshake_done()) {
    info_after_handshake_ = false;
    SendText(InfoLine(false));
  }
  if (!tls_plain_.empty()) TakeInput(tls_plain_.data(), tls_plain_.size());
}

std::size_t Client::FeedInput(const char* data, std::size_t len) {
  if (mqtt_) return FeedMqtt(data, len);
  std::size_t used = len;
  parser_.Feed(data, len, *this, &used);
  return used;
}

std::string Client::LogLabel() const {
  return ip_ + ":" + std::to_string(port_) + " - cid:" + std::to_string(id_);
}

void Client::OnPeerClosed(int err) {
  // Whatever is queued may still reach a peer that only half-closed.
  Close(CloseReason::kClientClosed, true);
}

void Client::SendText(std::string_view text) {
  if (mqtt_) return;
  out_.Append(text);
  MarkDirty();
}

void Client::SendErr(std::string_view text) {
  std::string line = "-ERR '";
  line.append(text);
  line += "'\r\n";
  SendText(line);
}

bool Client::DeliverMessage(const Subscription& sub, const Message& msg) {
  if (mqtt_) [[unlikely]]
    return DeliverMqtt(sub, msg);
  const std::string_view subject = msg.shown_subject();
  std::string_view reply = msg.reply;
  if (IsGatewayRoutedReply(reply)) [[unlikely]] {
    // A request from another cluster: the client sees the reply it was made with, and its
    // answer is mapped back to the routed form (nats-server's gateway reply mapping).
    if (!gateway_replies_) gateway_replies_ = std::make_unique<GatewayReplyMap>();
    gateway_replies_->Remember(reply, shard_->now_ns());
    reply = ShownReply(reply);
  }
  std::string_view data = msg.data;
  std::size_t header_len = msg.header_len;
  // A client that did not declare headers gets the payload alone, as plain MSG.
  if (header_len > 0 && !headers_) {
    data.remove_prefix(header_len);
    header_len = 0;
  }
  if (permissions_) {  // only users with permissions pay for these checks
    if (permissions_->has_delivery_filter() && permissions_->DeliveryDenied(subject)) return false;
    if (permissions_->tracks_responses()) permissions_->NoteRequest(reply, shard_->now_ns());
  }
  AppendMsgFrame(&out_, &scratch_, subject, sub.sid, reply, header_len, data);
  return AfterDelivery(data.size());
}

bool Client::AfterDelivery(std::size_t payload_bytes) {
  ++out_msgs_;
  out_bytes_ += payload_bytes;
  ShardStats::Add(stats_->out_msgs, 1);
  ShardStats::Add(stats_->out_bytes, payload_bytes);
  MarkDirty();
  const int64_t pending = static_cast<int64_t>(PendingBytes());
  const int64_t max_pending = shard_->options().max_pending;
  if (pending > max_pending) {
    LOG_INFO("%s:%d - cid:%lu - Slow Consumer Detected: MaxPending of %ld Exceeded", ip_.c_str(),
             port_, static_cast<unsigned long>(id_), static_cast<long>(max_pending));
    shard_->CountSlowConsumer();
    Close(CloseReason::kSlowConsumerPending, false);
    return false;
  }
  if (pending <= CongestedAbove(max_pending)) return false;
  if (congestion_.Begin(shard_->now_ns(), out_.consumed_total())) shard_->AddCongested(this);
  return StillCongesting(shard_->now_ns());
}

bool Client::StillCongesting(int64_t now_ns) {
  // One that drains too slowly is left to reach max_pending and be cut off.
  return !closing_ &&
         congestion_.Still(now_ns, PendingBytes(), CongestedAbove(shard_->options().max_pending),
                           out_.consumed_total());
}

void Client::SendNoResponders(std::string_view sid, std::string_view reply) {
  std::string& line = scratch_;
  line.assign("HMSG ");
  line.append(reply);
  line.push_back(' ');
  line.append(sid);
  line.append(" 16 16\r\nNATS/1.0 503\r\n\r\n\r\n");
  out_.Append(line);
  MarkDirty();
}

void Client::Flush() {
  dirty = false;
  if (io_ == nullptr || io_->send_in_flight || io_->closing) return;
  if (NothingQueued()) return;
  if (closing_ && !close_after_flush_) return;  // aborting: what is queued is dropped
  uint64_t limit = UINT64_MAX;
  if (!holds_.empty()) limit = holds_.front().first - out_.consumed_total();
  if (SendQueued(limit)) ArmTimer();  // the write deadline
}

void Client::ReleaseHolds(uint64_t acked_epoch) {
  bool released = false;
  while (!holds_.empty() && holds_.front().second <= acked_epoch) {
    holds_.pop_front();
    released = true;
  }
  if (released) MarkDirty();
}

void Client::Close(CloseReason reason, bool flush) {
  if (closing_) {
    if (!flush) close_after_flush_ = false;
    return;
  }
  // An MQTT 5.0 client learns why with a DISCONNECT (not when it said goodbye itself, nor
  // when the socket failed).
  if (mqtt_ && mqtt_->v5() && mqtt_->connected && !mqtt_->connack_waiting &&
      reason != CloseReason::kClientClosed && reason != CloseReason::kWriteError &&
      reason != CloseReason::kSlowConsumerPending && reason != CloseReason::kSlowConsumerDeadline) {
    std::string disconnect;
    mqtt::AppendDisconnect5(
        mqtt_->disconnect_reason != 0 ? mqtt_->disconnect_reason : MqttDisconnectReason5(reason),
        &disconnect);
    out_.Append(disconnect);
    MarkDirty();
    flush = true;
  }
  closing_ = true;
  close_reason_ = reason;
  close_after_flush_ = flush;
  if (websocket_ && flush) {
    QueueWebsocketClose(WebsocketCloseCode(reason), reason == CloseReason::kMaxPayload
                                                        ? "Maximum Message Payload Exceeded"
                                                        : CloseReasonText(reason));
  }
  holds_.clear();
  close_deadline_ns_ = shard_->now_ns() + int64_t{2'000'000'000};
  LOG_DEBUG("%s:%d - cid:%lu - connection closed: %s", ip_.c_str(), port_,
            static_cast<unsigned long>(id_), CloseReasonText(reason));
  shard_->ScheduleClose(this);
}

bool Client::WantsIoClose() const {
  if (!closing_) return false;
  if (!close_after_flush_) return true;
  return PendingBytes() == 0 || shard_->now_ns() >= close_deadline_ns_;
}

void Client::OnTimer(int64_t now_ns) {
  if (closing_) return;
  if (mqtt_) RunMqttDeferredWork();
  if (closing_) return;
  if (tls_ && !tls_->handshake_done() && now_ns >= tls_deadline_ns_) {
    LOG_ERROR("%s:%d - cid:%lu - TLS handshake timeout", ip_.c_str(), port_,
              static_cast<unsigned long>(id_));
    Close(CloseReason::kTlsHandshakeError, false);
    return;
  }
  if (ws_ && !ws_->upgraded() && ws_handshake_deadline_ns_ != 0 &&
      now_ns >= ws_handshake_deadline_ns_) {
    // As nats-server's HTTP read timeout: the connection is dropped without an answer.
    LOG_ERROR("%s:%d - cid:%lu - websocket handshake timeout", ip_.c_str(), port_,
              static_cast<unsigned long>(id_));
    Close(CloseReason::kStaleConnection, false);
    return;
  }
  if (!connected_ && auth_deadline_ns_ != 0 && now_ns >= auth_deadline_ns_) {
    LOG_ERROR("%s:%d - cid:%lu - Authentication Timeout", ip_.c_str(), port_,
              static_cast<unsigned long>(id_));
    SendErr("Authentication Timeout");
    Close(CloseReason::kAuthenticationTimeout, true);
    return;
  }
  if (auth_expires_ns_ != 0 && now_ns >= auth_expires_ns_) {
    LOG_INFO("%s:%d - cid:%lu - User Authentication Expired (user \"%s\")", ip_.c_str(), port_,
             static_cast<unsigned long>(id_), auth_user_.c_str());
    SendErr("User Authentication Expired");
    Close(CloseReason::kAuthenticationExpired, true);
    return;
  }
  const ServerOptions& o = shard_->options();
  if (send_started_ns_ != 0 && io_ != nullptr && io_->send_in_flight &&
      now_ns - send_started_ns_ > o.write_deadline_ns) {
    LOG_INFO("%s:%d - cid:%lu - Slow Consumer Detected: WriteDeadline of %ldms Exceeded",
             ip_.c_str(), port_, static_cast<unsigned long>(id_),
             static_cast<long>(o.write_deadline_ns / 1'000'000));
    shard_->CountSlowConsumer();
    Close(CloseReason::kSlowConsumerDeadline, false);
    return;
  }
  if (mqtt_) {
    if (mqtt_->jailed_until_ns != 0 && now_ns >= mqtt_->jailed_until_ns) {
      Close(CloseReason::kDuplicateClientId, false);
      return;
    }
    const int64_t request_deadline = MqttRequestDeadline();
    if (request_deadline != 0 && now_ns >= request_deadline) {
      LOG_ERROR("%s - mqtt: JetStream did not answer in time", LogLabel().c_str());
      Close(CloseReason::kServerShutdown, false);
      return;
    }
    if (mqtt_->keepalive_ns > 0 && now_ns >= last_in_ns_ + mqtt_->keepalive_ns) {
      LOG_DEBUG("%s - mqtt: keep alive expired", LogLabel().c_str());
      Close(CloseReason::kStaleConnection, false);  // the will goes out (PublishWill)
    }
    return;
  }
  if (now_ns < next_ping_ns_) return;
  next_ping_ns_ = now_ns + o.ping_interval_ns;
  if (pings_out_ + 1 > o.ping_max) {
    LOG_DEBUG("cid:%lu - Stale Client Connection - Closing", static_cast<unsigned long>(id_));
    shard_->CountStale();
    SendErr("Stale Connection");
    Close(CloseReason::kStaleConnection, true);
    return;
  }
  // A client that spoke within the interval is alive; no need to ask, once its round trip
  // is known (nats-server measures it with the first PING and again every hour).
  constexpr int64_t kRttMeasurementInterval = int64_t{3600} * 1'000'000'000;
  const bool need_rtt = rtt_ns_ == 0 || now_ns - rtt_measured_ns_ > kRttMeasurementInterval;
  if (now_ns - last_in_ns_ < o.ping_interval_ns && pings_out_ == 0 && !need_rtt) return;
  ++pings_out_;
  if (ping_sent_ns_ == 0) ping_sent_ns_ = now_ns;
  SendText("PING\r\n");
}

void Client::SendInfoUpdate() {
  if (closing_) return;
  // As nats-server: only once the client has its first PONG (else right after it), and
  // only to clients that speak protocol 1 (not known before their CONNECT).
  if (!pong_sent_) {
    info_after_pong_ = true;
  } else if (protocol_ >= 1) {
    SendText(InfoLine(false));
  }
}

void Client::SendLameDuckInfo() {
  if (protocol_ >= 1 && !closing_) SendText(InfoLine(true));
}

void Client::DropSubscriptions() {
  for (auto& [sid, sub] : subs_) shard_->RemoveSubscription(this, sub.get());
  subs_.clear();
  if (mqtt_) EndMqttSession();
}

void Client::RemoveSubscription(const std::string& sid) {
  auto it = subs_.find(sid);
  if (it == subs_.end()) return;
  shard_->RemoveSubscription(this, it->second.get());
  subs_.erase(it);
}

// --- protocol ---

bool Client::OnConnect(std::string_view json) {
  nlohmann::json object = nlohmann::json::parse(json, nullptr, false);
  if (object.is_discarded() || !object.is_object()) {
    LOG_ERROR("%s:%d - cid:%lu - CONNECT is not a JSON object", ip_.c_str(), port_,
              static_cast<unsigned long>(id_));
    if (AuthRules().required()) {  // no credentials can be read from it
      SendErr("Authorization Violation");
      Close(CloseReason::kAuthenticationFailure, true);
      return false;
    }
    Close(CloseReason::kProtocolViolation, true);
    return false;
  }
  bool verbose = true, pedantic = true, echo = true, headers = false, no_responders = false;
  int protocol = 0;
  std::string name, lang, version;
  if (!ReadField(object, "verbose", &verbose) || !ReadField(object, "pedantic", &pedantic) ||
      !ReadField(object, "echo", &echo) || !ReadField(object, "headers", &headers) ||
      !ReadField(object, "no_responders", &no_responders) ||
      !ReadField(object, "protocol", &protocol) || !ReadField(object, "name", &name) ||
      !ReadField(object, "lang", &lang) || !ReadField(object, "version", &version)) {
    LOG_ERROR("%s:%d - cid:%lu - CONNECT has a field of the wrong type", ip_.c_str(), port_,
              static_cast<unsigned long>(id_));
    Close(CloseReason::kProtocolViolation, true);
    return false;
  }
  if (protocol < 0 || protocol > 1) {
    SendErr("invalid client protocol");
    Close(CloseReason::kProtocolViolation, true);
    return false;
  }
  if (no_responders && !headers) {
    SendErr("no responders requires headers support");
    Close(CloseReason::kProtocolViolation, true);
    return false;
  }
  if (!Authenticate(object)) return false;
  const bool was_connected = connected_;
  connected_ = true;
  verbose_ = verbose;
  pedantic_ = pedantic;
  echo_ = echo;
  headers_ = headers && !shard_->options().no_header_support;
  no_responders_ = no_responders;
  protocol_ = protocol;
  name_ = std::move(name);
  lang_ = std::move(lang);
  version_ = std::move(version);
  SendOk();
  if (!was_connected) {
    ConnInfo info;
    Describe(&info, false);
    shard_->PublishClientEvent(info, true);
  }
  return true;
}

bool Client::OnPub(const PubFrame& frame) {
  if (!connected_ && RefusedBeforeConnect()) return false;
  if (frame.hpub && !headers_) {
    LOG_ERROR("%s:%d - cid:%lu - HPUB from a connection that did not declare headers", ip_.c_str(),
              port_, static_cast<unsigned long>(id_));
    Close(CloseReason::kProtocolViolation, true);
    return false;
  }
  if (pedantic_ && !IsValidLiteralSubject(frame.subject)) {
    SendErr("Invalid Publish Subject");
    return true;
  }
  ShardStats::Add(stats_->in_msgs, 1);
  ShardStats::Add(stats_->in_bytes, frame.data.size());
  ++in_msgs_;
  in_bytes_ += frame.data.size();
  if (permissions_ && !permissions_->CanPublish(frame.subject, shard_->now_ns())) {
    SendPermissionViolation("Publish", frame.subject);
    return true;
  }
  SendOk();  // nats-server acknowledges before delivering (even to the publisher itself)
  std::string_view subject = frame.subject;
  if (gateway_replies_ && !gateway_replies_->empty()) [[unlikely]] {
    subject = gateway_replies_->Routed(subject, shard_->now_ns());
  }
  shard_->Publish(this, Message{.subject = subject,
                                .reply = frame.reply,
                                .data = frame.data,
                                .header_len = frame.header_len,
                                .account = account_,
                                .origin = kind_});
  return !closing_;
}

bool Client::OnSub(std::string_view subject, std::string_view queue, std::string_view sid) {
  if (!connected_ && RefusedBeforeConnect()) return false;
  if (!IsValidSubject(subject)) {
    SendErr("Invalid Subject");
    return true;
  }
  if (permissions_ && !permissions_->CanSubscribe(subject, queue)) {
    SendPermissionViolation("Subscription", subject, queue);
    return true;
  }
  if (AtSubscriptionLimit()) {
    SendErr("maximum subscriptions exceeded");
    return true;
  }
  auto [it, inserted] = subs_.try_emplace(std::string(sid));
  if (inserted) {  // re-using a sid is a silent no-op, as in nats-server
    auto sub = std::make_unique<Subscription>();
    sub->conn = this;
    sub->account = account_;
    sub->subject.assign(subject);
    sub->queue.assign(queue);
    sub->sid.assign(sid);
    shard_->AddSubscription(this, sub.get());
    it->second = std::move(sub);
    needed_epoch_ = shard_->CoveringEpoch();
  }
  SendOk();
  return true;
}

bool Client::OnUnsub(std::string_view sid, int64_t max, bool max_given) {
  if (!connected_ && RefusedBeforeConnect()) return false;
  auto it = subs_.find(AbslView(sid));
  if (it != subs_.end()) {
    Subscription* sub = it->second.get();
    if (max_given && max > 0 && static_cast<uint64_t>(max) > sub->delivered) {
      sub->max = static_cast<uint64_t>(max);
    } else {
      shard_->RemoveSubscription(this, sub);
      subs_.erase(it);
      needed_epoch_ = shard_->CoveringEpoch();
    }
  }
  SendOk();
  return true;
}

bool Client::AtSubscriptionLimit() const {
  const int64_t server_max = shard_->options().max_subscriptions;
  const bool over_server = server_max > 0 && static_cast<int64_t>(subs_.size()) >= server_max;
  const bool over_user =
      max_subscriptions_ >= 0 && static_cast<int64_t>(subs_.size()) >= max_subscriptions_;
  return over_server || over_user;
}

void Client::HoldBehindSubscriptions() {
  if (needed_epoch_ != 0 && !shard_->EpochAcked(needed_epoch_)) {
    if (holds_.empty()) shard_->HoldUntilAcked(this);
    holds_.emplace_back(out_.appended_total(), needed_epoch_);
  }
}

bool Client::OnPing() {
  if (!connected_ && RefusedBeforeConnect()) return false;
  // Hold this PONG (and all output after it) until every shard has applied this client's
  // subscription changes: SUB + PING/PONG is the clients' barrier.
  HoldBehindSubscriptions();
  SendText("PONG\r\n");
  if (!pong_sent_) {
    pong_sent_ = true;
    if (info_after_pong_ && protocol_ >= 1) SendText(InfoLine(false));
  }
  return true;
}

bool Client::OnPong() {
  pings_out_ = 0;
  if (ping_sent_ns_ != 0) {
    rtt_ns_ = std::max<int64_t>(1, shard_->now_ns() - ping_sent_ns_);
    rtt_measured_ns_ = shard_->now_ns();
    ping_sent_ns_ = 0;
  }
  return true;
}

void Client::OnParseError(ParseError error, std::string_view detail) {
  // As nats-server: with authentication required, a first byte other than CONNECT's 'C' is
  // an authorization violation before it is a protocol error.
  const bool starts_connect = !detail.empty() && (detail[0] == 'C' || detail[0] == 'c');
  if (error == ParseError::kUnknownOp && !connected_ && !starts_connect && RefusedBeforeConnect()) {
    return;
  }
  switch (error) {
    case ParseError::kUnknownOp:
      SendErr("Unknown Protocol Operation");
      break;
    case ParseError::kControlLine:
      SendErr("maximum control line exceeded");
      break;
    case ParseError::kMaxPayload:
      SendErr("Maximum Payload Violation");
      break;
    case ParseError::kBadArguments:
    case ParseError::kClientError:
      break;  // nats-server closes these without an -ERR; the log says why
  }
  LOG_ERROR("%s:%d - cid:%lu - Client parser ERROR: %.*s", ip_.c_str(), port_,
            static_cast<unsigned long>(id_),
            static_cast<int>(std::min<std::size_t>(detail.size(), 128)), detail.data());
  // As nats-server records them: a payload over the limit, a control line over the limit,
  // and everything else the parser refuses as a protocol violation.
  Close(error == ParseError::kMaxPayload    ? CloseReason::kMaxPayload
        : error == ParseError::kControlLine ? CloseReason::kParseError
                                            : CloseReason::kProtocolViolation,
        true);
}

}  // namespace tern::core
