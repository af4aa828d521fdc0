// Client: the MQTT 3.1.1 front end (mqtt_state.h). Packets are read with mqtt_packet.h and
// turned into what a NATS client does (authenticate, publish, subscribe); deliveries go out
// as MQTT PUBLISH packets. Topics map to subjects with mqtt_topic.h.
#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"
#include "core/mqtt_topic.h"
#include "core/mqtt_will.h"
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
      // 5.0: a PUBREC with a failure reason code (>= 0x80) ends the exchange: no PUBREL.
      if (packet.type == mqtt::kPubrec) {
        const bool refused =
            m.v5() && packet.body.size() >= 3 && static_cast<uint8_t>(packet.body[2]) >= 0x80;
        OnMqttPubrec(packet_id, refused);
      }
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
      return OnMqttDisconnect(packet);  // a clean goodbye: the will is discarded (5.0: unless 0x04)
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
      if (m.v5()) {
        mqtt::AppendConnack5(false, MqttConnackReason5(code), mqtt::PropertyWriter(), &answer);
      } else {
        mqtt::AppendConnack(false, code, &answer);
      }
      out_.Append(answer);
      MarkDirty();
      Close(CloseReason::kProtocolViolation, true);
      return false;
    case mqtt::ConnectStatus::kOk:
      break;
  }
  const mqtt::Connect& c = m.connect;
  if (c.has_auth_method) {  // 5.0 enhanced authentication: not served
    LOG_ERROR("%s - mqtt: authentication method not supported", LogLabel().c_str());
    mqtt::AppendConnack5(false, mqtt::kReasonBadAuthMethod, mqtt::PropertyWriter(), &answer);
    out_.Append(answer);
    MarkDirty();
    Close(CloseReason::kAuthenticationFailure, true);
    return false;
  }
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
    if (m.v5()) {
      mqtt::AppendConnack5(false, mqtt::kReasonNotAuthorized, mqtt::PropertyWriter(), &answer);
    } else {
      mqtt::AppendConnack(false, mqtt::kConnackNotAuthorized, &answer);
    }
    out_.Append(answer);
    MarkDirty();
    Close(CloseReason::kAuthenticationFailure, true);
    return false;
  }
  if (m.connect.client_id.empty()) {
    m.connect.client_id = MqttRandomToken();
    m.assigned_id = true;
  }
  m.clean_start = c.clean;
  m.persistent = m.v5() ? c.session_expiry > 0 : !c.clean;
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
  // A 5.0 will still waiting out its delay: dropped when the session is resumed, sent now
  // when a clean start ends that session.
  if (MqttWill ended; shard_->context().mqtt_registry.ResumeWill(key, c.clean, &ended)) {
    PublishMqttWill(*shard_, ended);
  }
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
  m.extra_headers.clear();
  m.publish_reply.clear();
  if (!mqtt::ParsePublish(packet, &publish, &reason, m.v5()) ||
      (m.v5() && !ResolveMqttTopicAlias(&publish)) ||
      !mqtt::TopicToSubject(publish.topic, false, &m.subject, &reason) ||
      (m.v5() && !MqttHeadersFrom(publish.props, &m.extra_headers, &m.publish_reply))) {
    LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
    Close(CloseReason::kProtocolViolation, false);
    return false;
  }
  // Live copies say they were retained (5.0 Retain As Published sets RETAIN on them).
  if (publish.retain) m.extra_headers.append(kMqttRetainLine);
  if (publish.qos == 2) return OnMqttPublishQos2(publish);  // routed once released
  const bool allowed =
      PublishFromMqtt(m.subject, publish.qos, publish.payload, m.extra_headers, m.publish_reply);
  if (closing_) return false;
  if (allowed && publish.retain) {
    StoreMqttRetained(m.subject, publish.topic, publish.qos, publish.payload, m.extra_headers);
  }
  if (publish.qos == 1) {
    if (allowed) {
      // The PUBACK once it is stored for QoS 1 subscriptions (OnMqttApiReply).
      StoreMqttMessage(m.subject, publish.packet_id, MqttStoredHeader(1, m.extra_headers),
                       publish.payload);
    } else {
      SendMqttAck(mqtt::kPuback, publish.packet_id);
    }
  }
  return true;
}

