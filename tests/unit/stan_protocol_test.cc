// The STAN protocol's protobuf codec (core/stan/protocol.h): bytes as protobuf writes them
// for the protocol's field numbers, round trips of every message, and what a reader must
// refuse or skip.
#include "core/stan/protocol.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "core/stan/channel.h"
#include "core/stan/proto_wire.h"

namespace tern::core::stan {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Bytes worked out by hand from the protobuf encoding rules and the field numbers: a
// client written against the .proto file reads exactly these.
TEST(StanProtocol, EncodesWithTheProtocolsFieldNumbers) {
  std::string out;
  Encode(PubAck{.guid = "g1"}, &out);
  EXPECT_EQ(Hex(out), "0a026731");
  out.clear();
  Encode(PubAck{.guid = "g", .error = "e"}, &out);
  EXPECT_EQ(Hex(out), "0a0167120165");
  out.clear();
  // Field 100 takes a two-byte tag; ints as varints; defaults (0, "") left out.
  Encode(ConnectResponse{.pub_prefix = "p", .ping_interval = 5, .protocol = 1, .public_key = "k"},
         &out);
  EXPECT_EQ(Hex(out),
            "0a0170"
            "4005"
            "5001"
            "a206016b");
  out.clear();
  // An enum and a 64-bit sequence; a negative int64 takes ten bytes.
  Encode(SubscriptionRequest{.start_position = StartPosition::kSequenceStart,
                             .start_sequence = 300,
                             .start_time_delta = -1},
         &out);
  EXPECT_EQ(Hex(out),
            "5003"
            "58ac02"
            "60ffffffffffffffffff01");
}

TEST(StanProtocol, EveryMessageRoundTrips) {
  std::string out;
  Encode(MsgProto{.sequence = 1ull << 40,
                  .subject = "orders",
                  .reply = "r",
                  .data = std::string_view("\0\1\2", 3),
                  .timestamp = 1'700'000'000'123'456'789,
                  .redelivered = true,
                  .redelivery_count = 3,
                  .crc32 = 0xdeadbeef},
         &out);
  MsgProto msg;
  ASSERT_TRUE(Decode(out, &msg));
  EXPECT_EQ(msg.sequence, 1ull << 40);
  EXPECT_EQ(msg.subject, "orders");
  EXPECT_EQ(msg.reply, "r");
  EXPECT_EQ(msg.data, std::string_view("\0\1\2", 3));
  EXPECT_EQ(msg.timestamp, 1'700'000'000'123'456'789);
  EXPECT_TRUE(msg.redelivered);
  EXPECT_EQ(msg.redelivery_count, 3u);
  EXPECT_EQ(msg.crc32, 0xdeadbeefu);

  out.clear();
  Encode(SubscriptionRequest{.client_id = "me",
                             .subject = "orders.eu",
                             .q_group = "workers",
                             .inbox = "_INBOX.x",
                             .max_in_flight = 1024,
                             .ack_wait_in_secs = 30,
                             .durable_name = "dur",
                             .start_position = StartPosition::kTimeDeltaStart,
                             .start_sequence = 0,
                             .start_time_delta = 60'000'000'000},
         &out);
  SubscriptionRequest sub;
  ASSERT_TRUE(Decode(out, &sub));
  EXPECT_EQ(sub.client_id, "me");
  EXPECT_EQ(sub.subject, "orders.eu");
  EXPECT_EQ(sub.q_group, "workers");
  EXPECT_EQ(sub.inbox, "_INBOX.x");
  EXPECT_EQ(sub.max_in_flight, 1024);
  EXPECT_EQ(sub.ack_wait_in_secs, 30);
  EXPECT_EQ(sub.durable_name, "dur");
  EXPECT_EQ(sub.start_position, StartPosition::kTimeDeltaStart);
  EXPECT_EQ(sub.start_time_delta, 60'000'000'000);

  out.clear();
  Encode(ConnectRequest{.client_id = "c",
                        .heartbeat_inbox = "_INBOX.hb",
                        .protocol = kProtocolOne,
                        .conn_id = "id",
                        .ping_interval = 5,
                        .ping_max_out = 88},
         &out);
  ConnectRequest connect;
  ASSERT_TRUE(Decode(out, &connect));
  EXPECT_EQ(connect.client_id, "c");
  EXPECT_EQ(connect.heartbeat_inbox, "_INBOX.hb");
  EXPECT_EQ(connect.protocol, kProtocolOne);
  EXPECT_EQ(connect.conn_id, "id");
  EXPECT_EQ(connect.ping_interval, 5);
  EXPECT_EQ(connect.ping_max_out, 88);

  out.clear();
  Encode(PubMsg{.client_id = "c", .guid = "g", .subject = "s", .data = "d", .conn_id = "i"}, &out);
  PubMsg pub;
  ASSERT_TRUE(Decode(out, &pub));
  EXPECT_EQ(pub.client_id, "c");
  EXPECT_EQ(pub.guid, "g");
  EXPECT_EQ(pub.subject, "s");
  EXPECT_EQ(pub.data, "d");
  EXPECT_EQ(pub.conn_id, "i");

  out.clear();
  Encode(UnsubscribeRequest{.client_id = "c", .subject = "s", .inbox = "a", .durable_name = "d"},
         &out);
  UnsubscribeRequest unsub;
  ASSERT_TRUE(Decode(out, &unsub));
  EXPECT_EQ(unsub.inbox, "a");
  EXPECT_EQ(unsub.durable_name, "d");

  out.clear();
  Encode(Ack{.subject = "s", .sequence = 7}, &out);
  Ack ack;
  ASSERT_TRUE(Decode(out, &ack));
  EXPECT_EQ(ack.subject, "s");
  EXPECT_EQ(ack.sequence, 7u);
}

// An empty message is every field at its default; unknown fields (any wire type) are
// skipped; a cut-short field, a bad tag or a known field of another wire type is refused.
TEST(StanProtocol, ReadsWhatProtobufAllowsAndRefusesTheRest) {
  Ack ack{.subject = "old", .sequence = 9};
  ASSERT_TRUE(Decode("", &ack));
  EXPECT_EQ(ack.subject, "");
  EXPECT_EQ(ack.sequence, 0u);

  std::string unknown;
  ProtoWriter writer(&unknown);
  writer.Uint(15, 99);                                         // an unknown varint
  writer.Bytes(16, "extra");                                   // an unknown length-delimited field
  unknown += std::string("\x1d\x01\x02\x03\x04", 5);           // field 3, fixed32
  unknown += std::string("\x21", 1) + std::string(8, '\x05');  // field 4, fixed64
  writer.Bytes(1, "subj");
  ASSERT_TRUE(Decode(unknown, &ack));
  EXPECT_EQ(ack.subject, "subj");
  EXPECT_EQ(ack.sequence, 0u);
  writer.Bytes(2, "seq as bytes");  // a known number with the wrong wire type
  EXPECT_FALSE(Decode(unknown, &ack));

  std::string good;
  Encode(Ack{.subject = "subject", .sequence = 1}, &good);
  for (std::size_t cut = 1; cut < good.size(); ++cut) {
    if (cut == good.size() - 2) continue;  // ends cleanly after the subject field
    EXPECT_FALSE(Decode(good.substr(0, cut), &ack)) << "cut at " << cut;
  }
  EXPECT_FALSE(Decode(std::string("\x00\x01", 2), &ack));  // field number 0
  EXPECT_FALSE(Decode(std::string("\x0b", 1), &ack));      // a group (wire type 3)
  EXPECT_FALSE(Decode(std::string(11, '\xff'), &ack));     // a varint of eleven bytes
}

// Channel names as nats-streaming-server takes them, and the stream each is kept in: the
// same name always, two names never the same stream.
TEST(StanChannel, NamesAndTheirStreams) {
  for (const char* good : {"orders", "orders.eu", "a-b_c", "x.y.z", "UPPER.lower"}) {
    EXPECT_TRUE(IsValidChannelName(good)) << good;
  }
  for (const char* bad : {"", ".a", "a.", "a..b", "a.*", "a.>", ">", "a/b"}) {
    EXPECT_FALSE(IsValidChannelName(bad)) << bad;
  }
  EXPECT_EQ(ChannelStreamName("orders"), "STAN_orders");
  EXPECT_EQ(ChannelStreamName("orders.eu-1"), "STAN_orders_eu-1");
  EXPECT_EQ(ChannelSubject("orders.eu"), "_STAN.ch.orders.eu");
  // '_' of its own (or any character a stream name may not keep) adds a hash of the name.
  const std::string underscored = ChannelStreamName("orders_eu");
  EXPECT_NE(underscored, ChannelStreamName("orders.eu"));
  EXPECT_EQ(underscored.rfind("STAN_orders_eu_", 0), 0u) << underscored;
  EXPECT_EQ(underscored.size(), std::string("STAN_orders_eu_").size() + 8);
  EXPECT_EQ(underscored, ChannelStreamName("orders_eu"));  // stable
  EXPECT_NE(ChannelStreamName("a_b"), ChannelStreamName("a\\b"));
  // Long names are cut and told apart by the hash.
  const std::string long_a(300, 'a');
  const std::string long_b = std::string(299, 'a') + "b";
  EXPECT_NE(ChannelStreamName(long_a), ChannelStreamName(long_b));
  EXPECT_LE(ChannelStreamName(long_a).size(), 5u + 200 + 1 + 8);
  for (char c : ChannelStreamName("we\\ird.na me$")) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') << c;
  }
}

}  // namespace
}  // namespace tern::core::stan
