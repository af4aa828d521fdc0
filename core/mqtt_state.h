#pragma once
// MqttState: what a Client on the MQTT port keeps besides a NATS client's state: the
// accepted CONNECT (client id, keep-alive, will), the granted QoS of each subscription,
// and a packet cut across reads. MQTT is a protocol front end of the client kind, as in
// nats-server (kind CLIENT, type MQTT): for routing, accounts, permissions, limits and
// monitoring an MQTT client is a client. Owned by its Client, on that client's shard.
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/mqtt_packet.h"

namespace tern::core {

// The listener id of the MQTT port, and the factory of its connections.
inline constexpr uint32_t kMqttListener = 5;

// 22 random base62 characters (nats-server's NUID length): client ids for clean sessions
// that sent none, consumer names, deliver and reply subjects.
std::string MqttRandomToken();

// What an MQTT client's subscription is (its Subscription::tag).
enum MqttSubKind : int {
  kMqttPlain = 0,        // a filter granted QoS 0: every message, as QoS 0
  kMqttPlainQos1 = 1,    // a filter granted QoS 1: messages not stored for it (NATS publishes)
  kMqttApi = 2,          // $MQTT.JSA.<token>.>: answers to its JetStream API requests
  kMqttDeliver = 3,      // $MQTT.sub.<token>: a QoS 1 consumer's deliveries
  kMqttRetained = 4,     // $MQTT.rsub.<token>: retained messages for a new subscription
  kMqttDeliverQos2 = 5,  // $MQTT.sub.<token> of a subscription granted QoS 2
};

// The header NATS subscribers see on an MQTT client's publish: its QoS, as nats-server sends
// it ("NATS/1.0\r\nNmqtt-Pub:<qos>\r\n\r\n").
inline std::string_view MqttPublishHeader(uint8_t qos) {
  static constexpr std::string_view kHeaders[] = {"NATS/1.0\r\nNmqtt-Pub:0\r\n\r\n",
                                                  "NATS/1.0\r\nNmqtt-Pub:1\r\n\r\n",
                                                  "NATS/1.0\r\nNmqtt-Pub:2\r\n\r\n"};
  return kHeaders[qos > 2 ? 2 : qos];
}

// That header with more lines (a 5.0 client's properties, each "Key:value\r\n"), built in
// *buffer when there are any.
inline std::string_view MqttHeaderBlock(uint8_t qos, std::string_view extra, std::string* buffer) {
  const std::string_view plain = MqttPublishHeader(qos);
  if (extra.empty()) return plain;
  buffer->assign(plain.substr(0, plain.size() - 2));
  buffer->append(extra);
  buffer->append("\r\n");
  return *buffer;
}

// The value of header `name` in a NATS header block ("Name:value" lines); empty when absent.
std::string_view MqttHeaderValue(std::string_view block, std::string_view name);

// How long a JetStream API request of an MQTT client may wait for its answer (nats-server's).
inline constexpr int64_t kMqttApiTimeoutNs = int64_t{4} * 1'000'000'000;

// The JetStream stream that holds QoS 1 messages for QoS 1 subscriptions (interest
// retention: kept until every such subscription acknowledged them), as nats-server names it.
inline constexpr const char* kMqttMsgsStream = "$MQTT_msgs";
inline constexpr std::string_view kMqttMsgsPrefix = "$MQTT.msgs.";
// Retained messages: the last one of each subject at $MQTT.rmsgs.<subject> (nats-server
// 2.10's layout, with 2.11's record: headers Nmqtt-RTopic and Nmqtt-RFlags, the payload).
inline constexpr const char* kMqttRetainedStream = "$MQTT_rmsgs";
// Persistent sessions: one record per client id at $MQTT.sess.<hash of the id> (its
// subscriptions and their consumers), as nats-server keeps them.
inline constexpr const char* kMqttSessionStream = "$MQTT_sess";
inline constexpr std::string_view kMqttSessionPrefix = "$MQTT.sess.";
inline constexpr std::string_view kMqttRetainedPrefix = "$MQTT.rmsgs.";
// QoS 2 messages received and not yet released (PUBREC sent, PUBREL awaited): one record
// per packet id at $MQTT.qos2.in.<hash of the client id>.<packet id>, the NATS subject in
// its Nmqtt-Subject header, as nats-server 2.10 keeps them.
inline constexpr const char* kMqttQos2Stream = "$MQTT_qos2in";
inline constexpr std::string_view kMqttQos2Prefix = "$MQTT.qos2.in.";
// A released QoS 2 message's id in $MQTT_msgs: "mqtt-qos2-<hash of the client id>.<record seq>".
inline constexpr std::string_view kMqttQos2MsgIdLine = "Nats-Msg-Id:mqtt-qos2-";

// The header line a retained publish carries to its live subscribers (NATS ones see it too),
// so that a 5.0 subscription with Retain As Published can set RETAIN on its copy.
inline constexpr std::string_view kMqttRetainLine = "Nmqtt-Retain:1\r\n";

// How an MQTT client's filter subscribes besides its QoS: a 5.0 shared subscription's group
// (a NATS queue group), No Local and Retain As Published.
struct MqttFilterOptions {
  std::string_view group;
  bool no_local = false;
  bool retain_as_published = false;
};

// A filter whose retained messages go to a new subscription: its subject, granted QoS and
// 5.0 Subscription Identifier (0: none).
struct MqttRetainedFilter {
  std::string subject;
  uint8_t granted = 0;
  uint32_t sub_id = 0;
};

// MQTT 5.0: the topic aliases a client may set (CONNACK's Topic Alias Maximum).
inline constexpr uint16_t kMqttTopicAliasMax = 1024;

struct MqttState {
  bool connected = false;  // CONNECT answered with 0
  mqtt::Connect connect;   // client id, clean session, keep-alive, will
  bool v5() const { return connect.level == 5; }
  // Where the session starts and whether it outlives the connection: 3.1.1's clean session
  // is both; 5.0 has Clean Start and Session Expiry Interval (> 0: kept).
  bool clean_start = true;
  bool persistent = false;
  bool assigned_id = false;  // the server made the client id up (5.0: CONNACK says which)
  // MQTT 5.0 topic aliases the client set: alias -> topic.
  absl::flat_hash_map<uint16_t, std::string> topic_aliases;
  int64_t keepalive_ns = 0;     // 1.5 x the keep-alive: silence longer than this closes
  bool will_pending = false;    // publish the will if the connection ends without DISCONNECT
  std::string registry_key;     // "<account>:<client id>" once held in the MqttRegistry
  int64_t jailed_until_ns = 0;  // an id taken over a moment ago: closed then, unanswered
  std::string partial;          // a packet cut across reads
  // Granted QoS by subscription sid (the NATS subject, or "<subject> fwc" for the level a
  // trailing '#' also matches).
  absl::flat_hash_map<std::string, uint8_t> granted;
  absl::flat_hash_set<std::string> no_local;             // 5.0: sids subscribed with No Local
  absl::flat_hash_set<std::string> retain_as_published;  // 5.0: ... with Retain As Published
  absl::flat_hash_map<std::string, uint32_t> sub_ids;    // 5.0: sid -> Subscription Identifier
  uint8_t disconnect_reason = 0;  // 5.0: the DISCONNECT reason to close with, if set
  // JetStream (QoS 1), through the API as any client uses it: requests carry replies to
  // `inbox`.<request id>; each waits in `requests` until answered or timed out.
  enum class RequestKind {
    kStreams,
    kSessionLoad,
    kSessionPurge,
    kStore,
    kConsumer,
    kRetainStore,
    kRetainFetch,
    kQos2Store,    // a QoS 2 PUBLISH kept: PUBREC
    kQos2Release,  // PUBREL: the kept message read back
    kQos2Deliver,  // ... and stored for QoS 1/2 subscriptions: its record goes
    kQos2Purge     // ... and once it is gone: PUBCOMP
  };
  struct Request {
    RequestKind kind;
    uint16_t packet_id = 0;  // kStore, kQos2*: the PUBLISH to acknowledge
    uint32_t batch = 0;      // kConsumer: the SUBSCRIBE waiting for it
    std::size_t code = 0;    // kConsumer: its filter's place in that SUBACK
    std::string sid;         // kConsumer: the subscription it serves
    int64_t deadline_ns = 0;
  };
  std::string inbox;  // "$MQTT.JSA.<token>"
  uint64_t next_request = 0;
  absl::flat_hash_map<uint64_t, Request> requests;
  bool connack_waiting = false;  // CONNECT accepted; CONNACK once the streams exist
  int streams_waiting = 0;
  std::string session_subject;  // $MQTT.sess.<hash>
  // Retained messages being sent to a new subscription, by deliver subject: the granted
  // QoS, and the ephemeral consumer to delete once the last one came.
  struct RetainedFetch {
    uint8_t granted = 0;
    uint32_t sub_id = 0;
    std::string consumer;
    bool done = false;
  };
  absl::flat_hash_map<std::string, RetainedFetch> retained;
  // Work that may not run while the shard delivers (it subscribes, publishes, parses):
  // API answers, and retained fetches to end. Run at the client's next timer turn.
  std::vector<std::pair<uint64_t, std::string>> replies;
  std::vector<std::string> finished_fetches;
  std::vector<std::string> deferred_acks;  // deliveries dropped (expired, too large) to ack
  // A SUBACK that waits for its QoS 1 consumers.
  struct PendingSuback {
    uint16_t packet_id = 0;
    std::vector<uint8_t> codes;
    std::vector<MqttRetainedFilter> retained;  // filters to send retained for
    int waiting = 0;
  };
  absl::flat_hash_map<uint32_t, PendingSuback> subacks;
  uint32_t next_batch = 0;
  // QoS 1 subscriptions: sid -> the durable consumer and its deliver subject.
  struct Consumer {
    std::string durable, deliver;
  };
  absl::flat_hash_map<std::string, Consumer> consumers;
  // QoS 1 deliveries awaiting PUBACK: packet id -> the ack subject and "<durable> <sseq>",
  // and the other way, so that a redelivery keeps its packet id.
  struct InFlight {
    std::string ack, key;
    uint8_t qos = 1;  // 2: PUBREC, not PUBACK, acknowledges it
  };
  absl::flat_hash_map<uint16_t, InFlight> in_flight;
  absl::flat_hash_map<std::string, uint16_t> in_flight_by_key;
  // Deliveries unacknowledged when the session's last connection ended (the session record's
  // "pend"), by "<durable> <sseq>": redelivered with the packet id they had.
  struct Resumed {
    uint16_t packet_id = 0;
    uint8_t qos = 1;
  };
  absl::flat_hash_map<std::string, Resumed> resumed_by_key;
  absl::flat_hash_set<uint16_t> resumed_ids;
  uint16_t last_packet_id = 0;
  // QoS 2 (client_mqtt_qos2.cc). Received: packet id -> where its exchange is. Sent:
  // packet ids whose PUBREC came and whose PUBREL awaits PUBCOMP (kept in the session
  // record too).
  enum class Qos2In : uint8_t { kStoring, kStored, kReleasing };
  std::string qos2_prefix;  // $MQTT.qos2.in.<hash>.
  absl::flat_hash_map<uint16_t, Qos2In> qos2_received;
  absl::flat_hash_set<uint16_t> pubrel_pending;

  // Reused per packet and per delivery: no allocation once grown.
  std::string subject, topic, header, published, stored_subject, reply, extra_headers, reply_topic,
      header_block, publish_reply, stored_extra;
  mqtt::PropertyWriter props;
  std::vector<mqtt::Filter> filters;
  std::vector<uint8_t> codes;
  std::vector<MqttRetainedFilter> retained_filters;
};

}  // namespace tern::core
