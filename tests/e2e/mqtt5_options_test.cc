// MQTT 5.0 subscription options and will settings beyond what mqtt5_test.cc covers: Retain As
// Published (live and stored copies of a retained publish keep RETAIN), Subscription
// Identifiers on retained copies, No Local on QoS 1 (stored) deliveries, and the Will Delay
// Interval (a will held after the connection ends, dropped when the session is resumed in
// time, sent at once when a clean start ends the session).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "mqtt5_util.h"

namespace tern::e2e {
namespace {

using namespace mqtt;

std::string Suback(uint16_t id, const std::string& codes) {
  return Packet5(0x90, U16(id) + Props("") + codes);
}

// The retain flag of each PUBLISH read, by topic.
std::map<std::string, bool> RetainByTopic(const std::string& bytes) {
  std::vector<std::string> topics;
  const auto publishes = Publishes(bytes, &topics);
  std::map<std::string, bool> out;
  for (std::size_t i = 0; i < publishes.size(); ++i) out[topics[i]] = publishes[i].retain;
  return out;
}

TEST(Mqtt5Options, RetainAsPublished) {
  int port = 0;
  auto server = StartMqttServer(false, "", &port);
  auto rap = Login5(port, Connect5Spec{.client_id = "rap"});
  rap->Send(Subscribe5(1, {{"rap/#", 0x08}, {"rapq/#", 0x09}}));  // QoS 0 and 1, both with RAP
  rap->ReadUntil(Suback(1, std::string("\x00\x01", 2)), 5000);
  auto plain = Login5(port, Connect5Spec{.client_id = "plain"});
  plain->Send(Subscribe5(1, {{"rap/#", 0x00}}));
  plain->ReadUntil(Suback(1, std::string(1, '\0')), 5000);
  auto pub = Login5(port, Connect5Spec{.client_id = "rap-pub"});
  pub->Send(Publish5("rap/kept", "kept", 0, 0, "", true) + Publish5("rap/live", "live") +
            Publish5("rapq/kept", "stored", 1, 1, "", true));
  pub->ReadUntil(std::string("\x40\x02\x00\x01", 4), 5000);
  const auto with_rap = RetainByTopic(ReadPublishes(*rap, 3, 5000));
  ASSERT_EQ(with_rap.size(), 3u);
  EXPECT_TRUE(with_rap.at("rap/kept")) << "a retained publish keeps RETAIN";
  EXPECT_FALSE(with_rap.at("rap/live"));
  EXPECT_TRUE(with_rap.at("rapq/kept")) << "... also through the QoS 1 store";
  const auto without = RetainByTopic(ReadPublishes(*plain, 2, 5000));
  ASSERT_EQ(without.size(), 2u);
  EXPECT_FALSE(without.at("rap/kept")) << "without the option, live copies have RETAIN clear";
}

TEST(Mqtt5Options, SubscriptionIdsOnRetainedCopies) {
  int port = 0;
  auto server = StartMqttServer(false, "", &port);
  auto pub = Login5(port, Connect5Spec{.client_id = "sid-pub"});
  pub->Send(Publish5("sid/a", "ret", 1, 1, "", true));
  pub->ReadUntil(std::string("\x40\x02\x00\x01", 4), 5000);
  auto sub = Login5(port, Connect5Spec{.client_id = "sid-sub"});
  sub->Send(Subscribe5(2, {{"sid/+", 0}}, Prop(0x0b, VarInt(77))));
  // (Read as bytes: a server's PUBLISH may carry an identifier, a client's may not.)
  const std::string got = sub->ReadUntil("ret", 5000);
  const std::size_t publish = got.find(std::string("\x31\x0d") + Str("sid/a"));
  ASSERT_NE(publish, std::string::npos) << "QoS 0 with RETAIN: " << Hex(got);
  EXPECT_EQ(Hex(got.substr(publish + 9)), "02 0b 4d 72 65 74") << "identifier 77, then \"ret\"";
}

TEST(Mqtt5Options, NoLocalOnStoredDeliveries) {
  int port = 0;
  auto server = StartMqttServer(false, "", &port, {}, "ack_wait: \"1s\"");
  auto self = Login5(port, Connect5Spec{.client_id = "nl-self"});
  self->Send(Subscribe5(1, {{"nls/#", 0x05}}));  // QoS 1, No Local
  self->ReadUntil(Suback(1, std::string(1, '\1')), 5000);
  auto other = Login5(port, Connect5Spec{.client_id = "nl-other"});
  self->Send(Publish5("nls/own", "mine", 1, 1));
  other->Send(Publish5("nls/theirs", "theirs", 1, 1));
  std::string got = self->ReadUntil("theirs", 5000);
  std::vector<std::string> topics;
  const auto publishes = Publishes(got, &topics);
  ASSERT_EQ(publishes.size(), 1u) << Hex(got);
  EXPECT_EQ(topics[0], "nls/theirs");
  self->Send(std::string("\x40\x02", 2) + U16(publishes[0].packet_id));
  // Past ack_wait: its own message is not sent late either (it was acknowledged for it).
  got += self->ReadFor(2000);
  EXPECT_EQ(got.find("mine"), std::string::npos) << Hex(got);
  EXPECT_NE(got.find(std::string("\x40\x02\x00\x01", 4)), std::string::npos) << "its PUBACK";
  // Every copy acknowledged: the interest stream holds nothing.
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false}\r\nSUB info 1\r\n");
  std::string info;
  const std::regex kEmpty("\"messages\":0[,}]");
  for (int i = 0; i < 30; ++i) {
    nats.Send("PUB $JS.API.STREAM.INFO.$MQTT_msgs info 0\r\n\r\n");
    info = nats.ReadFor(300);
    if (std::regex_search(info, kEmpty)) break;
  }
  EXPECT_TRUE(std::regex_search(info, kEmpty)) << info;
}

TEST(Mqtt5Options, WillDelayInterval) {
  int port = 0;
  auto server = StartMqttServer(false, "", &port, {"-m", "-1"});
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false}\r\nSUB wd.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  Connect5Spec spec{.client_id = "delayed",
                    .flags = 0x04,  // a will; the session is resumed, kept 60 s
                    .props = Prop(0x11, U32(60)),
                    .will_props = Prop(0x18, U32(1)),
                    .will_topic = "wd/gone",
                    .will_message = "bye"};
  { auto conn = Login5(port, spec); }  // gone without DISCONNECT
  WaitUntilGone(*server, "delayed", 1);
  EXPECT_EQ(nats.ReadFor(300).find("bye"), std::string::npos) << "not before its delay";
  EXPECT_NE(nats.ReadUntil("bye", 5000).find("MSG wd.gone 1 3\r\nbye"), std::string::npos);

  // Back within the delay, resuming the session: the will is not sent.
  spec.will_props = Prop(0x18, U32(2));
  spec.will_message = "never";
  { auto conn = Login5(port, spec); }
  WaitUntilGone(*server, "delayed", 2);
  Connect5Spec resume = spec;
  resume.flags = 0x00;
  auto back = Login5(port, resume);
  EXPECT_EQ(nats.ReadFor(3000).find("never"), std::string::npos);
  back.reset();
  WaitUntilGone(*server, "delayed", 3);

  // A clean start ends the waiting session: its will goes at once.
  spec.will_props = Prop(0x18, U32(30));
  spec.will_message = "ended";
  { auto conn = Login5(port, spec); }
  WaitUntilGone(*server, "delayed", 4);
  Connect5Spec fresh = spec;
  fresh.flags = 0x02;
  auto again = Login5(port, fresh);
  EXPECT_NE(nats.ReadUntil("ended", 3000).find("ended"), std::string::npos);
}

}  // namespace
}  // namespace tern::e2e
