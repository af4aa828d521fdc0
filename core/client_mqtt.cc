// Client: the MQTT 3.1.1 front end (mqtt_state.h). Packets are read with mqtt_packet.h and
// turned into what a NATS client does (authenticate, publish, subscribe); deliveries go out
// as MQTT PUBLISH packets. Topics map to subjects with mqtt_topic.h.
#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"
#include "core/mqtt_topic.h"
#include "core/subject.h"

namespace tern::core {
namespace {

// A filter ending in "#" also matches its parent level: "a/#" is "a.>" and "a".
bool NeedsLevelUp(std::string_view subject) {
  return subject.size() >= 3 && subject.substr(subject.size() - 2) == ".>";
}

}  // namespace

std::string MqttRandomToken() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const std::string random = auth::RandomBytes(22);
  std::string token;
  for (char c : random) token.push_back(kAlphabet[static_cast<unsigned char>(c) % 62]);
  return token;
}

Connection* MakeMqttClient(ShardPort* shard, uint64_t id, std::string ip, int port) {
  auto* client = new Client(shard, id, std::move(ip), port);
  client->mqtt_ = std::make_unique<MqttState>();
  return client;
}

std::size_t Client::FeedMqtt(const char* data, std::size_t len) {
  MqttState& m = *mqtt_;
  if (m.jailed_until_ns != 0) return len;  // held off: nothing it sends counts
  // Packets are read straight from the socket's bytes; only a packet cut across reads is
  // copied (into m.partial) until it is whole.
  const std::size_t buffered = m.partial.size();
  std::string_view input(data, len);
  if (buffered > 0) {
    m.partial.append(data, len);
    input = m.partial;
  }
  const ServerOptions& o = shard_->options();
  // nats-server does not bound MQTT packets; a broker must: a publish may carry max_payload
  // bytes plus room for its topic.
  const std::size_t max_body = static_cast<std::size_t>(o.max_payload) + 65536;
  std::size_t at = 0;
  bool need_more = false;
  while (at < input.size() && !closing_ && !stalled_ && !m.connack_waiting) {
    if (!m.connected && (static_cast<uint8_t>(input[at]) >> 4) != mqtt::kConnect) {
      // As nats-server: known from the first byte, without waiting for the packet.
      LOG_ERROR("%s - mqtt: first packet should be a CONNECT", LogLabel().c_str());
      Close(CloseReason::kProtocolViolation, false);
      break;
    }
    mqtt::Packet packet;
    const mqtt::ReadStatus status = mqtt::ReadPacket(input.substr(at), max_body, &packet);
    if (status == mqtt::ReadStatus::kNeedMore) {
      need_more = true;
      break;
    }
    if (status != mqtt::ReadStatus::kPacket) {
      LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(),
                status == mqtt::ReadStatus::kTooLarge ? "packet larger than max_payload allows"
                                                      : "malformed remaining length");
      Close(CloseReason::kProtocolViolation, false);
      break;
    }
    const bool go_on = OnMqttPacket(packet);
    at += packet.size;
    if (!go_on) break;
  }
  if (closing_) {
    m.partial.clear();
    return len;
  }
  if (need_more || at == input.size() || m.connack_waiting) {
    // Keep the incomplete packet; everything given was taken.
    if (buffered > 0) {
      m.partial.erase(0, at);
    } else {
      m.partial.assign(input.substr(at));
    }
    return len;
  }
  // Stalled between packets: hand back what this call's bytes still hold.
  if (buffered == 0) return at;
  if (at >= buffered) {
    m.partial.clear();
    return at - buffered;
  }
  m.partial.resize(buffered);
  m.partial.erase(0, at);
  return 0;
}