bool Client::PublishFromMqtt(std::string_view subject, uint8_t qos, std::string_view payload,
                             std::string_view extra_headers, std::string_view reply) {
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
  // NATS subscribers see the publish QoS in a header, as nats-server sends it (and a 5.0
  // client's properties as more header lines).
  const std::string_view header = MqttHeaderBlock(qos, extra_headers, &m.header_block);
  const std::size_t header_len = header.size();
  m.published.assign(header);
  m.published.append(payload);
  shard_->Publish(this, Message{.subject = subject,
                                .reply = reply,
                                .data = m.published,
                                .header_len = header_len,
                                .account = account_,
                                .origin = kind_});
  return true;
}

bool Client::OnMqttSubscribe(const mqtt::Packet& packet, bool subscribe) {
  MqttState& m = *mqtt_;
  uint16_t packet_id = 0;
  std::string reason;
  mqtt::Properties props;
  if (!mqtt::ParseSubscribe(packet, subscribe, &packet_id, &m.filters, &reason, m.v5(), &props)) {
    LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), reason.c_str());
    Close(CloseReason::kProtocolViolation, false);
    return false;
  }
  // 5.0: a Subscription Identifier names every filter of this SUBSCRIBE in its deliveries.
  const uint32_t sub_id = props.subscription_id;
  m.codes.clear();
  m.retained_filters.clear();
  const uint32_t batch = ++m.next_batch;
  for (const mqtt::Filter& filter : m.filters) {
    // MQTT 5.0 shared subscriptions: $share/<group>/<filter> is a queue group.
    std::string_view topic = filter.topic;
    std::string group;
    if (m.v5() && topic.starts_with("$share/")) {
      topic.remove_prefix(7);
      const std::size_t slash = topic.find('/');
      group.assign(topic.substr(0, slash == std::string_view::npos ? 0 : slash));
      topic = slash == std::string_view::npos ? std::string_view() : topic.substr(slash + 1);
      if (subscribe && filter.no_local) {  // MQTT-3.8.3-4
        LOG_ERROR("%s - mqtt: no local on a shared subscription", LogLabel().c_str());
        Close(CloseReason::kProtocolViolation, false);
        return false;
      }
    }
    const bool shared_ok = group.empty() == !filter.topic.starts_with("$share/") || !m.v5();
    const bool mapped = shared_ok && !topic.empty() &&
                        group.find_first_of("+#") == std::string::npos &&
                        mqtt::TopicToSubject(topic, true, &m.subject, &reason);
    const std::string prefix = group.empty() ? std::string() : "$share/" + group + "/";
    if (!subscribe) {
      const std::string sid = prefix + m.subject;
      const bool existed = mapped && m.granted.contains(sid);
      m.codes.push_back(existed ? mqtt::kReasonSuccess : mqtt::kReasonNoSubscriptionExisted);
      if (!mapped) continue;
      DropMqttConsumer(sid, true);
      RemoveSubscription(sid);
      m.granted.erase(sid);
      m.no_local.erase(sid);
      m.retain_as_published.erase(sid);
      m.sub_ids.erase(sid);
      if (NeedsLevelUp(m.subject)) {
        const std::string level_up = sid.substr(0, sid.size() - 2) + " fwc";
        DropMqttConsumer(level_up, true);
        RemoveSubscription(level_up);
        m.granted.erase(level_up);
        m.no_local.erase(level_up);
        m.retain_as_published.erase(level_up);
        m.sub_ids.erase(level_up);
      }
      needed_epoch_ = shard_->CoveringEpoch();
      continue;
    }
    // 0, 1 or 2 (2 as nats-server 2.10 grants it); a shared subscription is served at QoS 0.
    const uint8_t qos = group.empty() ? filter.qos : 0;
    // Deliveries of QoS 1 consumers ride on $MQTT.sub.>: not for clients to subscribe to.
    const bool reserved = m.subject.rfind("$MQTT.sub.", 0) == 0;
    if (!mapped || reserved || !IsValidSubject(m.subject)) {
      m.codes.push_back(m.v5() ? mqtt::kReasonTopicFilterInvalid : 0x80);
      continue;
    }
    if (permissions_ && !permissions_->CanSubscribe(m.subject, group)) {
      m.codes.push_back(m.v5() ? mqtt::kReasonNotAuthorized : 0x80);
      continue;
    }
    const std::string subject = m.subject;
    const std::string sid = prefix + subject;
    const bool existed = m.granted.contains(sid);
    const std::size_t code = m.codes.size();
    const MqttFilterOptions options{group, filter.no_local, filter.retain_as_published};
    bool ok = SubscribeMqttFilter(subject, sid, qos, batch, code, options);
    if (ok && NeedsLevelUp(subject)) {
      const std::string parent = subject.substr(0, subject.size() - 2);
      ok = SubscribeMqttFilter(parent, prefix + parent + " fwc", qos, batch, code, options);
    }
    m.codes.push_back(ok ? qos : 0x80);
    if (ok) {
      std::vector<std::string> named = {sid};
      if (NeedsLevelUp(subject))
        named.push_back(prefix + subject.substr(0, subject.size() - 2) + " fwc");
      for (const std::string& one : named) {
        if (sub_id != 0) {
          m.sub_ids[one] = sub_id;
        } else {
          m.sub_ids.erase(one);
        }
      }
    }
    // Retained messages follow the SUBACK, for the filter and the level '#' adds; 5.0's
    // Retain Handling 1 sends them only for a new subscription, 2 never; a shared
    // subscription gets none.
    const bool send_retained =
        filter.retain_handling == 0 || (filter.retain_handling == 1 && !existed);
    if (ok && send_retained && group.empty()) {
      m.retained_filters.push_back({subject, qos, sub_id});
      if (NeedsLevelUp(subject)) {
        m.retained_filters.push_back({subject.substr(0, subject.size() - 2), qos, sub_id});
      }
    }
  }
  if (!subscribe) {
    m.header.clear();
    if (m.v5()) {
      mqtt::AppendUnsuback5(packet_id, m.codes, &m.header);
    } else {
      mqtt::AppendAck(mqtt::kUnsuback, packet_id, &m.header);
    }
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
                                 uint32_t batch, std::size_t code,
                                 const MqttFilterOptions& options) {
  if (!AddMqttSubscription(subject, sid, qos, options)) return false;
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
  mqtt::AppendSuback(packet_id, codes, &m.header, m.v5());
  out_.Append(m.header);
  MarkDirty();
}

