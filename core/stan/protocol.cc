#include "core/stan/protocol.h"

#include <cstddef>
#include <cstring>
#include <span>

#include "core/stan/proto_wire.h"

namespace tern::core::stan {
namespace {

// Each message is a table of its fields: number, type and where the member sits, read and
// written through one loop (the structs are standard-layout; scalars move by memcpy).
enum class Kind : uint8_t { kBytes, kUint64, kInt64, kInt32, kUint32, kBool };
struct Field {
  int number;
  Kind kind;
  std::size_t offset;
};

#define TERN_STAN_FIELD(Message, number, kind, member) \
  Field { number, Kind::kind, offsetof(Message, member) }

template <class T>
T Load(const void* message, std::size_t offset) {
  T value;
  std::memcpy(&value, static_cast<const char*>(message) + offset, sizeof(T));
  return value;
}

template <class T>
void Store(void* message, std::size_t offset, T value) {
  std::memcpy(static_cast<char*>(message) + offset, &value, sizeof(T));
}

void EncodeFields(const void* message, std::span<const Field> fields, std::string* out) {
  ProtoWriter writer(out);
  for (const Field& f : fields) {
    switch (f.kind) {
      case Kind::kBytes:
        writer.Bytes(f.number, Load<std::string_view>(message, f.offset));
        break;
      case Kind::kUint64:
        writer.Uint(f.number, Load<uint64_t>(message, f.offset));
        break;
      case Kind::kInt64:
        writer.Int(f.number, Load<int64_t>(message, f.offset));
        break;
      case Kind::kInt32:
        writer.Int(f.number, Load<int32_t>(message, f.offset));
        break;
      case Kind::kUint32:
        writer.Uint(f.number, Load<uint32_t>(message, f.offset));
        break;
      case Kind::kBool:
        writer.Bool(f.number, Load<bool>(message, f.offset));
        break;
    }
  }
}

bool DecodeFields(std::string_view data, void* message, std::span<const Field> fields) {
  ProtoReader reader(data);
  ProtoField in;
  while (reader.Next(&in)) {
    // Most tables number their fields 1, 2, 3...: the field is found at its number's place
    // without a search.
    const std::size_t at = static_cast<std::size_t>(in.number - 1);
    const bool direct = at < fields.size() && fields[at].number == in.number;
    for (const Field& f : direct ? fields.subspan(at, 1) : fields) {
      if (f.number != in.number) continue;
      // A known number with another wire type is malformed, as the generated readers of
      // nats-streaming-server (gogo protobuf) take it.
      const bool bytes = in.type == WireType::kLengthDelimited;
      if (bytes != (f.kind == Kind::kBytes)) return false;
      switch (f.kind) {
        case Kind::kBytes:
          Store(message, f.offset, in.bytes);
          break;
        case Kind::kUint64:
          Store(message, f.offset, in.varint);
          break;
        case Kind::kInt64:
          Store(message, f.offset, in.AsInt64());
          break;
        case Kind::kInt32:
          Store(message, f.offset, in.AsInt32());
          break;
        case Kind::kUint32:
          Store(message, f.offset, in.AsUint32());
          break;
        case Kind::kBool:
          Store(message, f.offset, in.varint != 0);
          break;
      }
      break;
    }
  }
  return reader.ok();
}

static_assert(sizeof(StartPosition) == sizeof(int32_t));

constexpr Field kPubMsg[] = {
    TERN_STAN_FIELD(PubMsg, 1, kBytes, client_id), TERN_STAN_FIELD(PubMsg, 2, kBytes, guid),
    TERN_STAN_FIELD(PubMsg, 3, kBytes, subject),   TERN_STAN_FIELD(PubMsg, 4, kBytes, reply),
    TERN_STAN_FIELD(PubMsg, 5, kBytes, data),      TERN_STAN_FIELD(PubMsg, 6, kBytes, conn_id),
    TERN_STAN_FIELD(PubMsg, 10, kBytes, sha256),
};
constexpr Field kPubAck[] = {
    TERN_STAN_FIELD(PubAck, 1, kBytes, guid),
    TERN_STAN_FIELD(PubAck, 2, kBytes, error),
};
constexpr Field kMsgProto[] = {
    TERN_STAN_FIELD(MsgProto, 1, kUint64, sequence),
    TERN_STAN_FIELD(MsgProto, 2, kBytes, subject),
    TERN_STAN_FIELD(MsgProto, 3, kBytes, reply),
    TERN_STAN_FIELD(MsgProto, 4, kBytes, data),
    TERN_STAN_FIELD(MsgProto, 5, kInt64, timestamp),
    TERN_STAN_FIELD(MsgProto, 6, kBool, redelivered),
    TERN_STAN_FIELD(MsgProto, 7, kUint32, redelivery_count),
    TERN_STAN_FIELD(MsgProto, 10, kUint32, crc32),
};
constexpr Field kAck[] = {
    TERN_STAN_FIELD(Ack, 1, kBytes, subject),
    TERN_STAN_FIELD(Ack, 2, kUint64, sequence),
};
constexpr Field kConnectRequest[] = {
    TERN_STAN_FIELD(ConnectRequest, 1, kBytes, client_id),
    TERN_STAN_FIELD(ConnectRequest, 2, kBytes, heartbeat_inbox),
    TERN_STAN_FIELD(ConnectRequest, 3, kInt32, protocol),
    TERN_STAN_FIELD(ConnectRequest, 4, kBytes, conn_id),
    TERN_STAN_FIELD(ConnectRequest, 5, kInt32, ping_interval),
    TERN_STAN_FIELD(ConnectRequest, 6, kInt32, ping_max_out),
};
constexpr Field kConnectResponse[] = {
    TERN_STAN_FIELD(ConnectResponse, 1, kBytes, pub_prefix),
    TERN_STAN_FIELD(ConnectResponse, 2, kBytes, sub_requests),
    TERN_STAN_FIELD(ConnectResponse, 3, kBytes, unsub_requests),
    TERN_STAN_FIELD(ConnectResponse, 4, kBytes, close_requests),
    TERN_STAN_FIELD(ConnectResponse, 5, kBytes, error),
    TERN_STAN_FIELD(ConnectResponse, 6, kBytes, sub_close_requests),
    TERN_STAN_FIELD(ConnectResponse, 7, kBytes, ping_requests),
    TERN_STAN_FIELD(ConnectResponse, 8, kInt32, ping_interval),
    TERN_STAN_FIELD(ConnectResponse, 9, kInt32, ping_max_out),
    TERN_STAN_FIELD(ConnectResponse, 10, kInt32, protocol),
    TERN_STAN_FIELD(ConnectResponse, 100, kBytes, public_key),
};
constexpr Field kPing[] = {TERN_STAN_FIELD(Ping, 1, kBytes, conn_id)};
constexpr Field kPingResponse[] = {TERN_STAN_FIELD(PingResponse, 1, kBytes, error)};
constexpr Field kSubscriptionRequest[] = {
    TERN_STAN_FIELD(SubscriptionRequest, 1, kBytes, client_id),
    TERN_STAN_FIELD(SubscriptionRequest, 2, kBytes, subject),
    TERN_STAN_FIELD(SubscriptionRequest, 3, kBytes, q_group),
    TERN_STAN_FIELD(SubscriptionRequest, 4, kBytes, inbox),
    TERN_STAN_FIELD(SubscriptionRequest, 5, kInt32, max_in_flight),
    TERN_STAN_FIELD(SubscriptionRequest, 6, kInt32, ack_wait_in_secs),
    TERN_STAN_FIELD(SubscriptionRequest, 7, kBytes, durable_name),
    TERN_STAN_FIELD(SubscriptionRequest, 10, kInt32, start_position),
    TERN_STAN_FIELD(SubscriptionRequest, 11, kUint64, start_sequence),
    TERN_STAN_FIELD(SubscriptionRequest, 12, kInt64, start_time_delta),
};
constexpr Field kSubscriptionResponse[] = {
    TERN_STAN_FIELD(SubscriptionResponse, 2, kBytes, ack_inbox),
    TERN_STAN_FIELD(SubscriptionResponse, 3, kBytes, error),
};
constexpr Field kUnsubscribeRequest[] = {
    TERN_STAN_FIELD(UnsubscribeRequest, 1, kBytes, client_id),
    TERN_STAN_FIELD(UnsubscribeRequest, 2, kBytes, subject),
    TERN_STAN_FIELD(UnsubscribeRequest, 3, kBytes, inbox),
    TERN_STAN_FIELD(UnsubscribeRequest, 4, kBytes, durable_name),
};
constexpr Field kCloseRequest[] = {TERN_STAN_FIELD(CloseRequest, 1, kBytes, client_id)};
constexpr Field kCloseResponse[] = {TERN_STAN_FIELD(CloseResponse, 1, kBytes, error)};

#undef TERN_STAN_FIELD

}  // namespace

#define TERN_STAN_CODEC(Message, table)                                             \
  void Encode(const Message& m, std::string* out) { EncodeFields(&m, table, out); } \
  bool Decode(std::string_view data, Message* m) {                                  \
    *m = Message{};                                                                 \
    return DecodeFields(data, m, table);                                            \
  }

void Encode(const PubMsg& m, std::string* out) { EncodeFields(&m, kPubMsg, out); }

bool DecodePubMsgByTable(std::string_view data, PubMsg* m) {
  *m = PubMsg{};
  return DecodeFields(data, m, kPubMsg);
}

// Every publish is read here: its fields as clients write them (one-byte tags, lengths)
// are taken without the table; anything else is read by the table from the start.
bool Decode(std::string_view data, PubMsg* m) {
  *m = PubMsg{};
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const auto* end = p + data.size();
  while (p < end) {
    const uint8_t tag = *p++;
    if ((tag & 7) != 2 || tag >= 0x80 || (tag >> 3) == 0 || p >= end) {
      return DecodePubMsgByTable(data, m);
    }
    std::size_t length = *p++;
    if (length >= 0x80) {
      if (p >= end || *p >= 0x80) return DecodePubMsgByTable(data, m);
      length = (length & 0x7f) | (static_cast<std::size_t>(*p++) << 7);
    }
    if (length > static_cast<std::size_t>(end - p)) return false;
    const std::string_view value(reinterpret_cast<const char*>(p), length);
    p += length;
    switch (tag >> 3) {
      case 1:
        m->client_id = value;
        break;
      case 2:
        m->guid = value;
        break;
      case 3:
        m->subject = value;
        break;
      case 4:
        m->reply = value;
        break;
      case 5:
        m->data = value;
        break;
      case 6:
        m->conn_id = value;
        break;
      case 10:
        m->sha256 = value;
        break;
      default:
        break;  // an unknown length-delimited field: skipped, as the table reader does
    }
  }
  return true;
}

TERN_STAN_CODEC(PubAck, kPubAck)
TERN_STAN_CODEC(MsgProto, kMsgProto)
TERN_STAN_CODEC(Ack, kAck)
TERN_STAN_CODEC(ConnectRequest, kConnectRequest)
TERN_STAN_CODEC(ConnectResponse, kConnectResponse)
TERN_STAN_CODEC(Ping, kPing)
TERN_STAN_CODEC(PingResponse, kPingResponse)
TERN_STAN_CODEC(SubscriptionRequest, kSubscriptionRequest)
TERN_STAN_CODEC(SubscriptionResponse, kSubscriptionResponse)
TERN_STAN_CODEC(UnsubscribeRequest, kUnsubscribeRequest)
TERN_STAN_CODEC(CloseRequest, kCloseRequest)
TERN_STAN_CODEC(CloseResponse, kCloseResponse)

#undef TERN_STAN_CODEC

}  // namespace tern::core::stan