bool Client::OnMqttPacket(const mqtt::Packet& packet) {
  MqttState& m = *mqtt_;
  std::string reason;
  if (!m.connected) {
    if (packet.type != mqtt::kConnect) {
      LOG_ERROR("%s - mqtt: first packet should be a CONNECT", LogLabel().c_str());
      Close(CloseReason::kProtocolViolation, false);
      return false;
    }
    return OnMqttConnect(packet);
  }
  switch (packet.type) {
    case mqtt::kPublish:
      return OnMqttPublish(packet);
    case mqtt::kSubscribe:
    case mqtt::kUnsubscribe:
      return OnMqttSubscribe(packet, packet.type == mqtt::kSubscribe);
    case mqtt::kPuback:
    case mqtt::kPubrec:
    case mqtt::kPubrel:
    case mqtt::kPubcomp: {
      uint16_t packet_id = 0;
      // PUBREL's fixed header flags must be 0b0010 (MQTT-3.6.1-1).
      if (!mqtt::ParsePacketId(packet, &packet_id) ||
          packet.flags != (packet.type == mqtt::kPubrel ? 0x02 : 0)) {
        reason = "malformed acknowledgement (type " + std::to_string(packet.type) + ")";
        break;
      }
      if (packet.type == mqtt::kPuback) OnMqttPuback(packet_id);
      if (packet.type == mqtt::kPubrec) OnMqttPubrec(packet_id);
      if (packet.type == mqtt::kPubrel) OnMqttPubrel(packet_id);
      if (packet.type == mqtt::kPubcomp) OnMqttPubcomp(packet_id);
      return !closing_;
    }
    case mqtt::kPingreq: {
      std::string& out = m.header;
      out.clear();
      mqtt::AppendPingresp(&out);
      out_.Append(out);
      MarkDirty();
      return true;
    }
    case mqtt::kDisconnect:
      m.will_pending = false;  // a clean goodbye: the will is discarded
      Close(CloseReason::kClientClosed, true);
      return false;
    case mqtt::kConnect:
      reason = "second CONNECT packet";
      break;
    default:
      reason = "protocol " + std::to_string(packet.type) + " not supported";
      break;
  }
  LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
  Close(CloseReason::kProtocolViolation, false);
  return false;
}

bool Client::OnMqttConnect(const mqtt::Packet& packet) {
  MqttState& m = *mqtt_;
  std::string reason;
  uint8_t code = 0;
  std::string& answer = m.header;
  answer.clear();
  switch (mqtt::ParseConnect(packet.body, &m.connect, &code, &reason)) {
    case mqtt::ConnectStatus::kClose:
      LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
      Close(CloseReason::kProtocolViolation, false);
      return false;
    case mqtt::ConnectStatus::kRefused:
      LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
      mqtt::AppendConnack(false, code, &answer);
      out_.Append(answer);
      MarkDirty();
      Close(CloseReason::kProtocolViolation, true);
      return false;
    case mqtt::ConnectStatus::kOk:
      break;
  }
  const mqtt::Connect& c = m.connect;
  if (c.will) {
    std::string subject;
    if (!mqtt::TopicToSubject(c.will_topic, false, &subject, &reason) || c.will_topic.empty() ||
        !mqtt::IsValidMqttString(c.will_topic)) {
      LOG_ERROR("%s - mqtt: invalid will topic \"%s\"", LogLabel().c_str(), c.will_topic.c_str());
      Close(CloseReason::kProtocolViolation, false);
      return false;
    }
  }
  if (!AuthenticateMqtt()) {
    mqtt::AppendConnack(false, mqtt::kConnackNotAuthorized, &answer);
    out_.Append(answer);
    MarkDirty();
    Close(CloseReason::kAuthenticationFailure, true);
    return false;
  }
  if (m.connect.client_id.empty()) m.connect.client_id = MqttRandomToken();
  // One connection per client id (per account): a newer one takes the session over, and
  // the older is closed without its will. An id taken over less than a second ago is held
  // off for that second and closed unanswered (nats-server's guard against two clients
  // fighting over one id).
  const std::string key = std::to_string(account_) + ":" + m.connect.client_id;
  bool jailed = false;
  const MqttRegistry::Owner previous =
      shard_->context().mqtt_registry.Claim(key, {shard_->index(), id_}, shard_->now_ns(), &jailed);
  if (jailed) {
    LOG_INFO("%s - mqtt: client ID \"%s\" was taken over less than a second ago: held off",
             LogLabel().c_str(), m.connect.client_id.c_str());
    m.jailed_until_ns = shard_->now_ns() + MqttRegistry::kJailNs;
    ArmTimer();
    return false;
  }
  m.registry_key = key;
  if (previous.shard >= 0) {
    LOG_INFO("%s - mqtt: client ID \"%s\" taken over from cid:%lu", LogLabel().c_str(),
             m.connect.client_id.c_str(), static_cast<unsigned long>(previous.conn_id));
    shard_->CloseConnectionOn(previous.shard, previous.conn_id, CloseReason::kDuplicateClientId);
  }
  connected_ = true;
  m.connected = true;
  m.will_pending = c.will;
  name_ = m.connect.client_id;
  if (c.keepalive > 0) {
    // nats-server's read deadline: floor(1.5 x keep-alive) seconds.
    m.keepalive_ns = (int64_t{c.keepalive} + c.keepalive / 2) * 1'000'000'000;
    ArmTimer();
  }
  // The CONNACK once the account's streams exist and the session was read (OnMqttApiReply).
  StartMqttJetStream();
  return !m.connack_waiting;
}