bool Client::AddMqttSubscription(std::string_view subject, const std::string& sid, uint8_t qos,
                                 const MqttFilterOptions& options) {
  mqtt_->granted[sid] = qos;
  if (options.no_local) {
    mqtt_->no_local.insert(sid);
  } else {
    mqtt_->no_local.erase(sid);
  }
  if (options.retain_as_published) {
    mqtt_->retain_as_published.insert(sid);
  } else {
    mqtt_->retain_as_published.erase(sid);
  }
  const int kind = qos > 0 ? kMqttPlainQos1 : kMqttPlain;
  if (auto it = subs_.find(sid); it != subs_.end()) {  // a new QoS for the same filter
    it->second->tag = kind;
    it->second->no_local = options.no_local;
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
  sub->queue.assign(options.group);
  sub->no_local = options.no_local;
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
      return DeliverMqttQos1(msg, sub);
    case kMqttRetained:
      return DeliverMqttRetained(sub, msg);
    case kMqttPlainQos1:
      // A message an MQTT client published at QoS 1 comes to this subscription through
      // its consumer, as QoS 1; here it would come twice.
      if (msg.header_len > 0) {
        const std::string_view published_qos = MqttHeaderValue(msg.header(), "Nmqtt-Pub");
        if (!published_qos.empty() && published_qos != "0") return false;
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
  if (!AppendMqttDelivery(m.topic, msg, payload, 0, MqttRetainAsPublished(sub.sid, msg), false, 0,
                          msg.reply, MqttSubscriptionId(sub.sid))) {
    return false;
  }
  return AfterDelivery(payload.size());
}

void Client::EndMqttSession() {
  MqttState& m = *mqtt_;
  // A session taken over loses its will with it.
  if (close_reason_ != CloseReason::kDuplicateClientId) PublishWill();
  m.will_pending = false;
  if (!m.registry_key.empty()) {
    shard_->context().mqtt_registry.Release(m.registry_key, {shard_->index(), id_});
    m.registry_key.clear();
  }
  // A clean session's consumers and QoS 2 records go with it; a persistent one's keep its
  // messages. Taken over, a session is the new connection's now: only what this connection
  // made for itself alone (a clean start's consumers) goes, and nothing is written.
  const bool taken_over = close_reason_ == CloseReason::kDuplicateClientId;
  if (!m.persistent) {
    if (!taken_over || m.clean_start) {
      while (!m.consumers.empty()) DropMqttConsumer(m.consumers.begin()->first, true);
      if (!m.qos2_received.empty()) PurgeMqttQos2Records();
    }
    // A 5.0 session resumed with expiry 0 ends here: its record goes too.
    if (m.v5() && !m.clean_start && !m.session_subject.empty() && m.connected && !taken_over) {
      MqttFireAndForget(MqttApi("STREAM.PURGE.") + kMqttSessionStream,
                        "{\"filter\":\"" + m.session_subject + "\"}");
    }
  } else if (m.connected && !taken_over &&
             ((m.v5() && m.connect.session_expiry != 0xffffffff) || !m.in_flight.empty())) {
    // When it ended (5.0 expiry counts from then), and the packet ids of unacknowledged
    // deliveries, which keep them when they are sent again.
    SaveMqttSession(/*ended=*/true);
  }
}

void Client::PublishWill() {
  MqttState& m = *mqtt_;
  if (!m.will_pending) return;
  m.will_pending = false;
  const mqtt::Connect& c = m.connect;
  MqttWill will{.account = account_,
                .topic = c.will_topic,
                .qos = c.will_qos,
                .retain = c.will_retain,
                .message = c.will_message,
                .api = MqttApi("")};
  std::string reason;
  if (!mqtt::TopicToSubject(c.will_topic, false, &will.subject, &reason)) return;
  // A 5.0 will's properties travel as a publish's do.
  uint32_t delay_s = 0;
  if (!c.will_properties.empty()) {
    std::string_view raw = c.will_properties;
    mqtt::Properties props;
    if (mqtt::ReadProperties(&raw, mqtt::kWillProperties, &props, &reason)) {
      MqttHeadersFrom(props, &will.extra_headers, &will.reply);
      delay_s = props.will_delay;
    }
  }
  if (will.retain) will.extra_headers.append(kMqttRetainLine);
  ShardStats::Add(stats_->in_msgs, 1);
  ShardStats::Add(stats_->in_bytes, will.message.size());
  if (permissions_ && !permissions_->CanPublish(will.subject, shard_->now_ns())) {
    LOG_ERROR("%s - mqtt: will to \"%s\" denied", LogLabel().c_str(), will.subject.c_str());
    return;
  }
  // 5.0 Will Delay Interval: the will waits, unless the session ends first (with the
  // connection, or when its Session Expiry Interval is shorter).
  const uint32_t delay = m.persistent ? std::min(delay_s, c.session_expiry) : 0;
  if (delay > 0 && !m.registry_key.empty()) {
    // Dropped when another connection took the session over meanwhile (token 0).
    const uint64_t token = shard_->context().mqtt_registry.HoldWill(
        m.registry_key, {shard_->index(), id_}, std::move(will));
    if (token != 0) {
      shard_->WatchMqttWill(m.registry_key, token,
                            shard_->now_ns() + int64_t{delay} * 1'000'000'000);
    }
    return;
  }
  PublishMqttWill(*shard_, will);
}

}  // namespace tern::core
