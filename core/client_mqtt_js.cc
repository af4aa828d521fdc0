// Client: MQTT QoS 1 through JetStream, as nats-server keeps it. A QoS 1 PUBLISH is stored
// in the $MQTT_msgs stream (interest retention) and acknowledged with PUBACK once stored;
// a QoS 1 subscription is a durable consumer of that stream whose deliveries become QoS 1
// PUBLISHes, acknowledged back to JetStream by the client's PUBACK and redelivered (DUP,
// the same packet id) when not. Everything goes through the JetStream API on the message
// path, as a client's requests do: the connection layer does not call JetStream.
#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"
#include "core/mqtt_topic.h"

namespace tern::core {
namespace {

// The JetStream API's answer is an error.
bool IsApiError(std::string_view payload) {
  return payload.find("\"error\"") != std::string_view::npos;
}

// Token `index` (0-based) of a dot-separated subject.
std::string_view Token(std::string_view subject, int index) {
  for (int i = 0; i < index; ++i) {
    const std::size_t dot = subject.find('.');
    if (dot == std::string_view::npos) return {};
    subject.remove_prefix(dot + 1);
  }
  return subject.substr(0, subject.find('.'));
}

}  // namespace

uint64_t Client::MqttRequest(std::string_view subject, std::string_view body,
                             MqttState::Request request, std::size_t header_len) {
  MqttState& m = *mqtt_;
  const uint64_t id = ++m.next_request;
  m.reply = m.inbox + "." + std::to_string(id);
  request.deadline_ns = shard_->now_ns() + kMqttApiTimeoutNs;
  m.requests.emplace(id, std::move(request));
  shard_->Publish(this, Message{.subject = subject,
                                .reply = m.reply,
                                .data = body,
                                .header_len = header_len,
                                .account = account_,
                                .origin = kind_});
  ArmTimer();
  return id;
}

std::string Client::MqttApi(std::string_view rest) const {
  const std::string& domain = shard_->options().mqtt.js_domain;
  std::string subject = domain.empty() ? "$JS.API." : "$JS." + domain + ".API.";
  subject.append(rest);
  return subject;
}

void Client::MqttFireAndForget(std::string_view subject, std::string_view body) {
  // The API answers only requests with a reply, so this one has request id 0, which nothing
  // waits for.
  const std::string reply = mqtt_->inbox.empty() ? std::string() : mqtt_->inbox + ".0";
  shard_->Publish(this, Message{.subject = subject,
                                .reply = reply,
                                .data = body,
                                .header_len = 0,
                                .account = account_,
                                .origin = kind_});
}

void Client::StartMqttJetStream() {
  MqttState& m = *mqtt_;
  m.inbox = "$MQTT.JSA." + MqttRandomToken();
  AddInternalMqttSubscription(m.inbox + ".>", kMqttApi);
  if (shard_->context().mqtt_registry.StreamsReady(account_)) return LoadMqttSession();
  // Made once per account (the answer for an existing stream of the same config is a
  // success); the CONNACK waits for them.
  const nlohmann::json messages = {
      {"name", kMqttMsgsStream}, {"subjects", {std::string(kMqttMsgsPrefix) + ">"}},
      {"retention", "interest"}, {"storage", "file"},
      {"discard", "old"},        {"num_replicas", 1}};
  const nlohmann::json retained = {{"name", kMqttRetainedStream},
                                   {"subjects", {std::string(kMqttRetainedPrefix) + ">"}},
                                   {"retention", "limits"},
                                   {"max_msgs_per_subject", 1},
                                   {"storage", "file"},
                                   {"discard", "old"},
                                   {"num_replicas", 1}};
  const nlohmann::json sessions = {
      {"name", kMqttSessionStream}, {"subjects", {std::string(kMqttSessionPrefix) + ">"}},
      {"retention", "limits"},      {"max_msgs_per_subject", 1},
      {"storage", "file"},          {"discard", "old"},
      {"num_replicas", 1}};
  const nlohmann::json qos2 = {
      {"name", kMqttQos2Stream}, {"subjects", {std::string(kMqttQos2Prefix) + ">"}},
      {"retention", "limits"},   {"max_msgs_per_subject", 1},
      {"storage", "file"},       {"discard", "old"},
      {"num_replicas", 1}};
  m.connack_waiting = true;
  m.streams_waiting = 4;
  MqttRequest(MqttApi("STREAM.CREATE.") + kMqttQos2Stream, qos2.dump(),
              {.kind = MqttState::RequestKind::kStreams});
  MqttRequest(MqttApi("STREAM.CREATE.") + kMqttSessionStream, sessions.dump(),
              {.kind = MqttState::RequestKind::kStreams});
  MqttRequest(MqttApi("STREAM.CREATE.") + kMqttMsgsStream, messages.dump(),
              {.kind = MqttState::RequestKind::kStreams});
  MqttRequest(MqttApi("STREAM.CREATE.") + kMqttRetainedStream, retained.dump(),
              {.kind = MqttState::RequestKind::kStreams});
}

void Client::AddInternalMqttSubscription(const std::string& subject, MqttSubKind kind) {
  auto sub = std::make_unique<Subscription>();
  sub->conn = this;
  sub->account = account_;
  sub->subject = subject;
  sub->sid = subject;
  sub->tag = kind;
  shard_->AddSubscription(this, sub.get());
  subs_[subject] = std::move(sub);
  needed_epoch_ = shard_->CoveringEpoch();
}

void Client::QueueMqttApiReply(const Message& msg) {
  MqttState& m = *mqtt_;
  const std::string_view id_text = msg.subject.substr(msg.subject.rfind('.') + 1);
  uint64_t id = 0;
  for (char c : id_text) id = id * 10 + static_cast<uint64_t>(c - '0');
  // Handled at the client's next timer turn: answers lead to subscribing, publishing and
  // parsing held packets, none of which may happen while the shard is delivering.
  m.replies.emplace_back(id, std::string(msg.payload()));
  shard_->ArmTimer(this, shard_->now_ns());
}

void Client::RunMqttDeferredWork() {
  MqttState& m = *mqtt_;
  std::vector<std::pair<uint64_t, std::string>> replies;
  replies.swap(m.replies);
  for (const auto& [id, payload] : replies) {
    if (closing_) return;
    OnMqttApiReply(id, payload);
  }
  std::vector<std::string> acks;
  acks.swap(m.deferred_acks);
  for (const std::string& ack : acks) {
    shard_->Publish(this, Message{.subject = ack,
                                  .reply = {},
                                  .data = {},
                                  .header_len = 0,
                                  .account = account_,
                                  .origin = kind_});
  }
  std::vector<std::string> finished;
  finished.swap(m.finished_fetches);
  for (const std::string& deliver : finished) EndMqttRetainedFetch(deliver);
}

void Client::OnMqttApiReply(uint64_t id, std::string_view payload) {
  MqttState& m = *mqtt_;
  auto it = m.requests.find(id);
  if (it == m.requests.end()) return;  // answered already, or timed out
  const MqttState::Request request = std::move(it->second);
  m.requests.erase(it);
  const bool failed = IsApiError(payload);
  switch (request.kind) {
    case MqttState::RequestKind::kStreams:
      if (failed && payload.find("10058") == std::string_view::npos) {  // 10058: it exists
        LOG_ERROR("%s - mqtt: cannot create the MQTT streams: %.*s", LogLabel().c_str(),
                  static_cast<int>(payload.size()), payload.data());
        Close(CloseReason::kServerShutdown, false);
        return;
      }
      if (--m.streams_waiting > 0) return;
      shard_->context().mqtt_registry.SetStreamsReady(account_, true);
      LoadMqttSession();
      return;
    case MqttState::RequestKind::kSessionLoad:
      OnMqttSessionLoaded(failed ? std::string_view() : payload);
      return;
    case MqttState::RequestKind::kSessionPurge:
      if (failed) {
        LOG_ERROR("%s - mqtt: session record not removed: %.*s", LogLabel().c_str(),
                  static_cast<int>(payload.size()), payload.data());
      }
      SaveMqttSession();  // a 5.0 clean start that keeps its new session
      SendMqttConnack(false);
      return;
    case MqttState::RequestKind::kStore:
      if (failed) {
        // Not stored: no PUBACK, and the client learns it by the connection closing, as
        // with nats-server.
        LOG_ERROR("%s - mqtt: QoS 1 message not stored: %.*s", LogLabel().c_str(),
                  static_cast<int>(payload.size()), payload.data());
        shard_->context().mqtt_registry.SetStreamsReady(account_, false);
        Close(CloseReason::kProtocolViolation, false);
        return;
      }
      SendMqttAck(mqtt::kPuback, request.packet_id);
      return;
    case MqttState::RequestKind::kConsumer: {
      if (failed) {
        LOG_ERROR("%s - mqtt: QoS 1 consumer for \"%s\" not created: %.*s", LogLabel().c_str(),
                  request.sid.c_str(), static_cast<int>(payload.size()), payload.data());
        DropMqttConsumer(request.sid, /*delete_it=*/false);
        RemoveSubscription(request.sid);
        m.granted.erase(request.sid);
      }
      auto batch = m.subacks.find(request.batch);
      if (batch == m.subacks.end()) return;
      if (failed) batch->second.codes[request.code] = 0x80;
      if (--batch->second.waiting == 0) {
        SendMqttSuback(batch->second.packet_id, batch->second.codes);
        FetchMqttRetained(batch->second.retained);
        m.subacks.erase(batch);
        SaveMqttSession();
      }
      return;
    }
    case MqttState::RequestKind::kRetainStore:
      if (failed) {
        LOG_ERROR("%s - mqtt: retained message not stored: %.*s", LogLabel().c_str(),
                  static_cast<int>(payload.size()), payload.data());
      }
      return;
    case MqttState::RequestKind::kRetainFetch:
      OnMqttRetainedFetchReply(request.sid, payload);
      return;
    case MqttState::RequestKind::kQos2Store:
    case MqttState::RequestKind::kQos2Release:
    case MqttState::RequestKind::kQos2Deliver:
    case MqttState::RequestKind::kQos2Purge:
      OnMqttQos2Reply(request, failed, payload);
      return;
  }
}

void Client::SendMqttConnack(bool session_present) {
  MqttState& m = *mqtt_;
  m.connack_waiting = false;
  // A restored session's subscriptions are known to every shard before the CONNACK: a
  // publish after it reaches them (as after a SUBACK).
  HoldBehindSubscriptions();
  m.header.clear();
  AppendMqttConnack(session_present, &m.header);
  out_.Append(m.header);
  MarkDirty();
  ResendMqttPubrels();  // a restored session's QoS 2 deliveries awaiting PUBCOMP
  if (!m.partial.empty()) FeedMqtt(nullptr, 0);  // packets sent before the CONNACK
}

void Client::SendMqttAck(mqtt::PacketType type, uint16_t packet_id) {
  MqttState& m = *mqtt_;
  m.header.clear();
  mqtt::AppendAck(type, packet_id, &m.header);
  out_.Append(m.header);
  MarkDirty();
}

void Client::StoreMqttMessage(std::string_view subject, uint16_t packet_id, std::string_view header,
                              std::string_view payload, MqttState::RequestKind kind) {
  MqttState& m = *mqtt_;
  m.stored_subject.assign(kMqttMsgsPrefix);
  m.stored_subject.append(subject);
  m.published.assign(header);
  m.published.append(payload);
  const uint64_t id = ++m.next_request;
  m.reply = m.inbox + "." + std::to_string(id);
  m.requests.emplace(id, MqttState::Request{.kind = kind,
                                            .packet_id = packet_id,
                                            .deadline_ns = shard_->now_ns() + kMqttApiTimeoutNs});
  shard_->Publish(this, Message{.subject = m.stored_subject,
                                .reply = m.reply,
                                .data = m.published,
                                .header_len = header.size(),
                                .account = account_,
                                .origin = kind_});
  ArmTimer();
}

bool Client::StartMqttConsumer(const std::string& sid, std::string_view subject, uint8_t qos,
                               uint32_t batch, std::size_t code) {
  MqttState& m = *mqtt_;
  const MqttSubKind kind = qos == 2 ? kMqttDeliverQos2 : kMqttDeliver;
  if (auto existing = m.consumers.find(sid); existing != m.consumers.end()) {
    // QoS 1 or 2 already: the same consumer, delivering at the QoS now granted.
    if (auto deliver = subs_.find(existing->second.deliver); deliver != subs_.end()) {
      deliver->second->tag = kind;
    }
    return true;
  }
  // As nats-server: the session's consumers may hold at most 65535 unacknowledged
  // messages in all.
  const int per_consumer = shard_->options().mqtt.max_ack_pending;
  if (per_consumer > 0 && static_cast<int64_t>(m.consumers.size() + 1) * per_consumer > 0xffff) {
    return false;
  }
  MqttState::Consumer consumer{MqttRandomToken(), "$MQTT.sub." + MqttRandomToken()};
  AddInternalMqttSubscription(consumer.deliver, kind);
  const MqttOptions& o = shard_->options().mqtt;
  nlohmann::json config = {{"durable_name", consumer.durable},
                           {"deliver_policy", "new"},
                           {"ack_policy", "explicit"},
                           {"ack_wait", o.ack_wait_ns},
                           {"filter_subject", std::string(kMqttMsgsPrefix) + std::string(subject)},
                           {"replay_policy", "instant"},
                           {"max_ack_pending", o.max_ack_pending},
                           {"deliver_subject", consumer.deliver}};
  if (o.consumer_memory_storage) config["mem_storage"] = true;
  if (o.consumer_inactive_threshold_ns > 0) {
    config["inactive_threshold"] = o.consumer_inactive_threshold_ns;
  }
  const nlohmann::json body = {{"stream_name", kMqttMsgsStream}, {"config", config}};
  MqttRequest(
      MqttApi("CONSUMER.DURABLE.CREATE.") + kMqttMsgsStream + "." + consumer.durable, body.dump(),
      {.kind = MqttState::RequestKind::kConsumer, .batch = batch, .code = code, .sid = sid});
  m.consumers.emplace(sid, std::move(consumer));
  ++m.subacks[batch].waiting;
  return true;
}

void Client::DropMqttConsumer(const std::string& sid, bool delete_it) {
  MqttState& m = *mqtt_;
  auto it = m.consumers.find(sid);
  if (it == m.consumers.end()) return;
  RemoveSubscription(it->second.deliver);
  if (delete_it) DeleteMqttConsumer(kMqttMsgsStream, it->second.durable);
  const std::string prefix = it->second.durable + " ";
  absl::erase_if(m.resumed_by_key, [&](const auto& entry) {
    if (!entry.first.starts_with(prefix)) return false;
    m.resumed_ids.erase(entry.second.packet_id);
    return true;
  });
  m.consumers.erase(it);
}

void Client::DeleteMqttConsumer(std::string_view stream, std::string_view name) {
  // Fire and forget, as nats-server does.
  MqttFireAndForget(MqttApi("CONSUMER.DELETE.") + std::string(stream) + "." + std::string(name),
                    {});
}

bool Client::DeliverMqttQos1(const Message& msg, const Subscription& sub) {
  MqttState& m = *mqtt_;
  const bool granted_qos2 = sub.tag == kMqttDeliverQos2;
  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
  const std::string_view ack = msg.reply;
  const std::string_view durable = Token(ack, 3);
  const std::string_view delivered = Token(ack, 4);
  const std::string_view stream_seq = Token(ack, 5);
  if (durable.empty() || stream_seq.empty()) return false;
  std::string key(durable);
  key.push_back(' ');
  key.append(stream_seq);
  // The subscription's 5.0 identifier, Retain As Published and No Local: its consumer's sid's.
  uint32_t sub_id = 0;
  bool retain = false;
  if (m.v5()) {
    if (const std::string* sid = MqttConsumerSid(sub.subject); sid != nullptr) {
      sub_id = MqttSubscriptionId(*sid);
      retain = MqttRetainAsPublished(*sid, msg);
      if (m.no_local.contains(*sid) && MqttOwnPublish(msg)) {
        // Its own message: not sent, so acknowledged (at the next timer turn).
        m.deferred_acks.emplace_back(ack);
        shard_->ArmTimer(this, shard_->now_ns());
        return false;
      }
    }
  }
  uint16_t packet_id = 0;
  bool dup = false;
  // Sent at QoS 2 when it was published at QoS 2 and the subscription was granted 2.
  uint8_t qos = granted_qos2 && MqttHeaderValue(msg.header(), "Nmqtt-Pub") == "2" ? 2 : 1;
  if (auto known = m.in_flight_by_key.find(key); known != m.in_flight_by_key.end()) {
    packet_id = known->second;  // a redelivery keeps its packet id and QoS
    qos = m.in_flight[packet_id].qos;
    dup = true;
  } else {
    // As nats-server: past max_ack_pending in flight the message is not sent now;
    // JetStream sends it again after ack_wait.
    // A 5.0 client's Receive Maximum caps it further.
    // PUBRELs awaiting PUBCOMP count too (5.0: Receive Maximum's quota returns at PUBCOMP).
    if (static_cast<int>(m.in_flight.size() + m.pubrel_pending.size()) >=
        std::min<int>(std::max(1, shard_->options().mqtt.max_ack_pending),
                      m.connect.receive_maximum)) {
      return false;
    }
    auto resumed = m.resumed_by_key.empty() ? m.resumed_by_key.end() : m.resumed_by_key.find(key);
    if (resumed != m.resumed_by_key.end() && !m.in_flight.contains(resumed->second.packet_id)) {
      // Sent before the client reconnected: the same packet id (and QoS) again, as DUP.
      packet_id = resumed->second.packet_id;
      qos = resumed->second.qos;
      m.resumed_ids.erase(packet_id);
      m.resumed_by_key.erase(resumed);
    } else {
      packet_id = NextMqttPacketId();
    }
    if (packet_id == 0) return false;  // every id taken: JetStream sends it again later
    m.in_flight.emplace(packet_id, MqttState::InFlight{std::string(ack), key, qos});
    m.in_flight_by_key.emplace(std::move(key), packet_id);
    dup = delivered != "1";
  }
  // A consumer's delivery shows the stored subject ($MQTT.msgs.<subject>).
  std::string_view subject = msg.shown_subject();
  subject.remove_prefix(std::min(subject.size(), kMqttMsgsPrefix.size()));
  const std::string_view payload = msg.payload();
  m.topic.clear();
  mqtt::SubjectToTopic(subject, &m.topic);
  if (!AppendMqttDelivery(m.topic, msg, payload, qos, retain, dup, packet_id, {}, sub_id, ack)) {
    // Too large for the client, or expired: dropped as if delivered, so acknowledged (at
    // the next timer turn: nothing may be published while the shard delivers).
    m.deferred_acks.emplace_back(ack);
    shard_->ArmTimer(this, shard_->now_ns());
    m.in_flight_by_key.erase(m.in_flight[packet_id].key);
    m.in_flight.erase(packet_id);
    return false;
  }
  return AfterDelivery(payload.size());
}

const std::string* Client::MqttConsumerSid(std::string_view deliver) const {
  for (const auto& [sid, consumer] : mqtt_->consumers) {
    if (consumer.deliver == deliver) return &sid;
  }
  return nullptr;
}

uint16_t Client::NextMqttPacketId() {
  MqttState& m = *mqtt_;
  // At most one lap of the id space: 0 when every id is taken.
  for (int tries = 0; tries < 0xffff; ++tries) {
    const auto packet_id =
        static_cast<uint16_t>(m.last_packet_id == 0xffff ? 1 : m.last_packet_id + 1);
    m.last_packet_id = packet_id;
    if (!m.in_flight.contains(packet_id) && !m.pubrel_pending.contains(packet_id) &&
        !m.resumed_ids.contains(packet_id)) {
      return packet_id;
    }
  }
  return 0;
}

void Client::OnMqttPuback(uint16_t packet_id) {
  MqttState& m = *mqtt_;
  auto it = m.in_flight.find(packet_id);
  // Unknown (or a QoS 2 delivery, which PUBREC answers): ignored, as nats-server does.
  if (it == m.in_flight.end() || it->second.qos != 1) return;
  shard_->Publish(this, Message{.subject = it->second.ack,
                                .reply = {},
                                .data = {},
                                .header_len = 0,
                                .account = account_,
                                .origin = kind_});
  m.in_flight_by_key.erase(it->second.key);
  m.in_flight.erase(it);
  // As nats-server: ids restart at 1 once nothing is in flight.
  if (m.in_flight.empty() && m.pubrel_pending.empty()) m.last_packet_id = 0;
}

int64_t Client::MqttRequestDeadline() const {
  int64_t first = 0;
  for (const auto& [id, request] : mqtt_->requests) {
    if (first == 0 || request.deadline_ns < first) first = request.deadline_ns;
  }
  return first;
}

}  // namespace tern::core