bool Client::AuthenticateMqtt() {
  const auth::AuthConfig& config = AuthRules();
  if (!config.required()) return true;
  const mqtt::Connect& c = mqtt_->connect;
  auth::Credentials credentials;
  credentials.connection_type = "MQTT";
  credentials.user = c.user;
  credentials.pass = c.password;
  credentials.client_ip = ip_;
  // As nats-server: the password also stands for a token.
  if (!config.token.empty()) credentials.auth_token = c.password;
  const auth::AuthResult result = Check(config, credentials);
  if (!result.ok) {
    LOG_ERROR("%s - mqtt: Authorization Violation: %s", LogLabel().c_str(), result.reason.c_str());
    return false;
  }
  if (!JoinAccount(result.account)) return false;
  credentials_ = std::move(credentials);
  auth_user_ = result.user;
  account_ = result.account;
  if (result.permissions) {
    permissions_ = std::make_unique<auth::PermissionChecker>(result.permissions);
  }
  ApplyLimits(result.max_subscriptions, result.max_payload);
  return true;
}

bool Client::OnMqttPublish(const mqtt::Packet& packet) {
  MqttState& m = *mqtt_;
  mqtt::Publish publish;
  std::string reason;
  if (!mqtt::ParsePublish(packet, &publish, &reason) ||
      !mqtt::TopicToSubject(publish.topic, false, &m.subject, &reason)) {
    LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
    Close(CloseReason::kProtocolViolation, false);
    return false;
  }
  if (publish.qos == 2) return OnMqttPublishQos2(publish);  // routed once released
  const bool allowed = PublishFromMqtt(m.subject, publish.qos, publish.payload);
  if (closing_) return false;
  if (allowed && publish.retain) {
    StoreMqttRetained(m.subject, publish.topic, publish.qos, publish.payload);
  }
  if (publish.qos == 1) {
    if (allowed) {
      // The PUBACK once it is stored for QoS 1 subscriptions (OnMqttApiReply).
      StoreMqttMessage(m.subject, publish.packet_id, MqttPublishHeader(1), publish.payload);
    } else {
      SendMqttAck(mqtt::kPuback, publish.packet_id);
    }
  }
  return true;
}

bool Client::PublishFromMqtt(std::string_view subject, uint8_t qos, std::string_view payload) {
  MqttState& m = *mqtt_;
  ShardStats::Add(stats_->in_msgs, 1);
  ShardStats::Add(stats_->in_bytes, payload.size());
  ++in_msgs_;
  in_bytes_ += payload.size();
  // As nats-server: a denied publish is dropped (a QoS 1 one still acknowledged).
  if (permissions_ && !permissions_->CanPublish(subject, shard_->now_ns())) {
    LOG_ERROR("%s - mqtt: publish to \"%.*s\" denied", LogLabel().c_str(),
              static_cast<int>(subject.size()), subject.data());
    return false;
  }
  // NATS subscribers see the publish QoS in a header, as nats-server sends it.
  const std::string_view header = MqttPublishHeader(qos);
  m.published.assign(header);
  m.published.append(payload);
  shard_->Publish(this, Message{.subject = subject,
                                .reply = {},
                                .data = m.published,
                                .header_len = header.size(),
                                .account = account_,
                                .origin = kind_});
  return true;
}

