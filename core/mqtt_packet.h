#pragma once
// MQTT 3.1.1 packets as nats-server 2.9 reads and writes them: splitting a byte stream into
// packets (fixed header, remaining length), reading CONNECT, PUBLISH, SUBSCRIBE and
// UNSUBSCRIBE with nats-server's checks, and writing what the server sends. Pure functions
// and value types; the connection that uses them owns them, on its shard.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/mqtt_properties.h"

namespace tern::core::mqtt {

enum PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,  // MQTT 5.0
};

struct Packet {
  uint8_t type = 0;
  uint8_t flags = 0;      // the fixed header's low nibble
  std::string_view body;  // the remaining length's bytes
  std::size_t size = 0;   // the whole packet, fixed header included
};

enum class ReadStatus { kPacket, kNeedMore, kMalformed, kTooLarge };
// The first packet of `input`; packets with a body over `max_body` bytes are refused.
ReadStatus ReadPacket(std::string_view input, std::size_t max_body, Packet* out);

// CONNECT. Connack codes (3.1.1): 1 bad protocol level, 2 identifier rejected, 4 bad user
// name or password (malformed), 5 not authorized.
inline constexpr uint8_t kConnackAccepted = 0, kConnackBadLevel = 1, kConnackBadId = 2,
                         kConnackBadCredentials = 4, kConnackNotAuthorized = 5;
// MQTT 5.0 reason codes the server sends (CONNACK, DISCONNECT, acknowledgements).
inline constexpr uint8_t kReasonSuccess = 0x00, kReasonNoMatchingSubscribers = 0x10,
                         kReasonNoSubscriptionExisted = 0x11, kReasonUnspecified = 0x80,
                         kReasonMalformed = 0x81, kReasonProtocolError = 0x82,
                         kReasonImplementationSpecific = 0x83, kReasonBadClientId = 0x85,
                         kReasonBadCredentials = 0x86, kReasonNotAuthorized = 0x87,
                         kReasonKeepAliveTimeout = 0x8d, kReasonSessionTakenOver = 0x8e,
                         kReasonTopicFilterInvalid = 0x8f, kReasonTopicNameInvalid = 0x90,
                         kReasonPacketIdNotFound = 0x92, kReasonPacketTooLarge = 0x95,
                         kReasonBadAuthMethod = 0x8c, kReasonTopicAliasInvalid = 0x94,
                         kReasonSubIdsNotSupported = 0xa1, kReasonServerShuttingDown = 0x8b,
                         kReasonDisconnectWithWill = 0x04;

struct Connect {
  uint8_t level = 0;  // 4: MQTT 3.1.1, 5: MQTT 5.0
  bool clean = false;
  uint16_t keepalive = 0;  // seconds
  std::string client_id;
  bool will = false;
  uint8_t will_qos = 0;
  bool will_retain = false;
  std::string will_topic;
  std::string will_message;
  bool has_user = false, has_password = false;
  std::string user, password;
  // MQTT 5.0: what the CONNECT's properties asked for, and the will's property list as sent
  // (its length first), read again when the will is published.
  uint32_t session_expiry = 0;  // seconds; 0xffffffff: never
  uint16_t receive_maximum = 65535;
  uint32_t maximum_packet_size = 0;  // 0: no limit
  uint16_t topic_alias_maximum = 0;
  bool has_auth_method = false;
  std::string will_properties;
};
enum class ConnectStatus {
  kOk,
  kClose,    // close without a CONNACK (not MQTT, reserved bits, bad will...)
  kRefused,  // answer CONNACK with *code, then close
};
// Levels 4 (3.1.1) and 5 (5.0); others are refused with kConnackBadLevel.
ConnectStatus ParseConnect(std::string_view body, Connect* out, uint8_t* code, std::string* reason);

struct Publish {
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  std::string_view topic;
  uint16_t packet_id = 0;
  std::string_view payload;
  Properties props;  // MQTT 5.0
};
// False (with *reason) for what nats-server closes the connection for: QoS 3, a packet id
// 0 at QoS 1 or 2, an empty or malformed topic. (QoS 2 is served, as nats-server 2.10 does.)
// In MQTT 5.0 (`v5`) properties follow the packet id, and the topic may be empty when a
// topic alias stands for it.
bool ParsePublish(const Packet& packet, Publish* out, std::string* reason, bool v5 = false);

struct Filter {
  std::string_view topic;
  uint8_t qos = 0;
  // MQTT 5.0 subscription options.
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;  // 0: send retained, 1: only if new, 2: never
};
// SUBSCRIBE (with_qos) and UNSUBSCRIBE: flags 0b0010, a packet id, one filter at least; in
// MQTT 5.0 properties after the packet id (into *props) and an options byte per filter.
bool ParseSubscribe(const Packet& packet, bool with_qos, uint16_t* packet_id,
                    std::vector<Filter>* filters, std::string* reason, bool v5 = false,
                    Properties* props = nullptr);
// PUBACK, PUBREC, PUBREL, PUBCOMP: the packet id.
bool ParsePacketId(const Packet& packet, uint16_t* packet_id);

// A UTF-8 string as MQTT allows it: well-formed, no NUL (MQTT-1.5.3-1, -2).
bool IsValidMqttString(std::string_view text);

// What the server writes.
void AppendConnack(bool session_present, uint8_t code, std::string* out);
// MQTT 5.0: the reason code and properties.
void AppendConnack5(bool session_present, uint8_t reason, const PropertyWriter& props,
                    std::string* out);
// MQTT 5.0 DISCONNECT from the server, with its reason code.
void AppendDisconnect5(uint8_t reason, std::string* out);
// MQTT 5.0 UNSUBACK: a reason code per filter.
void AppendUnsuback5(uint16_t packet_id, const std::vector<uint8_t>& codes, std::string* out);
// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: the packet id alone.
void AppendAck(PacketType type, uint16_t packet_id, std::string* out);
// In MQTT 5.0 (`v5`) an empty property list follows the packet id.
void AppendSuback(uint16_t packet_id, const std::vector<uint8_t>& granted, std::string* out,
                  bool v5 = false);
void AppendPingresp(std::string* out);
// A PUBLISH's fixed and variable header, for a payload of payload_len bytes that the caller
// appends after it; packet_id only for QoS 1 and 2; `props` (MQTT 5.0 only) its properties.
void AppendPublishHeader(std::string_view topic, std::size_t payload_len, uint8_t qos, bool retain,
                         bool dup, uint16_t packet_id, std::string* out,
                         const PropertyWriter* props = nullptr);
// The size of that header.
std::size_t PublishHeaderSize(std::string_view topic, std::size_t payload_len, uint8_t qos,
                              const PropertyWriter* props);
// A PUBLISH of `topic` with `payload`; packet_id only for QoS 1.
void AppendPublish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
                   bool dup, uint16_t packet_id, std::string* out);

}  // namespace tern::core::mqtt
