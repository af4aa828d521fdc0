#include "core/mqtt_properties.h"

#include "core/mqtt_packet.h"

namespace tern::core::mqtt {
namespace {

enum class Kind { kByte, kU16, kU32, kVarInt, kString, kBinary, kPair };

// Which client packets a property may come in: a bit per packet type (bit 0: the will).
constexpr uint32_t Bit(uint8_t type) { return type == kWillProperties ? 1u : 1u << type; }
constexpr uint32_t kPublishOrWill = Bit(kPublish) | Bit(kWillProperties);
constexpr uint32_t kAcks = Bit(kPuback) | Bit(kPubrec) | Bit(kPubrel) | Bit(kPubcomp);
constexpr uint8_t kAuth = 15;

struct Rule {
  Kind kind;
  uint32_t packets;  // 0: not one a client sends
};

Rule RuleFor(uint8_t id) {
  switch (id) {
    case kPayloadFormat:
    case kMessageExpiry:
      return {id == kPayloadFormat ? Kind::kByte : Kind::kU32, kPublishOrWill};
    case kContentType:
    case kResponseTopic:
      return {Kind::kString, kPublishOrWill};
    case kCorrelationData:
      return {Kind::kBinary, kPublishOrWill};
    case kSubscriptionId:
      return {Kind::kVarInt, Bit(kSubscribe)};
    case kSessionExpiry:
      return {Kind::kU32, Bit(kConnect) | Bit(kDisconnect)};
    case kAuthMethod:
      return {Kind::kString, Bit(kConnect) | Bit(kAuth)};
    case kAuthData:
      return {Kind::kBinary, Bit(kConnect) | Bit(kAuth)};
    case kRequestProblemInfo:
    case kRequestResponseInfo:
      return {Kind::kByte, Bit(kConnect)};
    case kWillDelay:
      return {Kind::kU32, Bit(kWillProperties)};
    case kReasonString:
      return {Kind::kString, kAcks | Bit(kDisconnect) | Bit(kAuth)};
    case kReceiveMaximum:
    case kTopicAliasMaximum:
      return {Kind::kU16, Bit(kConnect)};
    case kTopicAlias:
      return {Kind::kU16, Bit(kPublish)};
    case kUserProperty:
      return {Kind::kPair, ~0u};
    case kMaximumPacketSize:
      return {Kind::kU32, Bit(kConnect)};
    case kServerReference:
      return {Kind::kString, Bit(kDisconnect)};
    default:
      return {Kind::kByte, 0};
  }
}

bool ReadVarInt(std::string_view* in, uint32_t* out) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    if (in->empty()) return false;
    const auto byte = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    value |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
  return false;
}

bool ReadFixed(std::string_view* in, int bytes, uint32_t* out) {
  if (in->size() < static_cast<std::size_t>(bytes)) return false;
  uint32_t value = 0;
  for (int i = 0; i < bytes; ++i) value = value << 8 | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(static_cast<std::size_t>(bytes));
  *out = value;
  return true;
}

bool ReadString(std::string_view* in, std::string_view* out) {
  uint32_t length = 0;
  if (!ReadFixed(in, 2, &length) || in->size() < length) return false;
  *out = in->substr(0, length);
  in->remove_prefix(length);
  return true;
}

}  // namespace

