// Client: what MQTT 5.0 adds on the wire, beyond nats-server 2.9 (which refuses 5.0). The
// CONNACK's reason code and properties, topic aliases, the mapping between a PUBLISH's
// properties and NATS headers both ways (user properties are headers; content type, payload
// format, correlation data and message expiry ride in Nmqtt-* headers; the response topic is
// the NATS reply subject), a client's DISCONNECT with its reason, and the server's
// DISCONNECT with a reason code before it closes a 5.0 connection.
#include <chrono>

#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"
#include "core/mqtt_topic.h"
#include "core/options.h"

namespace tern::core {
namespace {

constexpr std::string_view kContentTypeHeader = "Nmqtt-Content-Type";
constexpr std::string_view kFormatHeader = "Nmqtt-Format";
constexpr std::string_view kCorrelationHeader = "Nmqtt-Corr";
constexpr std::string_view kExpiryHeader = "Nmqtt-Expiry";
constexpr std::string_view kReplyHeader = "Nmqtt-Reply";
// On a 5.0 client's messages kept in $MQTT_msgs: the hash of its client id (its session's).
constexpr std::string_view kFromHeader = "Nmqtt-From";

// A user property that can be a NATS header: a token key, a value on one line.
bool HeaderSafe(std::string_view key, std::string_view value) {
  if (key.empty() || key.starts_with("Nmqtt-")) return false;
  for (char c : key) {
    if (c == ':' || c == ' ' || c == '\r' || c == '\n' || c == '\t') return false;
  }
  return value.find_first_of("\r\n") == std::string_view::npos;
}

uint64_t ParseSeconds(std::string_view digits) {
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// How long ago JetStream stored a message, from its ack subject
// ($JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time ns>.<pending>).
uint64_t StoredAgeSeconds(std::string_view ack) {
  for (int i = 0; i < 7; ++i) {
    const std::size_t dot = ack.find('.');
    if (dot == std::string_view::npos) return 0;
    ack.remove_prefix(dot + 1);
  }
  const uint64_t stored_ns = ParseSeconds(ack.substr(0, ack.find('.')));
  const auto now_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  return stored_ns == 0 || now_ns < stored_ns ? 0 : (now_ns - stored_ns) / 1'000'000'000;
}

void AppendHeaderLine(std::string_view key, std::string_view value, std::string* out) {
  out->append(key);
  out->push_back(':');
  out->append(value);
  out->append("\r\n");
}

}  // namespace

uint8_t MqttConnackReason5(uint8_t code311) {
  switch (code311) {
    case mqtt::kConnackBadId:
      return mqtt::kReasonBadClientId;
    case mqtt::kConnackBadCredentials:
      return mqtt::kReasonBadCredentials;
    case mqtt::kConnackNotAuthorized:
      return mqtt::kReasonNotAuthorized;
    default:
      return mqtt::kReasonUnspecified;
  }
}

uint8_t MqttDisconnectReason5(CloseReason reason) {
  switch (reason) {
    case CloseReason::kProtocolViolation:
    case CloseReason::kParseError:
      return mqtt::kReasonProtocolError;
    case CloseReason::kDuplicateClientId:
      return mqtt::kReasonSessionTakenOver;
    case CloseReason::kStaleConnection:
      return mqtt::kReasonKeepAliveTimeout;
    case CloseReason::kServerShutdown:
      return mqtt::kReasonServerShuttingDown;
    case CloseReason::kMaxPayload:
      return mqtt::kReasonPacketTooLarge;
    case CloseReason::kAuthenticationExpired:
    case CloseReason::kAuthenticationFailure:
      return mqtt::kReasonNotAuthorized;
    default:
      return mqtt::kReasonImplementationSpecific;
  }
}

void Client::AppendMqttConnack(bool session_present, std::string* out) {
  MqttState& m = *mqtt_;
  if (!m.v5()) return mqtt::AppendConnack(session_present, mqtt::kConnackAccepted, out);
  mqtt::PropertyWriter props;
  if (m.assigned_id) props.String(mqtt::kAssignedClientId, m.connect.client_id);
  props.U16(mqtt::kTopicAliasMaximum, kMqttTopicAliasMax);
  props.U32(mqtt::kMaximumPacketSize, MqttMaxPacket());
  mqtt::AppendConnack5(session_present, mqtt::kReasonSuccess, props, out);
}

uint32_t Client::MqttMaxPacket() const {
  // A publish may carry max_payload bytes plus room for its topic and properties.
  return static_cast<uint32_t>(shard_->options().max_payload) + 65536;
}

bool Client::ResolveMqttTopicAlias(mqtt::Publish* publish) {
  MqttState& m = *mqtt_;
  const uint16_t alias = publish->props.topic_alias;
  if (alias == 0) return true;
  if (alias > kMqttTopicAliasMax) {
    LOG_ERROR("%s - mqtt: topic alias %u over the maximum", LogLabel().c_str(), alias);
    m.disconnect_reason = mqtt::kReasonTopicAliasInvalid;
    return false;
  }
  if (!publish->topic.empty()) {
    m.topic_aliases[alias].assign(publish->topic);
    return true;
  }
  auto known = m.topic_aliases.find(alias);
  if (known == m.topic_aliases.end()) {
    LOG_ERROR("%s - mqtt: topic alias %u not set", LogLabel().c_str(), alias);
    return false;
  }
  publish->topic = known->second;
  return true;
}

bool Client::MqttHeadersFrom(const mqtt::Properties& props, std::string* headers,
                             std::string* reply) {
  headers->clear();
  reply->clear();
  for (const auto& [key, value] : props.user) {
    if (HeaderSafe(key, value)) AppendHeaderLine(key, value, headers);
  }
  if (props.has(mqtt::kContentType) && HeaderSafe("x", props.content_type)) {
    AppendHeaderLine(kContentTypeHeader, props.content_type, headers);
  }
  if (props.payload_format == 1) AppendHeaderLine(kFormatHeader, "1", headers);
  if (props.has(mqtt::kCorrelationData)) {
    AppendHeaderLine(kCorrelationHeader, auth::EncodeBase64Url(props.correlation_data), headers);
  }
  if (props.has(mqtt::kMessageExpiry)) {
    AppendHeaderLine(kExpiryHeader, std::to_string(props.message_expiry), headers);
  }
  if (props.has(mqtt::kResponseTopic)) {
    std::string reason;
    if (!mqtt::TopicToSubject(props.response_topic, false, reply, &reason)) {
      LOG_ERROR("%s - mqtt: invalid response topic: %s", LogLabel().c_str(), reason.c_str());
      return false;
    }
    AppendHeaderLine(kReplyHeader, *reply, headers);
  }
  return true;
}

void Client::MqttPropertiesFrom(std::string_view header, std::string_view reply,
                                mqtt::PropertyWriter* props, uint64_t age_s) {
  props->clear();
  MqttState& m = *mqtt_;
  std::string_view reply_subject = reply;
  // The header block: a status line, then "Key: value" lines.
  std::size_t at = header.find("\r\n");
  while (at != std::string_view::npos && at + 2 < header.size()) {
    const std::size_t start = at + 2;
    const std::size_t end = header.find("\r\n", start);
    if (end == std::string_view::npos || end == start) break;
    const std::string_view line = header.substr(start, end - start);
    at = end;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    // What a 5.0 client would refuse (not UTF-8 as MQTT wants it) is left out.
    if (key != kCorrelationHeader && !mqtt::IsValidMqttString(value)) continue;
    if (key == kContentTypeHeader) {
      props->String(mqtt::kContentType, value);
    } else if (key == kFormatHeader) {
      props->Byte(mqtt::kPayloadFormat, value == "1" ? 1 : 0);
    } else if (key == kCorrelationHeader) {
      std::string bytes;
      if (auth::DecodeBase64Any(value, &bytes)) props->String(mqtt::kCorrelationData, bytes);
    } else if (key == kExpiryHeader) {
      const uint64_t seconds = ParseSeconds(value);
      props->U32(mqtt::kMessageExpiry,
                 static_cast<uint32_t>(seconds > age_s ? seconds - age_s : 0));
    } else if (key == kReplyHeader) {
      reply_subject = value;
    } else if (key == "Nats-Msg-Id" && value.starts_with(kMqttQos2MsgIdLine.substr(12))) {
      continue;  // the server's own id of a released QoS 2 message
    } else if (!key.starts_with("Nmqtt-") && mqtt::IsValidMqttString(key)) {
      props->Pair(key, value);
    }
  }
  if (!reply_subject.empty() && mqtt::IsValidMqttString(reply_subject)) {
    m.reply_topic.clear();
    mqtt::SubjectToTopic(reply_subject, &m.reply_topic);
    props->String(mqtt::kResponseTopic, m.reply_topic);
  }
}

bool Client::AppendMqttDelivery(std::string_view topic, const Message& msg,
                                std::string_view payload, uint8_t qos, bool retain, bool dup,
                                uint16_t packet_id, std::string_view reply,
                                uint32_t subscription_id, std::string_view ack) {
  MqttState& m = *mqtt_;
  // A stored message past its Message Expiry Interval is not sent, to any client.
  uint64_t age_s = 0;
  if (!ack.empty() && msg.header_len > 0) {
    const std::string_view expiry = MqttHeaderValue(msg.header(), kExpiryHeader);
    if (!expiry.empty()) {
      age_s = StoredAgeSeconds(ack);
      if (age_s >= ParseSeconds(expiry)) return false;
    }
  }
  const mqtt::PropertyWriter* props = nullptr;
  if (m.v5()) {
    MqttPropertiesFrom(msg.header(), reply, &m.props, age_s);
    if (subscription_id != 0) m.props.VarInt(mqtt::kSubscriptionId, subscription_id);
    props = &m.props;
    // Over the client's Maximum Packet Size: not sent (as if delivered, MQTT-3.1.2-25).
    if (m.connect.maximum_packet_size != 0 &&
        mqtt::PublishHeaderSize(topic, payload.size(), qos, props) + payload.size() >
            m.connect.maximum_packet_size) {
      return false;
    }
  }
  m.header.clear();
  mqtt::AppendPublishHeader(topic, payload.size(), qos, retain, dup, packet_id, &m.header, props);
  out_.Append(m.header);
  out_.Append(payload);
  return true;
}

std::string_view Client::MqttStoredHeader(uint8_t qos, std::string_view extra_headers) {
  MqttState& m = *mqtt_;
  if (!m.v5() || m.session_subject.size() <= kMqttSessionPrefix.size()) {
    return MqttHeaderBlock(qos, extra_headers, &m.header_block);
  }
  m.stored_extra.assign(extra_headers);
  AppendHeaderLine(kFromHeader,
                   std::string_view(m.session_subject).substr(kMqttSessionPrefix.size()),
                   &m.stored_extra);
  return MqttHeaderBlock(qos, m.stored_extra, &m.header_block);
}

bool Client::MqttOwnPublish(const Message& msg) const {
  const MqttState& m = *mqtt_;
  return msg.header_len > 0 && m.session_subject.size() > kMqttSessionPrefix.size() &&
         MqttHeaderValue(msg.header(), kFromHeader) ==
             std::string_view(m.session_subject).substr(kMqttSessionPrefix.size());
}

bool Client::OnMqttDisconnect(const mqtt::Packet& packet) {
  MqttState& m = *mqtt_;
  uint8_t reason = mqtt::kReasonSuccess;
  if (m.v5() && !packet.body.empty()) {
    reason = static_cast<uint8_t>(packet.body[0]);
    std::string_view rest = packet.body.substr(1);
    mqtt::Properties props;
    std::string error;
    if (!rest.empty() && !mqtt::ReadProperties(&rest, mqtt::kDisconnect, &props, &error)) {
      LOG_ERROR("%s - mqtt: %s", LogLabel().c_str(), error.c_str());
      Close(CloseReason::kProtocolViolation, false);
      return false;
    }
    if (props.has(mqtt::kSessionExpiry)) {
      // A session that was to end with the connection cannot be kept at DISCONNECT.
      if (m.connect.session_expiry == 0 && props.session_expiry != 0) {
        LOG_ERROR("%s - mqtt: session expiry set at DISCONNECT", LogLabel().c_str());
        Close(CloseReason::kProtocolViolation, false);
        return false;
      }
      m.connect.session_expiry = props.session_expiry;
      if (props.session_expiry == 0 && m.persistent) {
        m.persistent = false;
        MqttFireAndForget(MqttApi("STREAM.PURGE.") + kMqttSessionStream,
                          "{\"filter\":\"" + m.session_subject + "\"}");
      }
    }
  }
  // 0x04: the client asks for its will all the same; otherwise a clean goodbye drops it.
  if (reason != mqtt::kReasonDisconnectWithWill) m.will_pending = false;
  Close(CloseReason::kClientClosed, true);
  return false;
}

}  // namespace tern::core
