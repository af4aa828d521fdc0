#pragma once
// The NATS Streaming (STAN) client protocol's messages (stan.go's pb/protocol.proto, which
// nats-streaming-server, libnats and node-nats-streaming all speak): one struct per message
// and its protobuf encoding. Field numbers are the protocol's; docs/STAN.md lists them.
// Decoding reads views into the caller's bytes (valid while those are) and fails only on
// malformed protobuf: unknown fields are skipped, as protobuf readers do; a known number
// with another wire type is malformed (as nats-streaming-server reads it). Value types;
// any thread.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core::stan {

// The protocol version a client and server announce in ConnectRequest/ConnectResponse.
inline constexpr int32_t kProtocolOne = 1;

enum class StartPosition : int32_t {
  kNewOnly = 0,
  kLastReceived = 1,
  kTimeDeltaStart = 2,
  kSequenceStart = 3,
  kFirst = 4,
};

struct PubMsg {                // client -> server, on <pubPrefix>.<channel>
  std::string_view client_id;  // 1
  std::string_view guid;       // 2
  std::string_view subject;    // 3: the channel
  std::string_view reply;      // 4
  std::string_view data;       // 5
  std::string_view conn_id;    // 6
  std::string_view sha256;     // 10
};

struct PubAck {            // server -> client, to the PubMsg's reply
  std::string_view guid;   // 1
  std::string_view error;  // 2
};

struct MsgProto {                 // server -> subscriber, to its inbox
  uint64_t sequence = 0;          // 1
  std::string_view subject;       // 2
  std::string_view reply;         // 3
  std::string_view data;          // 4
  int64_t timestamp = 0;          // 5: ns since the epoch
  bool redelivered = false;       // 6
  uint32_t redelivery_count = 0;  // 7
  uint32_t crc32 = 0;             // 10
};

struct Ack {                 // subscriber -> server, to the subscription's ack inbox
  std::string_view subject;  // 1
  uint64_t sequence = 0;     // 2
};

struct ConnectRequest {              // client -> server, on _STAN.discover.<cluster id>
  std::string_view client_id;        // 1
  std::string_view heartbeat_inbox;  // 2
  int32_t protocol = 0;              // 3
  std::string_view conn_id;          // 4
  int32_t ping_interval = 0;         // 5: seconds
  int32_t ping_max_out = 0;          // 6
};

struct ConnectResponse {
  std::string_view pub_prefix;          // 1
  std::string_view sub_requests;        // 2
  std::string_view unsub_requests;      // 3
  std::string_view close_requests;      // 4
  std::string_view error;               // 5
  std::string_view sub_close_requests;  // 6
  std::string_view ping_requests;       // 7
  int32_t ping_interval = 0;            // 8
  int32_t ping_max_out = 0;             // 9
  int32_t protocol = 0;                 // 10
  std::string_view public_key;          // 100
};

struct Ping {
  std::string_view conn_id;  // 1
};

struct PingResponse {
  std::string_view error;  // 1
};

struct SubscriptionRequest {
  std::string_view client_id;                              // 1
  std::string_view subject;                                // 2: the channel
  std::string_view q_group;                                // 3
  std::string_view inbox;                                  // 4
  int32_t max_in_flight = 0;                               // 5
  int32_t ack_wait_in_secs = 0;                            // 6
  std::string_view durable_name;                           // 7
  StartPosition start_position = StartPosition::kNewOnly;  // 10
  uint64_t start_sequence = 0;                             // 11
  int64_t start_time_delta = 0;                            // 12: ns before now
};

struct SubscriptionResponse {
  std::string_view ack_inbox;  // 2
  std::string_view error;      // 3
};

struct UnsubscribeRequest {       // on unsubRequests and subCloseRequests alike
  std::string_view client_id;     // 1
  std::string_view subject;       // 2
  std::string_view inbox;         // 3: the subscription's ack inbox
  std::string_view durable_name;  // 4
};

struct CloseRequest {
  std::string_view client_id;  // 1
};

struct CloseResponse {
  std::string_view error;  // 1
};

// Each appends the message's encoding to `out`.
void Encode(const PubMsg& m, std::string* out);
void Encode(const PubAck& m, std::string* out);
void Encode(const MsgProto& m, std::string* out);
void Encode(const Ack& m, std::string* out);
void Encode(const ConnectRequest& m, std::string* out);
void Encode(const ConnectResponse& m, std::string* out);
void Encode(const Ping& m, std::string* out);
void Encode(const PingResponse& m, std::string* out);
void Encode(const SubscriptionRequest& m, std::string* out);
void Encode(const SubscriptionResponse& m, std::string* out);
void Encode(const UnsubscribeRequest& m, std::string* out);
void Encode(const CloseRequest& m, std::string* out);
void Encode(const CloseResponse& m, std::string* out);

// Each fills `m` from `data`; false if `data` is not a well-formed message.
bool Decode(std::string_view data, PubMsg* m);
// The general table reader for PubMsg, which Decode's fast path must agree with (the fuzzer
// checks it).
bool DecodePubMsgByTable(std::string_view data, PubMsg* m);
bool Decode(std::string_view data, PubAck* m);
bool Decode(std::string_view data, MsgProto* m);
bool Decode(std::string_view data, Ack* m);
bool Decode(std::string_view data, ConnectRequest* m);
bool Decode(std::string_view data, ConnectResponse* m);
bool Decode(std::string_view data, Ping* m);
bool Decode(std::string_view data, PingResponse* m);
bool Decode(std::string_view data, SubscriptionRequest* m);
bool Decode(std::string_view data, SubscriptionResponse* m);
bool Decode(std::string_view data, UnsubscribeRequest* m);
bool Decode(std::string_view data, CloseRequest* m);
bool Decode(std::string_view data, CloseResponse* m);

}  // namespace tern::core::stan
