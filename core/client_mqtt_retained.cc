// Client: MQTT retained messages, kept in JetStream. A PUBLISH with RETAIN stores its
// message as the last of `$MQTT.rmsgs.<subject>` in the `$MQTT_rmsgs` stream (one per
// subject), an empty one removes it; a new subscription then gets the retained messages
// its filter matches, with RETAIN set, through an ephemeral consumer (last per subject,
// no acks) that is deleted once the last one came.
#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"
#include "core/mqtt_topic.h"
#include "core/mqtt_will.h"

namespace tern::core {
namespace {

// The last dot-separated token of a subject, as a number.
uint64_t LastNumber(std::string_view subject) {
  uint64_t n = 0;
  for (char c : subject.substr(subject.rfind('.') + 1)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

std::string_view MqttHeaderValue(std::string_view block, std::string_view name) {
  std::size_t at = 0;
  while ((at = block.find(name, at)) != std::string_view::npos) {
    const bool line_start = at >= 2 && block[at - 1] == '\n';
    const std::size_t colon = at + name.size();
    if (line_start && colon < block.size() && block[colon] == ':') {
      const std::size_t end = block.find("\r\n", colon);
      return block.substr(colon + 1, end == std::string_view::npos ? end : end - colon - 1);
    }
    at = colon;
  }
  return {};
}

void Client::StoreMqttRetained(std::string_view subject, std::string_view topic, uint8_t qos,
                               std::string_view payload, std::string_view extra_headers) {
  MqttState& m = *mqtt_;
  m.stored_subject.assign(kMqttRetainedPrefix);
  m.stored_subject.append(subject);
  if (payload.empty()) {
    // An empty retained message removes the subject's (MQTT-3.3.1-10).
    const nlohmann::json purge = {{"filter", m.stored_subject}};
    MqttRequest(MqttApi("STREAM.PURGE.") + kMqttRetainedStream, purge.dump(),
                {.kind = MqttState::RequestKind::kRetainStore});
    return;
  }
  if (topic.find_first_of("\r\n") != std::string_view::npos) {
    LOG_ERROR("%s - mqtt: a topic with a line break cannot be retained", LogLabel().c_str());
    return;
  }
  std::size_t header_len = 0;
  const std::string record =
      BuildMqttRetainedRecord(topic, qos, extra_headers, payload, &header_len);
  const uint64_t id = ++m.next_request;
  m.reply = m.inbox + "." + std::to_string(id);
  m.requests.emplace(id, MqttState::Request{.kind = MqttState::RequestKind::kRetainStore,
                                            .deadline_ns = shard_->now_ns() + kMqttApiTimeoutNs});
  const std::string stored = m.stored_subject;
  shard_->Publish(this, Message{.subject = stored,
                                .reply = m.reply,
                                .data = record,
                                .header_len = header_len,
                                .account = account_,
                                .origin = kind_});
  ArmTimer();
}

void Client::FetchMqttRetained(const std::vector<MqttRetainedFilter>& filters) {
  MqttState& m = *mqtt_;
  for (const auto& [subject, granted, sub_id] : filters) {
    const std::string deliver = "$MQTT.rsub." + MqttRandomToken();
    AddInternalMqttSubscription(deliver, kMqttRetained);
    m.retained[deliver].granted = granted;
    m.retained[deliver].sub_id = sub_id;
    const nlohmann::json body = {{"stream_name", kMqttRetainedStream},
                                 {"config",
                                  {{"deliver_policy", "last_per_subject"},
                                   {"ack_policy", "none"},
                                   {"filter_subject", std::string(kMqttRetainedPrefix) + subject},
                                   {"replay_policy", "instant"},
                                   {"deliver_subject", deliver},
                                   {"inactive_threshold", int64_t{10'000'000'000}}}}};
    MqttRequest(MqttApi("CONSUMER.CREATE.") + kMqttRetainedStream, body.dump(),
                {.kind = MqttState::RequestKind::kRetainFetch, .sid = deliver});
  }
}

void Client::OnMqttRetainedFetchReply(const std::string& deliver, std::string_view payload) {
  MqttState& m = *mqtt_;
  auto it = m.retained.find(deliver);
  if (it == m.retained.end()) return;
  const nlohmann::json info = nlohmann::json::parse(payload, nullptr, false);
  if (!info.is_object() || info.contains("error")) {
    LOG_ERROR("%s - mqtt: retained messages not read: %.*s", LogLabel().c_str(),
              static_cast<int>(payload.size()), payload.data());
    EndMqttRetainedFetch(deliver);
    return;
  }
  it->second.consumer = info.value("name", "");
  const uint64_t pending = info.value("num_pending", uint64_t{0});
  if (pending == 0 || it->second.done) EndMqttRetainedFetch(deliver);
}

bool Client::DeliverMqttRetained(const Subscription& sub, const Message& msg) {
  MqttState& m = *mqtt_;
  auto it = m.retained.find(sub.subject);
  if (it == m.retained.end() || it->second.done) return false;
  const std::string_view header = msg.header();
  const std::string_view topic = MqttHeaderValue(header, "Nmqtt-RTopic");
  const std::string_view flags = MqttHeaderValue(header, "Nmqtt-RFlags");
  const uint8_t stored_qos =
      flags.empty() ? 0 : static_cast<uint8_t>(((flags.back() - '0') >> 1) & 0x3);
  // With every packet id in flight (65535 unacknowledged), a retained copy goes at QoS 0.
  uint8_t qos = m.in_flight.size() + m.pubrel_pending.size() >= 0xffff
                    ? 0
                    : std::min(stored_qos, it->second.granted);
  // A packet id, not tracked (as nats-server: never sent again; a PUBREC for it still gets
  // its PUBREL).
  const uint16_t packet_id = qos > 0 ? NextMqttPacketId() : 0;
  if (qos > 0 && packet_id == 0) qos = 0;
  const std::string_view payload = msg.payload();
  const bool sent = AppendMqttDelivery(topic, msg, payload, qos, /*retain=*/true, false, packet_id,
                                       {}, it->second.sub_id, msg.reply);
  // The last one: the ack subject's pending count is 0. Its consumer and subscription
  // go at the next timer turn (not while the shard delivers).
  if (LastNumber(msg.reply) == 0) {
    it->second.done = true;
    if (!it->second.consumer.empty()) {
      m.finished_fetches.push_back(sub.subject);
      shard_->ArmTimer(this, shard_->now_ns());
    }
  }
  return sent && AfterDelivery(payload.size());
}

bool Client::MqttRetainAsPublished(const std::string& sid, const Message& msg) const {
  const auto& with_option = mqtt_->retain_as_published;
  return msg.header_len > 0 && !with_option.empty() && with_option.contains(sid) &&
         MqttHeaderValue(msg.header(), "Nmqtt-Retain") == "1";
}

void Client::EndMqttRetainedFetch(const std::string& deliver) {
  MqttState& m = *mqtt_;
  auto it = m.retained.find(deliver);
  if (it == m.retained.end()) return;
  if (!it->second.consumer.empty()) DeleteMqttConsumer(kMqttRetainedStream, it->second.consumer);
  RemoveSubscription(deliver);
  m.retained.erase(it);
}

}  // namespace tern::core
