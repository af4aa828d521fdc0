#include "core/mqtt_packet.h"

namespace tern::core::mqtt {
namespace {

// Reads MQTT's big-endian integers and length-prefixed strings from a packet body.
class BodyReader {
 public:
  explicit BodyReader(std::string_view body) : rest_(body) {}
  bool Byte(uint8_t* out) {
    if (rest_.empty()) return false;
    *out = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool U16(uint16_t* out) {
    if (rest_.size() < 2) return false;
    *out = static_cast<uint16_t>((static_cast<uint8_t>(rest_[0]) << 8) |
                                 static_cast<uint8_t>(rest_[1]));
    rest_.remove_prefix(2);
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint16_t len = 0;
    if (!U16(&len) || rest_.size() < len) return false;
    *out = rest_.substr(0, len);
    rest_.remove_prefix(len);
    return true;
  }
  std::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

void AppendRemainingLength(std::size_t len, std::string* out) {
  do {
    uint8_t byte = len % 128;
    len /= 128;
    if (len > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (len > 0);
}

void AppendU16(uint16_t value, std::string* out) {
  out->push_back(static_cast<char>(value >> 8));
  out->push_back(static_cast<char>(value & 0xff));
}

}  // namespace

ReadStatus ReadPacket(std::string_view input, std::size_t max_body, Packet* out) {
  if (input.size() < 2) return ReadStatus::kNeedMore;
  std::size_t length = 0;
  std::size_t at = 1;
  for (int shift = 0;; shift += 7) {
    if (at >= input.size()) return ReadStatus::kNeedMore;
    if (at > 4) return ReadStatus::kMalformed;  // more than four length bytes
    const uint8_t byte = static_cast<uint8_t>(input[at++]);
    length |= static_cast<std::size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length > max_body) return ReadStatus::kTooLarge;
  if (input.size() - at < length) return ReadStatus::kNeedMore;
  out->type = static_cast<uint8_t>(input[0]) >> 4;
  out->flags = static_cast<uint8_t>(input[0]) & 0x0f;
  out->body = input.substr(at, length);
  out->size = at + length;
  return ReadStatus::kPacket;
}

bool IsValidMqttString(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    std::size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) ||
        (extra == 3 && code < 0x10000) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

ConnectStatus ParseConnect(std::string_view body, Connect* out, uint8_t* code,
                           std::string* reason) {
  BodyReader r(body);
  std::string_view name;
  uint8_t flags = 0;
  if (!r.Bytes(&name) || name != "MQTT") {
    *reason = "protocol name is not MQTT";
    return ConnectStatus::kClose;
  }
  if (!r.Byte(&out->level)) {
    *reason = "CONNECT too short";
    return ConnectStatus::kClose;
  }
  if (out->level != 4 && out->level != 5) {
    *reason = "unacceptable protocol version of " + std::to_string(out->level);
    *code = kConnackBadLevel;
    return ConnectStatus::kRefused;
  }
  if (!r.Byte(&flags) || !r.U16(&out->keepalive)) {
    *reason = "CONNECT too short";
    return ConnectStatus::kClose;
  }
  if ((flags & 0x01) != 0) {
    *reason = "connect flags reserved bit not set to 0";
    return ConnectStatus::kClose;
  }
  if (out->level == 5) {
    std::string_view rest = r.rest();
    Properties props;
    if (!ReadProperties(&rest, kConnect, &props, reason)) return ConnectStatus::kClose;
    out->session_expiry = props.session_expiry;
    out->receive_maximum = props.receive_maximum;
    out->maximum_packet_size = props.maximum_packet_size;
    out->topic_alias_maximum = props.topic_alias_maximum;
    out->has_auth_method = props.has(kAuthMethod);
    r = BodyReader(rest);
  }
  out->clean = (flags & 0x02) != 0;
  out->will = (flags & 0x04) != 0;
  out->will_qos = (flags >> 3) & 0x03;
  out->will_retain = (flags & 0x20) != 0;
  out->has_password = (flags & 0x40) != 0;
  out->has_user = (flags & 0x80) != 0;
  if (out->will_qos == 3) {
    *reason = "invalid will QoS 3";
    return ConnectStatus::kClose;
  }
  if (!out->will && (out->will_qos != 0 || out->will_retain)) {
    *reason = "will QoS or retain set without a will";
    return ConnectStatus::kClose;
  }
  if (out->has_password && !out->has_user && out->level == 4) {  // 5.0 allows it
    *reason = "password flag set but username flag is not";
    return ConnectStatus::kClose;
  }
  std::string_view id;
  if (!r.Bytes(&id)) {
    *reason = "CONNECT without a client identifier";
    return ConnectStatus::kClose;
  }
  out->client_id.assign(id);
  if (out->will && out->level == 5) {
    std::string_view rest = r.rest();
    Properties props;
    if (!ReadProperties(&rest, kWillProperties, &props, reason)) return ConnectStatus::kClose;
    out->will_properties.assign(r.rest().substr(0, r.rest().size() - rest.size()));
    r = BodyReader(rest);
  }
  if (out->will) {
    std::string_view topic, message;
    if (!r.Bytes(&topic) || !r.Bytes(&message)) {
      *reason = "CONNECT with a truncated will";
      return ConnectStatus::kClose;
    }
    out->will_topic.assign(topic);
    out->will_message.assign(message);
  }
  if (out->has_user) {
    std::string_view user;
    if (!r.Bytes(&user)) {
      *reason = "CONNECT with a truncated user name";
      return ConnectStatus::kClose;
    }
    out->user.assign(user);
  }
  if (out->has_password) {
    std::string_view password;
    if (!r.Bytes(&password)) {
      *reason = "CONNECT with a truncated password";
      return ConnectStatus::kClose;
    }
    out->password.assign(password);
  }
  // Checks that get an answer, in nats-server's order.
  if (out->client_id.empty() && !out->clean) {
    *reason = "empty client ID requires clean session";
    *code = kConnackBadId;
    return ConnectStatus::kRefused;
  }
  if (!IsValidMqttString(out->client_id)) {
    *reason = "invalid utf8 for client ID";
    *code = kConnackBadId;
    return ConnectStatus::kRefused;
  }
  if (out->has_user && (out->user.empty() || !IsValidMqttString(out->user))) {
    *reason = "invalid user name";
    *code = kConnackBadCredentials;
    return ConnectStatus::kRefused;
  }
  return ConnectStatus::kOk;
}

bool ParsePublish(const Packet& packet, Publish* out, std::string* reason, bool v5) {
  out->qos = (packet.flags >> 1) & 0x03;
  out->retain = (packet.flags & 0x01) != 0;
  out->dup = (packet.flags & 0x08) != 0;
  if (out->qos > 2) {
    *reason = "publish QoS=" + std::to_string(out->qos) + " not supported";
    return false;
  }
  BodyReader r(packet.body);
  if (!r.Bytes(&out->topic)) {
    *reason = "PUBLISH without a topic";
    return false;
  }
  if (!IsValidMqttString(out->topic)) {
    *reason = "invalid utf8 for topic";
    return false;
  }
  if (out->qos > 0) {
    if (!r.U16(&out->packet_id) || out->packet_id == 0) {
      *reason = "protocol violation: packet identifier 0";
      return false;
    }
  }
  if (v5) {
    std::string_view rest = r.rest();
    out->props = Properties();
    if (!ReadProperties(&rest, kPublish, &out->props, reason)) return false;
    r = BodyReader(rest);
  }
  // An empty topic: only in MQTT 5.0, with a topic alias standing for it.
  if (out->topic.empty() && !(v5 && out->props.topic_alias != 0)) {
    *reason = "topic cannot be empty";
    return false;
  }
  out->payload = r.rest();
  return true;
}

bool ParseSubscribe(const Packet& packet, bool with_qos, uint16_t* packet_id,
                    std::vector<Filter>* filters, std::string* reason, bool v5, Properties* props) {
  filters->clear();
  if (packet.flags != 0x02) {
    *reason = std::string(with_qos ? "subscribe" : "unsubscribe") + " reserved flags not 0b0010";
    return false;
  }
  BodyReader r(packet.body);
  if (!r.U16(packet_id)) {
    *reason = "missing packet identifier";
    return false;
  }
  if (v5) {
    std::string_view rest = r.rest();
    Properties ignored;
    if (!ReadProperties(&rest, with_qos ? kSubscribe : kUnsubscribe,
                        props != nullptr ? props : &ignored, reason)) {
      return false;
    }
    r = BodyReader(rest);
  }
  while (!r.empty()) {
    Filter filter;
    if (!r.Bytes(&filter.topic)) {
      *reason = "malformed topic filter";
      return false;
    }
    if (filter.topic.empty()) {
      *reason = "topic filter cannot be empty";
      return false;
    }
    if (!IsValidMqttString(filter.topic)) {
      *reason = "invalid utf8 for topic filter";
      return false;
    }
    if (with_qos) {
      uint8_t options = 0;
      if (!r.Byte(&options) || (options & 0x03) > 2) {
        *reason = "invalid QoS in subscription";
        return false;
      }
      // 3.1.1 has no other bits; 5.0 has no local, retain as published, retain handling.
      if ((options & (v5 ? 0xc0 : 0xfc)) != 0 || ((options >> 4) & 0x03) == 3) {
        *reason = "invalid subscription options";
        return false;
      }
      filter.qos = options & 0x03;
      filter.no_local = (options & 0x04) != 0;
      filter.retain_as_published = (options & 0x08) != 0;
      filter.retain_handling = (options >> 4) & 0x03;
    }
    filters->push_back(filter);
  }
  if (filters->empty()) {
    *reason = std::string(with_qos ? "subscribe" : "unsubscribe") +
              " protocol must contain at least 1 topic filter";
    return false;
  }
  return true;
}

bool ParsePacketId(const Packet& packet, uint16_t* packet_id) {
  BodyReader r(packet.body);
  return r.U16(packet_id);
}

void AppendConnack(bool session_present, uint8_t code, std::string* out) {
  out->push_back(static_cast<char>(kConnack << 4));
  out->push_back(2);
  out->push_back(static_cast<char>(session_present && code == kConnackAccepted ? 1 : 0));
  out->push_back(static_cast<char>(code));
}

void AppendAck(PacketType type, uint16_t packet_id, std::string* out) {
  // PUBREL's fixed header flags are 0b0010 (MQTT-3.6.1-1); the others' are 0.
  out->push_back(static_cast<char>(type << 4 | (type == kPubrel ? 0x02 : 0)));
  out->push_back(2);
  AppendU16(packet_id, out);
}

void AppendSuback(uint16_t packet_id, const std::vector<uint8_t>& granted, std::string* out,
                  bool v5) {
  out->push_back(static_cast<char>(kSuback << 4));
  AppendRemainingLength(2 + (v5 ? 1 : 0) + granted.size(), out);
  AppendU16(packet_id, out);
  if (v5) out->push_back(0);  // no properties
  for (uint8_t g : granted) out->push_back(static_cast<char>(g));
}

void AppendPingresp(std::string* out) {
  out->push_back(static_cast<char>(kPingresp << 4));
  out->push_back(0);
}

void AppendPublishHeader(std::string_view topic, std::size_t payload_len, uint8_t qos, bool retain,
                         bool dup, uint16_t packet_id, std::string* out,
                         const PropertyWriter* props) {
  uint8_t first = static_cast<uint8_t>(kPublish << 4) | static_cast<uint8_t>(qos << 1);
  if (retain) first |= 0x01;
  if (dup) first |= 0x08;
  out->push_back(static_cast<char>(first));
  AppendRemainingLength(2 + topic.size() + (qos > 0 ? 2 : 0) +
                            (props != nullptr ? props->EncodedSize() : 0) + payload_len,
                        out);
  AppendU16(static_cast<uint16_t>(topic.size()), out);
  out->append(topic);
  if (qos > 0) AppendU16(packet_id, out);
  if (props != nullptr) props->Append(out);
}

std::size_t PublishHeaderSize(std::string_view topic, std::size_t payload_len, uint8_t qos,
                              const PropertyWriter* props) {
  const std::size_t body = 2 + topic.size() + (qos > 0 ? 2 : 0) +
                           (props != nullptr ? props->EncodedSize() : 0) + payload_len;
  return 1 + VarIntSize(static_cast<uint32_t>(body)) + body - payload_len;
}

void AppendConnack5(bool session_present, uint8_t reason, const PropertyWriter& props,
                    std::string* out) {
  out->push_back(static_cast<char>(kConnack << 4));
  AppendRemainingLength(2 + props.EncodedSize(), out);
  out->push_back(static_cast<char>(session_present && reason == kReasonSuccess ? 1 : 0));
  out->push_back(static_cast<char>(reason));
  props.Append(out);
}

void AppendDisconnect5(uint8_t reason, std::string* out) {
  out->push_back(static_cast<char>(kDisconnect << 4));
  out->push_back(2);
  out->push_back(static_cast<char>(reason));
  out->push_back(0);  // no properties
}

void AppendUnsuback5(uint16_t packet_id, const std::vector<uint8_t>& codes, std::string* out) {
  out->push_back(static_cast<char>(kUnsuback << 4));
  AppendRemainingLength(3 + codes.size(), out);
  AppendU16(packet_id, out);
  out->push_back(0);  // no properties
  for (uint8_t code : codes) out->push_back(static_cast<char>(code));
}

void AppendPublish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                   bool dup, uint16_t packet_id, std::string* out) {
  AppendPublishHeader(topic, payload.size(), qos, retain, dup, packet_id, out);
  out->append(payload);
}

}  // namespace tern::core::mqtt