bool Client::OnMqttSubscribe(const mqtt::Packet& packet, bool subscribe) {
  MqttState& m = *mqtt_;
  uint16_t packet_id = 0;
  std::string reason;
  if (!mqtt::ParseSubscribe(packet, subscribe, &packet_id, &m.filters, &reason)) {
    LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
    Close(CloseReason::kProtocolViolation, false);
    return false;
  }
  m.codes.clear();
  m.retained_filters.clear();
  const uint32_t batch = ++m.next_batch;
  for (const mqtt::Filter& filter : m.filters) {
    const bool mapped = mqtt::TopicToSubject(filter.topic, true, &m.subject, &reason);
    if (!subscribe) {
      if (!mapped) continue;
      const std::string sid = m.subject;
      DropMqttConsumer(sid, true);
      RemoveSubscription(sid);
      m.granted.erase(sid);
      if (NeedsLevelUp(sid)) {
        const std::string level_up = sid.substr(0, sid.size() - 2) + " fwc";
        DropMqttConsumer(level_up, true);
        RemoveSubscription(level_up);
        m.granted.erase(level_up);
      }
      needed_epoch_ = shard_->CoveringEpoch();
      continue;
    }
    const uint8_t qos = filter.qos;  // 0, 1 or 2 (2 as nats-server 2.10 grants it)
    // Deliveries of QoS 1 consumers ride on $MQTT.sub.>: not for clients to subscribe to.
    const bool reserved = m.subject.rfind("$MQTT.sub.", 0) == 0;
    if (!mapped || reserved || !IsValidSubject(m.subject) ||
        (permissions_ && !permissions_->CanSubscribe(m.subject, {}))) {
      m.codes.push_back(0x80);
      continue;
    }
    const std::string subject = m.subject;
    const std::size_t code = m.codes.size();
    bool ok = SubscribeMqttFilter(subject, subject, qos, batch, code);
    if (ok && NeedsLevelUp(subject)) {
      const std::string parent = subject.substr(0, subject.size() - 2);
      ok = SubscribeMqttFilter(parent, parent + " fwc", qos, batch, code);
    }
    m.codes.push_back(ok ? qos : 0x80);
    if (ok) {
      // Retained messages follow the SUBACK, for the filter and the level '#' adds.
      m.retained_filters.emplace_back(subject, qos);
      if (NeedsLevelUp(subject)) {
        m.retained_filters.emplace_back(subject.substr(0, subject.size() - 2), qos);
      }
    }
  }
  if (!subscribe) {
    m.header.clear();
    mqtt::AppendAck(mqtt::kUnsuback, packet_id, &m.header);
    out_.Append(m.header);
    MarkDirty();
    SaveMqttSession();
    return true;
  }
  auto waiting = m.subacks.find(batch);
  if (waiting != m.subacks.end()) {  // the SUBACK once its QoS 1 consumers exist
    waiting->second.packet_id = packet_id;
    waiting->second.codes = m.codes;
    waiting->second.retained = m.retained_filters;
    return true;
  }
  SendMqttSuback(packet_id, m.codes);
  FetchMqttRetained(m.retained_filters);
  SaveMqttSession();
  return true;
}

bool Client::SubscribeMqttFilter(std::string_view subject, const std::string& sid, uint8_t qos,
                                 uint32_t batch, std::size_t code) {
  if (!AddMqttSubscription(subject, sid, qos)) return false;
  if (qos == 0) {
    DropMqttConsumer(sid, true);  // back to QoS 0: its consumer goes
    return true;
  }
  if (StartMqttConsumer(sid, subject, qos, batch, code)) return true;
  RemoveSubscription(sid);
  mqtt_->granted.erase(sid);
  return false;
}

