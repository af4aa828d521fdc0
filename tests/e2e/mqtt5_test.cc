// MQTT 5.0, beyond nats-server 2.9 (which refuses level 5): CONNACK with its properties (an
// assigned client id), user properties and the response topic as NATS headers and reply
// subject both ways, topic aliases, shared subscriptions as queue groups, No Local, Retain
// Handling, subscription identifiers, UNSUBACK reason codes, the server's DISCONNECT with a
// reason (session taken over, a bad alias), DISCONNECT with the will (0x04), session expiry,
// and mosquitto_pub/mosquitto_sub at -V mqttv5 with user properties.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "mqtt5_util.h"

namespace tern::e2e {
namespace {

using namespace mqtt;
namespace wire = tern::core::mqtt;

std::unique_ptr<ServerProcess> StartServer(int* port) { return StartMqttServer(false, "", port); }

TEST(Mqtt5, ConnackAssignsAnIdAndNamesWhatIsServed) {
  int port = 0;
  auto server = StartServer(&port);
  Connect5Spec spec;
  spec.client_id.clear();
  std::string connack;
  auto conn = Login5(port, spec, &connack);
  ASSERT_GE(connack.size(), 4u) << Hex(connack);
  EXPECT_EQ(Hex(connack.substr(2, 2)), "00 00");  // no session, success
  // Assigned Client Identifier (0x12) with 22 characters, Topic Alias Maximum 1024.
  EXPECT_NE(connack.find(std::string("\x12\x00\x16", 3)), std::string::npos) << Hex(connack);
  EXPECT_NE(connack.find(std::string("\x22\x04\x00", 3)), std::string::npos) << Hex(connack);
  // Enhanced authentication is not served: CONNACK 0x8C.
  Connect5Spec auth;
  auth.props = Prop(0x15, Str("SCRAM-SHA-1"));
  std::string refused;
  auto other = Login5(port, auth, &refused);
  EXPECT_EQ(Hex(refused.substr(0, 4)), "20 03 00 8c");
}

TEST(Mqtt5, PropertiesAreNatsHeadersBothWays) {
  int port = 0;
  auto server = StartServer(&port);
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB p5.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  Connect5Spec spec;
  spec.client_id = "props";
  auto conn = Login5(port, spec);
  conn->Send(Publish5("p5/in", "hi", 0, 0,
                      Pair("site", "berlin") + Prop(0x03, Str("text/plain")) +
                          Prop(0x08, Str("p5/answers")) + Prop(0x09, Str("c1"))));
  const std::string got = nats.ReadUntil("hi\r\n", 5000);
  EXPECT_NE(got.find("HMSG p5.in 1 p5.answers "), std::string::npos) << got;
  EXPECT_NE(got.find("site:berlin\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Nmqtt-Content-Type:text/plain\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Nmqtt-Corr:YzE\r\n"), std::string::npos) << got;
  // NATS to a 5.0 subscriber: headers as user properties, the reply as response topic.
  conn->Send(Subscribe5(1, {{"n5/#", 0}}));
  conn->ReadUntil(std::string("\x90\x04\x00\x01\x00\x00", 6), 5000);
  nats.Send("HPUB n5.out reply.to 22 26\r\nNATS/1.0\r\nX-Id: 42\r\n\r\nnats\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  std::vector<std::string> topics;
  const std::string bytes = conn->ReadUntil("nats", 5000);  // the views below point into it
  const auto publishes = Publishes(bytes, &topics);
  ASSERT_EQ(publishes.size(), 1u);
  EXPECT_EQ(topics[0], "n5/out");
  EXPECT_EQ(publishes[0].payload, "nats");
  ASSERT_EQ(publishes[0].props.user.size(), 1u);
  EXPECT_EQ(publishes[0].props.user[0].first, "X-Id");
  EXPECT_EQ(publishes[0].props.user[0].second, "42");
  EXPECT_EQ(publishes[0].props.response_topic, "reply/to");
}

TEST(Mqtt5, TopicAliasesAndBadOnes) {
  int port = 0;
  auto server = StartServer(&port);
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false}\r\nSUB alias.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  auto conn = Login5(port, Connect5Spec{});
  const std::string alias3 = Prop(0x23, U16(3));
  conn->Send(Publish5("alias/t", "first", 0, 0, alias3) + Publish5("", "second", 0, 0, alias3));
  const std::string got = nats.ReadUntil("second\r\n", 5000);
  EXPECT_NE(got.find("MSG alias.t 1 5\r\nfirst\r\nMSG alias.t 1 6\r\nsecond\r\n"),
            std::string::npos)
      << got;
  // An alias never set: DISCONNECT with 0x82 (protocol error), then closed.
  conn->Send(Publish5("", "lost", 0, 0, Prop(0x23, U16(9))));
  EXPECT_EQ(Hex(conn->ReadUntil(std::string("\xe0\x02\x82\x00", 4), 5000)), "e0 02 82 00");
  conn->ReadFor(1000);
  EXPECT_TRUE(conn->closed());
}

TEST(Mqtt5, SharedSubscriptionsNoLocalRetainHandlingUnsuback) {
  int port = 0;
  auto server = StartServer(&port);
  Connect5Spec a_spec, b_spec;
  a_spec.client_id = "worker-a";
  b_spec.client_id = "worker-b";
  auto a = Login5(port, a_spec);
  auto b = Login5(port, b_spec);
  a->Send(Subscribe5(1, {{"$share/g/work/#", 1}}));
  b->Send(Subscribe5(1, {{"$share/g/work/#", 1}}));
  // Granted at QoS 0 (shared subscriptions are served at QoS 0).
  EXPECT_EQ(Hex(a->ReadUntil(std::string("\x90\x04\x00\x01\x00\x00", 6), 5000)),
            "90 04 00 01 00 00");
  b->ReadUntil(std::string("\x90\x04\x00\x01\x00\x00", 6), 5000);
  RawConn nats(server->port());
  std::string burst = "CONNECT {\"verbose\":false}\r\n";
  for (int i = 0; i < 20; ++i) burst += "PUB work.item 4\r\njob" + std::to_string(i % 10) + "\r\n";
  nats.Send(burst + "PING\r\n");
  nats.ReadUntil("PONG\r\n");
  std::string got_a, got_b;
  for (int i = 0; i < 30; ++i) {
    got_a += a->ReadFor(100);
    got_b += b->ReadFor(100);
    std::vector<std::string> ta, tb;
    if (Publishes(got_a, &ta).size() + Publishes(got_b, &tb).size() >= 20) break;
  }
  std::vector<std::string> ta, tb;
  EXPECT_EQ(Publishes(got_a, &ta).size() + Publishes(got_b, &tb).size(), 20u)
      << "each message to one member of the group";

  // No Local (option bit 2): its own publish does not come back; another client's does.
  auto self = Login5(port, Connect5Spec{});
  self->Send(Subscribe5(2, {{"nl/#", 0x04}}));
  self->ReadUntil(std::string("\x90\x04\x00\x02\x00\x00", 6), 5000);
  self->Send(Publish5("nl/own", "mine"));
  a->Send(Publish5("nl/other", "theirs"));
  const std::string seen = self->ReadUntil("theirs", 5000);
  EXPECT_EQ(seen.find("mine"), std::string::npos) << Hex(seen);
  EXPECT_NE(seen.find("theirs"), std::string::npos) << Hex(seen);

  // Retain Handling 2: no retained messages at SUBSCRIBE; 0: they come.
  a->Send(Publish5("kept/x", "retained", 1, 4, "", true));
  a->ReadUntil(std::string("\x40\x02\x00\x04", 4), 5000);
  auto late = Login5(port, Connect5Spec{.client_id = "late"});
  late->Send(Subscribe5(5, {{"kept/#", 0x20}}));
  late->ReadUntil(std::string("\x90\x04\x00\x05\x00\x00", 6), 5000);
  EXPECT_EQ(late->ReadFor(800).find("retained"), std::string::npos);
  late->Send(Subscribe5(6, {{"kept/+", 0x00}}));
  EXPECT_NE(late->ReadUntil("retained", 5000).find("retained"), std::string::npos);

  // UNSUBACK: a reason code per filter (0x11: there was none).
  late->Send(Packet5(0xa2, U16(7) + Props("") + Str("kept/#") + Str("never/there")));
  EXPECT_EQ(Hex(late->ReadUntil(std::string("\xb0\x05\x00\x07\x00\x00\x11", 7), 5000)),
            "b0 05 00 07 00 00 11");
  // A Subscription Identifier comes back in the deliveries of its subscription.
  late->Send(Subscribe5(8, {{"ids/#", 0}}, Prop(0x0b, VarInt(300))));
  late->ReadUntil(std::string("\x90\x04\x00\x08\x00\x00", 6), 5000);
  a->Send(Publish5("ids/x", "named"));
  const std::string named = late->ReadUntil("named", 5000);
  EXPECT_NE(named.find(std::string("\x0b\xac\x02", 3)), std::string::npos) << Hex(named);
}

TEST(Mqtt5, TakeoverWillAndSessionExpiry) {
  int port = 0;
  auto server = StartServer(&port);
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB wills.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  // A second connection with the id: the first gets DISCONNECT 0x8E.
  Connect5Spec spec;
  spec.client_id = "twice";
  auto first = Login5(port, spec);
  auto second = Login5(port, spec);
  EXPECT_EQ(Hex(first->ReadUntil(std::string("\xe0\x02\x8e\x00", 4), 5000)), "e0 02 8e 00");
  // DISCONNECT 0x04: the will goes out, with its user property as a header.
  Connect5Spec willing;
  willing.client_id = "willing";
  willing.flags = 0x02 | 0x04;
  willing.will_props = Pair("why", "asked");
  willing.will_topic = "wills/w1";
  willing.will_message = "gone";
  auto w = Login5(port, willing);
  w->Send(Packet5(0xe0, std::string("\x04\x00", 2)));
  const std::string will = nats.ReadUntil("gone\r\n", 5000);
  EXPECT_NE(will.find("why:asked\r\n"), std::string::npos) << will;
  // A plain DISCONNECT drops it.
  willing.client_id = "polite";
  willing.will_message = "unexpected";
  auto p = Login5(port, willing);
  p->Send(Packet5(0xe0, std::string("\x00\x00", 2)));
  EXPECT_EQ(nats.ReadFor(1000).find("unexpected"), std::string::npos);

  // Session Expiry Interval 2 s: present when back within it, gone after it.
  Connect5Spec keep;
  keep.client_id = "expiring";
  keep.flags = 0x00;  // no clean start
  keep.props = Prop(0x11, U32(2));
  {
    auto s = Login5(port, keep);
    s->Send(Subscribe5(1, {{"exp/#", 1}}));
    s->ReadUntil(std::string("\x90\x04\x00\x01\x00\x01", 6), 5000);
  }
  std::string connack;
  { auto again = Login5(port, keep, &connack); }
  EXPECT_EQ(Hex(connack.substr(2, 2)), "01 00") << "back within the interval";
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  { auto late = Login5(port, keep, &connack); }
  EXPECT_EQ(Hex(connack.substr(2, 2)), "00 00") << "expired";
}

// Message Expiry: a stored message (QoS 1 for an absent session, a retained one) is not sent
// once its interval ran out; one still alive is sent with what is left of it.
TEST(Mqtt5, MessageExpiryOfStoredMessages) {
  int port = 0;
  auto server = StartServer(&port);
  Connect5Spec away;
  away.client_id = "away";
  away.flags = 0x00;
  away.props = Prop(0x11, U32(600));
  {
    auto s = Login5(port, away);
    s->Send(Subscribe5(1, {{"ttl/#", 1}}));
    s->ReadUntil(std::string("\x90\x04\x00\x01\x00\x01", 6), 5000);
    // Gone (DISCONNECT, and the server closed it) before anything is published.
    s->Send(Packet5(0xe0, std::string("\x00\x00", 2)));
    s->ReadFor(2000);
  }
  auto pub = Login5(port, Connect5Spec{.client_id = "ttl-pub"});
  pub->Send(Publish5("ttl/short", "stale", 1, 1, Prop(0x02, U32(1))) +
            Publish5("ttl/long", "fresh", 1, 2, Prop(0x02, U32(100))) +
            Publish5("ttl/kept", "old-retained", 1, 3, Prop(0x02, U32(1)), true));
  const std::string acks = pub->ReadUntil(std::string("\x40\x02\x00\x03", 4), 5000);
  EXPECT_NE(acks.find(std::string("\x40\x02\x00\x03", 4)), std::string::npos) << Hex(acks);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  std::string connack;
  auto back = Login5(port, away, &connack);
  EXPECT_EQ(Hex(connack.substr(0, 4)).substr(6), "01 00") << Hex(connack);
  // What followed the CONNACK may have come with it.
  std::string got = connack;
  if (got.find("fresh") == std::string::npos) got += back->ReadUntil("fresh", 5000);
  got += back->ReadFor(500);
  EXPECT_EQ(got.find("stale"), std::string::npos) << Hex(got);
  ASSERT_NE(got.find("fresh"), std::string::npos) << Hex(got);
  // Message Expiry Interval (0x02): what is left of 100 s (2.5 s and more went by; a slow
  // machine may take longer).
  const std::size_t expiry = got.find(std::string("\x02\x00\x00\x00", 4));
  ASSERT_NE(expiry, std::string::npos) << Hex(got);
  EXPECT_GE(static_cast<uint8_t>(got[expiry + 4]), 80);
  EXPECT_LT(static_cast<uint8_t>(got[expiry + 4]), 100);
  auto late = Login5(port, Connect5Spec{.client_id = "ttl-late"});
  late->Send(Subscribe5(2, {{"ttl/kept", 0}}));
  EXPECT_EQ(late->ReadFor(1000).find("old-retained"), std::string::npos);
}

// A user property that looks like the server's own header does not change how a message is
// routed; a PUBREC with a failure reason ends a QoS 2 delivery without PUBREL.
TEST(Mqtt5, LookalikeHeadersAndRefusedPubrec) {
  int port = 0;
  auto server = StartServer(&port);
  auto sub = Login5(port, Connect5Spec{.client_id = "look-sub"});
  sub->Send(Subscribe5(1, {{"look/#", 2}}));
  sub->ReadUntil(std::string("\x90\x04\x00\x01\x00\x02", 6), 5000);
  auto pub = Login5(port, Connect5Spec{.client_id = "look-pub"});
  pub->Send(Publish5("look/a", "once", 1, 1, Pair("k", "Nmqtt-Pub:0") + Pair("j", "Nmqtt-Pub:2")));
  pub->ReadUntil(std::string("\x40\x02\x00\x01", 4), 5000);
  std::string got = sub->ReadUntil("once", 5000);
  got += sub->ReadFor(800);
  std::vector<std::string> topics;
  const auto publishes = Publishes(got, &topics);
  ASSERT_EQ(publishes.size(), 1u) << Hex(got);
  EXPECT_EQ(publishes[0].qos, 1);  // published at QoS 1: delivered at 1, once
  // QoS 2 delivery refused by the client (PUBREC 0x80): no PUBREL comes.
  pub->Send(Publish5("look/b", "refused", 2, 2, "") + std::string("\x62\x02\x00\x02", 4));
  pub->ReadUntil(std::string("\x70\x02\x00\x02", 4), 5000);
  std::string delivery = sub->ReadUntil("refused", 5000);
  std::vector<std::string> t2;
  const auto second = Publishes(delivery, &t2);
  ASSERT_EQ(second.size(), 1u) << Hex(delivery);
  EXPECT_EQ(second[0].qos, 2);
  const uint16_t id = second[0].packet_id;
  sub->Send(std::string{'\x50', '\x03', static_cast<char>(id >> 8), static_cast<char>(id & 0xff),
                        '\x80'});
  EXPECT_EQ(sub->ReadFor(1000).find(std::string{'\x62', '\x02'}), std::string::npos);
}

TEST(Mqtt5, MosquittoClientsAtV5) {
  ASSERT_EQ(RunCommand("command -v mosquitto_pub").first, 0)
      << "mosquitto-clients is installed by scripts/test.sh";
  int port = 0;
  auto server = StartMqttServer(false, "", &port, {"-m", "-1"});
  const std::string p = " -h 127.0.0.1 -p " + std::to_string(port);
  std::pair<int, std::string> sub_result;
  std::thread subscriber([&] {
    sub_result = RunCommand("timeout 20 mosquitto_sub -V mqttv5" + p +
                            " -q 2 -t 'v5m/#' -F '%t %p %q %P' -C 2");
  });
  for (int i = 0; i < 200; ++i) {
    if (HttpGet(server->monitor_port(), "/connz?subs=1").body.find("v5m.>") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB v5m.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  EXPECT_EQ(RunCommand("mosquitto_pub -V mqttv5" + p +
                       " -q 1 -t v5m/a -m one -D publish user-property site berlin")
                .first,
            0);
  EXPECT_EQ(RunCommand("mosquitto_pub -V mqttv5" + p + " -q 2 -t v5m/b -m two").first, 0);
  subscriber.join();
  EXPECT_EQ(sub_result.first, 0);
  EXPECT_EQ(sub_result.second, "v5m/a one 1 site:berlin\nv5m/b two 2 \n");
  const std::string seen = nats.ReadUntil("two\r\n", 5000);
  EXPECT_NE(seen.find("site:berlin\r\n"), std::string::npos) << seen;
}

}  // namespace
}  // namespace tern::e2e
