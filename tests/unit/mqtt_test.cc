// MQTT pieces without a socket: the topic/subject mapping tables nats-server 2.9.10 was
// observed with (both ways), packets read from any cut of the byte stream, CONNECT's
// checks, and the bytes of what the server writes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/mqtt_packet.h"
#include "core/mqtt_topic.h"

namespace tern::core::mqtt {
namespace {

std::string Subject(const std::string& topic, bool filter = false) {
  std::string subject, reason;
  if (!TopicToSubject(topic, filter, &subject, &reason)) return "error: " + reason;
  return subject;
}

std::string Topic(const std::string& subject) {
  std::string topic;
  SubjectToTopic(subject, &topic);
  return topic;
}

TEST(MqttTopic, MapsAsNatsServer) {
  const std::pair<const char*, const char*> to_subject[] = {
      {"a/b", "a.b"},    {"/a", "/.a"},    {"a/", "a./"},   {"a//b", "a./.b"},
      {"a/b/", "a.b./"}, {"/", "/./"},     {"//", "/././"}, {"a///b", "a././.b"},
      {"/a/b", "/.a.b"}, {"a*/b", "a*.b"}, {"é/ü", "é.ü"},
  };
  for (const auto& [topic, subject] : to_subject) EXPECT_EQ(Subject(topic), subject) << topic;
  EXPECT_EQ(Subject("a/+/#", true), "a.*.>");
  EXPECT_EQ(Subject("+/+", true), "*.*");
  EXPECT_EQ(Subject("a.b").substr(0, 6), "error:");
  EXPECT_EQ(Subject("a b").substr(0, 6), "error:");
  EXPECT_EQ(Subject("a/+").substr(0, 6), "error:");  // no wildcards in a topic name

  const std::pair<const char*, const char*> to_topic[] = {
      {"a.b", "a/b"},   {"/.a", "/a"},          {"a./", "a/"},    {"a./.b", "a//b"},
      {"/./", "/"},     {"foo/bar", "foo/bar"}, {"/foo", "/foo"}, {"a/.b", "a//b"},
      {"x//y", "x//y"}, {"$SYS.x", "$SYS/x"},
  };
  for (const auto& [subject, topic] : to_topic) EXPECT_EQ(Topic(subject), topic) << subject;
}

TEST(MqttPacket, ReadFromAnyCut) {
  std::string stream;
  AppendPublish("t/q1", "m1", 1, false, false, 1, &stream);
  AppendPingresp(&stream);
  AppendPublish("big", std::string(300, 'x'), 0, true, false, 0, &stream);  // 2 length bytes
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    std::string first = stream.substr(0, cut), rest = stream.substr(cut);
    std::vector<uint8_t> types;
    std::string buffered = first;
    for (int round = 0; round < 2; ++round) {
      for (;;) {
        Packet p;
        const ReadStatus status = ReadPacket(buffered, 1 << 20, &p);
        if (status != ReadStatus::kPacket) {
          ASSERT_EQ(status, ReadStatus::kNeedMore);
          break;
        }
        types.push_back(p.type);
        buffered.erase(0, p.size);
      }
      buffered += rest;
      rest.clear();
    }
    EXPECT_EQ(types, (std::vector<uint8_t>{kPublish, kPingresp, kPublish})) << cut;
  }
  // The first QoS 1 publish, byte for byte as nats-server sends it.
  EXPECT_EQ(stream.substr(0, 12), std::string("\x32\x0a\x00\x04t/q1\x00\x01m1", 12));
  Packet p;
  EXPECT_EQ(ReadPacket(std::string("\x30\xff\xff\xff\xff\x01", 6), 1 << 20, &p),
            ReadStatus::kMalformed);
  EXPECT_EQ(ReadPacket(std::string("\x30\x80\x80\x01", 4), 1000, &p), ReadStatus::kTooLarge);
}

std::string ConnectBody(uint8_t level, uint8_t flags, const std::string& id,
                        const std::string& tail = "") {
  std::string body = std::string("\x00\x04MQTT", 6);
  body.push_back(static_cast<char>(level));
  body.push_back(static_cast<char>(flags));
  body += std::string("\x00\x3c", 2);
  body.push_back(static_cast<char>(id.size() >> 8));
  body.push_back(static_cast<char>(id.size()));
  return body + id + tail;
}

TEST(MqttPacket, ConnectChecks) {
  Connect c;
  uint8_t code = 0;
  std::string reason;
  EXPECT_EQ(ParseConnect(ConnectBody(4, 0x02, "c1"), &c, &code, &reason), ConnectStatus::kOk);
  EXPECT_EQ(c.keepalive, 60);
  EXPECT_EQ(ParseConnect(ConnectBody(6, 0x02, "c1"), &c, &code, &reason), ConnectStatus::kRefused);
  EXPECT_EQ(code, kConnackBadLevel);
  // Level 5 (MQTT 5.0) reads properties after the keep-alive: a 3.1.1 body is malformed.
  EXPECT_EQ(ParseConnect(ConnectBody(5, 0x02, "c1"), &c, &code, &reason), ConnectStatus::kClose);
  EXPECT_EQ(ParseConnect(ConnectBody(4, 0x00, ""), &c, &code, &reason), ConnectStatus::kRefused);
  EXPECT_EQ(code, kConnackBadId);
  EXPECT_EQ(ParseConnect(ConnectBody(4, 0x03, "c1"), &c, &code, &reason), ConnectStatus::kClose);
  EXPECT_EQ(
      ParseConnect(ConnectBody(4, 0x42, "c1", std::string("\x00\x01p", 3)), &c, &code, &reason),
      ConnectStatus::kClose);  // a password without a user name
  EXPECT_EQ(ParseConnect(ConnectBody(4, 0x02, std::string("\xc3\x28", 2)), &c, &code, &reason),
            ConnectStatus::kRefused);  // not UTF-8
  EXPECT_EQ(ParseConnect(ConnectBody(4, 0x06, "c1", std::string("\x00\x01w\x00\x02hi", 7)), &c,
                         &code, &reason),
            ConnectStatus::kOk);
  EXPECT_EQ(c.will_topic, "w");
  EXPECT_EQ(c.will_message, "hi");
  EXPECT_EQ(
      ParseConnect(ConnectBody(4, 0x06, "c1", std::string("\x00\x01w", 3)), &c, &code, &reason),
      ConnectStatus::kClose);  // the will message is missing
}

TEST(MqttPacket, WhatTheServerWrites) {
  std::string out;
  AppendConnack(true, kConnackAccepted, &out);
  AppendConnack(true, kConnackNotAuthorized, &out);  // session present only with 0
  AppendSuback(0x0102, {0, 0x80, 1}, &out);
  AppendAck(kUnsuback, 7, &out);
  EXPECT_EQ(out, std::string("\x20\x02\x01\x00\x20\x02\x00\x05\x90\x05\x01\x02\x00\x80\x01"
                             "\xb0\x02\x00\x07",
                             19));
  // The QoS 2 acknowledgements: PUBREL alone has flags 0b0010.
  out.clear();
  AppendAck(kPubrec, 0x0a0b, &out);
  AppendAck(kPubrel, 0x0a0b, &out);
  AppendAck(kPubcomp, 0x0a0b, &out);
  EXPECT_EQ(out, std::string("\x50\x02\x0a\x0b\x62\x02\x0a\x0b\x70\x02\x0a\x0b", 12));
  // QoS 2 publishes are read (with their packet id); QoS 3 is refused.
  Publish publish;
  std::string reason;
  const std::string body = std::string("\x00\x01t\x00\x09", 5) + "data";
  ASSERT_TRUE(ParsePublish(Packet{kPublish, 0x04, body, 0}, &publish, &reason)) << reason;
  EXPECT_EQ(publish.qos, 2);
  EXPECT_EQ(publish.packet_id, 9);
  EXPECT_EQ(publish.payload, "data");
  EXPECT_FALSE(ParsePublish(Packet{kPublish, 0x06, body, 0}, &publish, &reason));
  EXPECT_FALSE(ParsePublish(Packet{kPublish, 0x04, std::string("\x00\x01t\x00\x00", 5), 0},
                            &publish, &reason));  // packet id 0
  EXPECT_TRUE(IsValidMqttString("é/ü"));
  EXPECT_FALSE(IsValidMqttString(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidMqttString("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(IsValidMqttString("\xc0\xaf"));      // overlong
}

TEST(MqttProperties, ReadAndWritten) {
  PropertyWriter writer;
  writer.U32(kSessionExpiry, 3600);
  writer.U16(kReceiveMaximum, 10);
  writer.Pair("site", "berlin");
  writer.Pair("site", "paris");  // user properties may repeat
  std::string encoded;
  writer.Append(&encoded);
  EXPECT_EQ(encoded.size(), writer.EncodedSize());
  std::string_view in = encoded;
  Properties props;
  std::string reason;
  ASSERT_TRUE(ReadProperties(&in, kConnect, &props, &reason)) << reason;
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(props.session_expiry, 3600u);
  EXPECT_EQ(props.receive_maximum, 10);
  ASSERT_EQ(props.user.size(), 2u);
  EXPECT_EQ(props.user[1].second, "paris");
  // Session expiry is not a PUBLISH property; a property twice, a receive maximum of 0,
  // a length past the end and an unknown id are refused.
  in = encoded;
  EXPECT_FALSE(ReadProperties(&in, kPublish, &props, &reason));
  const auto refused = [](const std::string& bytes, uint8_t type) {
    std::string_view view = bytes;
    Properties p;
    std::string why;
    return !ReadProperties(&view, type, &p, &why);
  };
  EXPECT_TRUE(refused(std::string("\x06\x23\x00\x01\x23\x00\x02", 7), kPublish));
  EXPECT_TRUE(refused(std::string("\x03\x21\x00\x00", 4), kConnect));
  EXPECT_TRUE(refused(std::string("\x05\x23\x00", 3), kPublish));
  EXPECT_TRUE(refused(std::string("\x02\x7e\x00", 3), kPublish));
  EXPECT_FALSE(refused(std::string("\x00", 1), kPublish));  // none
}

}  // namespace
}  // namespace tern::core::mqtt