void Client::SendMqttSuback(uint16_t packet_id, const std::vector<uint8_t>& codes) {
  MqttState& m = *mqtt_;
  // The answer waits, as a PONG does, until every shard applied the subscriptions: a
  // publish after the SUBACK reaches them.
  HoldBehindSubscriptions();
  m.header.clear();
  mqtt::AppendSuback(packet_id, codes, &m.header);
  out_.Append(m.header);
  MarkDirty();
}

bool Client::AddMqttSubscription(std::string_view subject, const std::string& sid, uint8_t qos) {
  mqtt_->granted[sid] = qos;
  const int kind = qos > 0 ? kMqttPlainQos1 : kMqttPlain;
  if (auto it = subs_.find(sid); it != subs_.end()) {  // a new QoS for the same filter
    it->second->tag = kind;
    return true;
  }
  if (AtSubscriptionLimit()) {
    mqtt_->granted.erase(sid);
    return false;
  }
  auto sub = std::make_unique<Subscription>();
  sub->conn = this;
  sub->account = account_;
  sub->subject.assign(subject);
  sub->sid = sid;
  sub->tag = kind;
  shard_->AddSubscription(this, sub.get());
  subs_.emplace(sid, std::move(sub));
  needed_epoch_ = shard_->CoveringEpoch();
  return true;
}

bool Client::DeliverMqtt(const Subscription& sub, const Message& msg) {
  MqttState& m = *mqtt_;
  switch (sub.tag) {
    case kMqttApi:
      QueueMqttApiReply(msg);
      return false;
    case kMqttDeliver:
    case kMqttDeliverQos2:
      return DeliverMqttQos1(msg, sub.tag == kMqttDeliverQos2);
    case kMqttRetained:
      return DeliverMqttRetained(sub, msg);
    case kMqttPlainQos1:
      // A message an MQTT client published at QoS 1 comes to this subscription through
      // its consumer, as QoS 1; here it would come twice.
      if (msg.header_len > 0 && msg.header().find("Nmqtt-Pub:0") == std::string_view::npos &&
          msg.header().find("Nmqtt-Pub:") != std::string_view::npos) {
        return false;
      }
      break;
    default:
      break;
  }
  const std::string_view subject = msg.shown_subject();
  if (permissions_ && permissions_->has_delivery_filter() &&
      permissions_->DeliveryDenied(subject)) {
    return false;
  }
  // MQTT subscribers get the payload: headers (and reply subjects) stay behind.
  const std::string_view payload = std::string_view(msg.data).substr(msg.header_len);
  m.topic.clear();
  mqtt::SubjectToTopic(subject, &m.topic);
  m.header.clear();
  mqtt::AppendPublishHeader(m.topic, payload.size(), 0, false, false, 0, &m.header);
  out_.Append(m.header);
  out_.Append(payload);
  return AfterDelivery(payload.size());
}

void Client::EndMqttSession() {
  MqttState& m = *mqtt_;
  if (!m.registry_key.empty()) {
    shard_->context().mqtt_registry.Release(m.registry_key, {shard_->index(), id_});
    m.registry_key.clear();
  }
  // A session taken over loses its will with it.
  if (close_reason_ != CloseReason::kDuplicateClientId) PublishWill();
  m.will_pending = false;
  // A clean session's consumers and QoS 2 records go with it; a persistent one's keep its
  // messages.
  if (m.connect.clean) {
    while (!m.consumers.empty()) DropMqttConsumer(m.consumers.begin()->first, true);
    if (!m.qos2_received.empty()) PurgeMqttQos2Records();
  }
}

void Client::PublishWill() {
  MqttState& m = *mqtt_;
  if (!m.will_pending) return;
  m.will_pending = false;
  std::string reason;
  if (!mqtt::TopicToSubject(m.connect.will_topic, false, &m.subject, &reason)) return;
  if (!PublishFromMqtt(m.subject, m.connect.will_qos, m.connect.will_message)) return;
  if (m.connect.will_qos > 0 && !m.inbox.empty()) {
    StoreMqttMessage(m.subject, 0, MqttPublishHeader(m.connect.will_qos), m.connect.will_message);
  }
}

}  // namespace tern::core