bool ReadProperties(std::string_view* body, uint8_t packet_type, Properties* out,
                    std::string* reason) {
  uint32_t length = 0;
  if (!ReadVarInt(body, &length) || body->size() < length) {
    *reason = "malformed properties length";
    return false;
  }
  std::string_view in = body->substr(0, length);
  body->remove_prefix(length);
  while (!in.empty()) {
    uint32_t id = 0;
    if (!ReadVarInt(&in, &id) || id > 0x7f) {
      *reason = "malformed property identifier";
      return false;
    }
    const Rule rule = RuleFor(static_cast<uint8_t>(id));
    if ((rule.packets & Bit(packet_type)) == 0) {
      *reason = "property " + std::to_string(id) + " not allowed here";
      return false;
    }
    if (id != kUserProperty && out->has(static_cast<PropertyId>(id))) {
      *reason = "property " + std::to_string(id) + " included more than once";
      return false;
    }
    out->seen |= uint64_t{1} << id;
    uint32_t number = 0;
    std::string_view text, value;
    bool ok = true;
    switch (rule.kind) {
      case Kind::kByte:
        ok = ReadFixed(&in, 1, &number);
        break;
      case Kind::kU16:
        ok = ReadFixed(&in, 2, &number);
        break;
      case Kind::kU32:
        ok = ReadFixed(&in, 4, &number);
        break;
      case Kind::kVarInt:
        ok = ReadVarInt(&in, &number);
        break;
      case Kind::kString:
        ok = ReadString(&in, &text) && IsValidMqttString(text);
        break;
      case Kind::kBinary:
        ok = ReadString(&in, &text);
        break;
      case Kind::kPair:
        ok = ReadString(&in, &text) && ReadString(&in, &value) && IsValidMqttString(text) &&
             IsValidMqttString(value);
        break;
    }
    if (!ok) {
      *reason = "malformed property " + std::to_string(id);
      return false;
    }
    switch (id) {
      case kPayloadFormat:
        out->payload_format = static_cast<uint8_t>(number);
        ok = number <= 1;
        break;
      case kMessageExpiry:
        out->message_expiry = number;
        break;
      case kContentType:
        out->content_type = text;
        break;
      case kResponseTopic:
        out->response_topic = text;
        break;
      case kCorrelationData:
        out->correlation_data = text;
        break;
      case kSubscriptionId:
        out->subscription_id = number;
        ok = number != 0;
        break;
      case kSessionExpiry:
        out->session_expiry = number;
        break;
      case kAuthMethod:
        out->auth_method = text;
        break;
      case kAuthData:
        out->auth_data = text;
        break;
      case kRequestProblemInfo:
        out->request_problem_info = static_cast<uint8_t>(number);
        ok = number <= 1;
        break;
      case kRequestResponseInfo:
        out->request_response_info = static_cast<uint8_t>(number);
        ok = number <= 1;
        break;
      case kWillDelay:
        out->will_delay = number;
        break;
      case kReasonString:
        out->reason_string = text;
        break;
      case kReceiveMaximum:
        out->receive_maximum = static_cast<uint16_t>(number);
        ok = number != 0;
        break;
      case kTopicAliasMaximum:
        out->topic_alias_maximum = static_cast<uint16_t>(number);
        break;
      case kTopicAlias:
        out->topic_alias = static_cast<uint16_t>(number);
        ok = number != 0;
        break;
      case kMaximumPacketSize:
        out->maximum_packet_size = number;
        ok = number != 0;
        break;
      case kUserProperty:
        out->user.emplace_back(text, value);
        break;
      default:
        break;
    }
    if (!ok) {
      *reason = "invalid value for property " + std::to_string(id);
      return false;
    }
  }
  return true;
}

void AppendVarInt(uint32_t value, std::string* out) {
  do {
    uint8_t byte = value % 128;
    value /= 128;
    if (value > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (value > 0);
}

std::size_t VarIntSize(uint32_t value) {
  return value < 128 ? 1 : value < 16384 ? 2 : value < 2097152 ? 3 : 4;
}

void PropertyWriter::Byte(PropertyId id, uint8_t value) {
  bytes_.push_back(static_cast<char>(id));
  bytes_.push_back(static_cast<char>(value));
}

void PropertyWriter::U16(PropertyId id, uint16_t value) {
  bytes_.push_back(static_cast<char>(id));
  bytes_.push_back(static_cast<char>(value >> 8));
  bytes_.push_back(static_cast<char>(value & 0xff));
}

void PropertyWriter::U32(PropertyId id, uint32_t value) {
  bytes_.push_back(static_cast<char>(id));
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void PropertyWriter::VarInt(PropertyId id, uint32_t value) {
  bytes_.push_back(static_cast<char>(id));
  AppendVarInt(value, &bytes_);
}

void PropertyWriter::String(PropertyId id, std::string_view value) {
  if (value.size() > 0xffff) return;  // not expressible: left out
  bytes_.push_back(static_cast<char>(id));
  bytes_.push_back(static_cast<char>(value.size() >> 8));
  bytes_.push_back(static_cast<char>(value.size() & 0xff));
  bytes_.append(value);
}

void PropertyWriter::Pair(std::string_view key, std::string_view value) {
  if (key.size() > 0xffff || value.size() > 0xffff) return;
  String(kUserProperty, key);
  bytes_.push_back(static_cast<char>(value.size() >> 8));
  bytes_.push_back(static_cast<char>(value.size() & 0xff));
  bytes_.append(value);
}

void PropertyWriter::Append(std::string* out) const {
  AppendVarInt(static_cast<uint32_t>(bytes_.size()), out);
  out->append(bytes_);
}

std::size_t PropertyWriter::EncodedSize() const {
  return VarIntSize(static_cast<uint32_t>(bytes_.size())) + bytes_.size();
}

}  // namespace tern::core::mqtt
