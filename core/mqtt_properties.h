#pragma once
// MQTT 5.0 properties (section 2.2.2): reading a packet's property list with its checks (each
// property at most once but user properties and subscription identifiers, the right packet,
// well-formed values), and writing one. Value types over the packet's bytes; the connection
// that reads a packet owns its Properties for that packet only, on its shard.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::core::mqtt {

enum PropertyId : uint8_t {
  kPayloadFormat = 0x01,
  kMessageExpiry = 0x02,
  kContentType = 0x03,
  kResponseTopic = 0x08,
  kCorrelationData = 0x09,
  kSubscriptionId = 0x0b,
  kSessionExpiry = 0x11,
  kAssignedClientId = 0x12,
  kServerKeepAlive = 0x13,
  kAuthMethod = 0x15,
  kAuthData = 0x16,
  kRequestProblemInfo = 0x17,
  kWillDelay = 0x18,
  kRequestResponseInfo = 0x19,
  kResponseInfo = 0x1a,
  kServerReference = 0x1c,
  kReasonString = 0x1f,
  kReceiveMaximum = 0x21,
  kTopicAliasMaximum = 0x22,
  kTopicAlias = 0x23,
  kMaximumQos = 0x24,
  kRetainAvailable = 0x25,
  kUserProperty = 0x26,
  kMaximumPacketSize = 0x27,
  kWildcardSubAvailable = 0x28,
  kSubIdAvailable = 0x29,
  kSharedSubAvailable = 0x2a,
};

// What a client may send; views into the packet body.
struct Properties {
  uint64_t seen = 0;  // bit per property id read (user properties excepted)
  bool has(PropertyId id) const { return (seen >> id) & 1; }
  uint8_t payload_format = 0;
  uint32_t message_expiry = 0;
  std::string_view content_type, response_topic, correlation_data;
  uint32_t subscription_id = 0;
  uint32_t session_expiry = 0;
  std::string_view auth_method, auth_data;
  uint8_t request_problem_info = 1, request_response_info = 0;
  uint32_t will_delay = 0;
  std::string_view reason_string;
  uint16_t receive_maximum = 65535;
  uint16_t topic_alias_maximum = 0;
  uint16_t topic_alias = 0;
  uint32_t maximum_packet_size = 0;  // 0: no limit
  std::vector<std::pair<std::string_view, std::string_view>> user;
};

// Reads a property list (its variable-byte length, then the properties) at the front of
// *body and moves past it. False (with *reason) if malformed, repeated, or not valid in
// `packet_type` (the packet it came in; kWill: a CONNECT's will properties).
inline constexpr uint8_t kWillProperties = 0xff;
bool ReadProperties(std::string_view* body, uint8_t packet_type, Properties* out,
                    std::string* reason);

// Builds a property list; Append writes its length and the properties.
class PropertyWriter {
 public:
  void Byte(PropertyId id, uint8_t value);
  void U16(PropertyId id, uint16_t value);
  void U32(PropertyId id, uint32_t value);
  void VarInt(PropertyId id, uint32_t value);
  void String(PropertyId id, std::string_view value);  // also binary data
  void Pair(std::string_view key, std::string_view value);
  std::size_t size() const { return bytes_.size(); }  // without the length
  bool empty() const { return bytes_.empty(); }
  void clear() { bytes_.clear(); }
  // The length (variable byte integer), then the properties.
  void Append(std::string* out) const;
  std::size_t EncodedSize() const;  // what Append writes

 private:
  std::string bytes_;
};

// MQTT's variable byte integer (1 to 4 bytes).
void AppendVarInt(uint32_t value, std::string* out);
std::size_t VarIntSize(uint32_t value);

}  // namespace tern::core::mqtt
