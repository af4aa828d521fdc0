// MQTT QoS 2, beyond nats-server 2.9 (which grants QoS 2 as 1 and closes a QoS 2 PUBLISH),
// served as nats-server 2.10 serves it: exactly once in (PUBREC once kept, routed only at
// PUBREL, a retransmission or a second PUBREL changes nothing), QoS 2 out to subscriptions
// granted 2 (PUBREC answered with PUBREL, PUBCOMP ends it), both surviving a server restart,
// and mosquitto_pub/mosquitto_sub at -q 2 with a NATS client on the other side.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using namespace mqtt;

std::string Ack(uint8_t first_byte, uint16_t id) {
  return std::string{static_cast<char>(first_byte), '\x02', static_cast<char>(id >> 8),
                     static_cast<char>(id & 0xff)};
}
std::string Pubrec(uint16_t id) { return Ack(0x50, id); }
std::string Pubrel(uint16_t id) { return Ack(0x62, id); }
std::string Pubcomp(uint16_t id) { return Ack(0x70, id); }

// A NATS subscriber of `subject` through a raw connection, ready when returned.
std::unique_ptr<RawConn> NatsWatcher(int port, const std::string& subject) {
  auto nats = std::make_unique<RawConn>(port);
  nats->Send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB " + subject + " 1\r\nPING\r\n");
  nats->ReadUntil("PONG\r\n");
  return nats;
}

// How many times `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::unique_ptr<ServerProcess> Start(const std::string& config, bool monitor = false) {
  std::vector<std::string> args = {"-a", "127.0.0.1", "-c", config};
  if (monitor) args.insert(args.end(), {"-m", "-1"});
  return ServerProcess::Start(args);
}

std::string Config(int port) {
  const std::string store = WriteConfig("");
  return WriteConfig("server_name: qos2_test\njetstream { store_dir: \"" +
                     store.substr(0, store.rfind('/')) +
                     "/js\" }\nmqtt { port: " + std::to_string(port) + " }\n");
}

TEST(MqttQos2, ExactlyOnceIn) {
  const int port = FreePort();
  auto server = Start(Config(port));
  auto nats = NatsWatcher(server->port(), "q2.>");
  auto pub = Login(port, "q2-in");
  const std::string message = Publish("q2/in", "once", 2, 7);
  pub->Send(message);
  EXPECT_EQ(Hex(pub->ReadUntil(Pubrec(7), 10000)), Hex(Pubrec(7)));
  // Kept, not routed before PUBREL; a retransmission (DUP) gets its PUBREC again.
  std::string dup = message;
  dup[0] = static_cast<char>(dup[0] | 0x08);
  pub->Send(dup);
  EXPECT_EQ(Hex(pub->ReadUntil(Pubrec(7), 10000)), Hex(Pubrec(7)));
  nats->Send("PING\r\n");
  EXPECT_EQ(nats->ReadUntil("PONG\r\n", 5000), "PONG\r\n");
  pub->Send(Pubrel(7));
  EXPECT_EQ(Hex(pub->ReadUntil(Pubcomp(7), 10000)), Hex(Pubcomp(7)));
  // A second PUBREL: completed again, delivered no second time.
  pub->Send(Pubrel(7));
  EXPECT_EQ(Hex(pub->ReadUntil(Pubcomp(7), 10000)), Hex(Pubcomp(7)));
  // A PUBREL for an id never used: completed. One with the wrong flags closes.
  pub->Send(Pubrel(99));
  EXPECT_EQ(Hex(pub->ReadUntil(Pubcomp(99), 10000)), Hex(Pubcomp(99)));
  const std::string seen = nats->ReadFor(1500);
  EXPECT_EQ(Count(seen, "once"), 1) << seen;
  EXPECT_NE(seen.find("HMSG q2.in 1 25 29\r\nNATS/1.0\r\nNmqtt-Pub:2\r\n\r\nonce\r\n"),
            std::string::npos)
      << seen;
  pub->Send(Ack(0x60, 8));
  pub->ReadFor(2000);
  EXPECT_TRUE(pub->closed());
}

TEST(MqttQos2, GrantedAndDeliveredAtQos2) {
  const int port = FreePort();
  auto server = Start(Config(port));
  auto sub = Login(port, "q2-sub");
  sub->Send(Subscribe(3, {{"out/#", 2}, {"low/#", 1}}));
  EXPECT_EQ(Hex(sub->ReadUntil(std::string("\x90\x04\x00\x03\x02\x01", 6), 10000)),
            "90 04 00 03 02 01");
  auto pub = Login(port, "q2-pub");
  pub->Send(Publish("out/a", "two", 2, 1) + Pubrel(1));
  pub->ReadUntil(Pubcomp(1), 10000);
  // QoS 2 as QoS 2, with a packet id; PUBREC gets PUBREL, PUBCOMP ends it.
  const std::string delivered = Publish("out/a", "two", 2, 1);
  EXPECT_EQ(Hex(sub->ReadUntil(delivered, 10000)), Hex(delivered));
  sub->Send(Pubrec(1));
  EXPECT_EQ(Hex(sub->ReadUntil(Pubrel(1), 10000)), Hex(Pubrel(1)));
  sub->Send(Pubcomp(1));
  // A QoS 1 publish comes at QoS 1; to the QoS 1 subscription a QoS 2 publish comes at 1
  // (each from its own consumer, so in either order, with ids the server picks).
  pub->Send(Publish("out/b", "one", 1, 2) + Publish("low/c", "down", 2, 3) + Pubrel(3));
  pub->ReadUntil(Pubcomp(3), 10000);
  std::string got;
  for (int i = 0;
       i < 50 && (got.find("one") == std::string::npos || got.find("down") == std::string::npos);
       ++i) {
    got += sub->ReadFor(200);
  }
  const auto head = [](const std::string& topic, const std::string& payload) {
    const std::string packet = Publish(topic, payload, 1, 1);
    return packet.substr(0, 4 + topic.size());  // first byte, length, topic: QoS 1
  };
  EXPECT_NE(got.find(head("out/b", "one")), std::string::npos) << Hex(got);
  EXPECT_NE(got.find(head("low/c", "down")), std::string::npos) << Hex(got);
  // A NATS publish comes at QoS 0.
  RawConn nats(server->port());
  nats.Send("CONNECT {\"verbose\":false}\r\nPUB out.n 1\r\nn\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  EXPECT_EQ(Hex(sub->ReadUntil(Publish("out/n", "n"), 10000)), Hex(Publish("out/n", "n")));
}

// A QoS 2 message kept (PUBREC) before a restart is released after it, once; a delivery
// whose PUBREC came before the restart gets its PUBREL again after the CONNACK.
TEST(MqttQos2, SurvivesARestart) {
  const int port = FreePort();
  const std::string config = Config(port);
  auto server = Start(config);
  {
    RawConn sub(port, false);
    ConnectSpec spec;
    spec.client_id = "q2-keeper";
    spec.flags = 0x00;  // persistent session
    sub.Send(Connect(spec) + Subscribe(1, {{"kept/#", 2}}));
    sub.ReadUntil(std::string("\x90\x03\x00\x01\x02", 5), 10000);
    auto pub = Login(port, "q2-first");
    pub->Send(Publish("kept/a", "before", 2, 5) + Pubrel(5));
    pub->ReadUntil(Pubcomp(5), 10000);
    sub.ReadUntil(Publish("kept/a", "before", 2, 1), 10000);
    sub.Send(Pubrec(1));
    EXPECT_EQ(Hex(sub.ReadUntil(Pubrel(1), 10000)), Hex(Pubrel(1)));
  }
  {
    RawConn pub(port, false);
    ConnectSpec spec;
    spec.client_id = "q2-sender";
    spec.flags = 0x00;
    pub.Send(Connect(spec) + Publish("kept/b", "across", 2, 9));
    EXPECT_EQ(Hex(pub.ReadUntil(Pubrec(9), 10000).substr(4)), Hex(Pubrec(9)));
  }
  server.reset();
  server = Start(config);
  {
    RawConn sub(port, false);
    ConnectSpec spec;
    spec.client_id = "q2-keeper";
    spec.flags = 0x00;
    sub.Send(Connect(spec));
    // Session present, then the PUBREL still owed.
    const std::string got = sub.ReadUntil(Pubrel(1), 10000);
    EXPECT_EQ(Hex(got), Hex(std::string("\x20\x02\x01\x00", 4) + Pubrel(1)));
    sub.Send(Pubcomp(1));
    RawConn pub(port, false);
    ConnectSpec sender;
    sender.client_id = "q2-sender";
    sender.flags = 0x00;
    pub.Send(Connect(sender) + Pubrel(9));
    EXPECT_EQ(Hex(pub.ReadUntil(Pubcomp(9), 10000).substr(4)), Hex(Pubcomp(9)));
    const std::string delivered = sub.ReadUntil(Publish("kept/b", "across", 2, 1), 10000);
    EXPECT_EQ(Count(delivered, "across"), 1) << Hex(delivered);
    // Released once: a repeated PUBREL does not deliver it again.
    pub.Send(Pubrel(9));
    pub.ReadUntil(Pubcomp(9), 10000);
    EXPECT_EQ(Count(sub.ReadFor(1500), "across"), 0);
  }
}

TEST(MqttQos2, MosquittoClientsAtQos2) {
  ASSERT_EQ(RunCommand("command -v mosquitto_pub").first, 0)
      << "mosquitto-clients is installed by scripts/test.sh";
  const int port = FreePort();
  auto server = Start(Config(port), /*monitor=*/true);
  const std::string p = " -h 127.0.0.1 -p " + std::to_string(port);
  std::pair<int, std::string> sub_result;
  std::thread subscriber([&] {
    sub_result = RunCommand("timeout 20 mosquitto_sub" + p + " -i q2watch -q 2 -t 'm2/#' -v -C 3");
  });
  for (int i = 0; i < 200; ++i) {  // until its subscription is in place (/connz shows it)
    if (HttpGet(server->monitor_port(), "/connz?subs=1").body.find("m2.>") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto nats = NatsWatcher(server->port(), "m2.>");
  EXPECT_EQ(RunCommand("mosquitto_pub" + p + " -q 2 -t m2/a -m exactly").first, 0);
  nats->Send("PUB m2.b 4\r\nnats\r\nPING\r\n");
  std::string seen = nats->ReadUntil("PONG\r\n");
  EXPECT_EQ(RunCommand("mosquitto_pub" + p + " -q 2 -t m2/c -m again").first, 0);
  subscriber.join();
  EXPECT_EQ(sub_result.first, 0);
  EXPECT_NE(sub_result.second.find("m2/a exactly\nm2/b nats\nm2/c again\n"), std::string::npos)
      << sub_result.second;
  seen += nats->ReadUntil("again\r\n", 5000);
  EXPECT_EQ(Count(seen, "exactly"), 1) << seen;
  EXPECT_EQ(Count(seen, "again"), 1) << seen;
}

// A PUBREL whose connection drops before its PUBCOMP, repeated after a reconnect: the
// message reaches a QoS 2 subscription exactly once, whenever the first release was cut
// short (before it began, after the message was routed, before the record went), and NATS
// subscribers exactly once too.
TEST(MqttQos2, ReleaseCutShortThenRepeated) {
  const int port = FreePort();
  auto server = Start(Config(port), /*monitor=*/true);
  auto nats = NatsWatcher(server->port(), "cut.>");
  auto sub = Login(port, "cut-sub");
  sub->Send(Subscribe(1, {{"cut/#", 2}}));
  sub->ReadUntil(std::string("\x90\x03\x00\x01\x02", 5), 10000);
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    const auto id = static_cast<uint16_t>(10 + round);
    ConnectSpec spec;  // a client id per round: each connects twice, never held off
    spec.client_id = "cut-pub-" + std::to_string(round);
    spec.flags = 0x00;  // its session (and QoS 2 records) outlive the connection
    const std::string payload = "cut-" + std::to_string(round);
    {
      RawConn pub(port, false);
      pub.Send(Connect(spec));
      pub.ReadUntil(std::string("\x20\x02", 2), 10000);
      pub.Send(Publish("cut/x", payload, 2, id));
      pub.ReadUntil(Pubrec(id), 10000);
      // Gone a little later each round, without waiting for the PUBCOMP.
      pub.Send(Pubrel(id));
      std::this_thread::sleep_for(std::chrono::milliseconds(round * 2));
    }
    WaitUntilGone(*server, spec.client_id);
    RawConn again(port, false);
    again.Send(Connect(spec));
    again.ReadUntil(std::string("\x20\x02", 2), 10000);
    again.Send(Pubrel(id));
    EXPECT_NE(again.ReadUntil(Pubcomp(id), 10000).find(Pubcomp(id)), std::string::npos) << round;
  }
  // Every delivery to the QoS 2 subscription (not acknowledged: none is sent again meanwhile).
  std::string got;
  for (int i = 0; i < 30; ++i) {
    const std::string chunk = sub->ReadFor(200);
    got += chunk;
    if (chunk.empty() && Count(got, "cut-") >= kRounds) break;
  }
  const std::string seen_nats = nats->ReadFor(500);
  for (int round = 0; round < kRounds; ++round) {
    const std::string payload = "cut-" + std::to_string(round);
    EXPECT_EQ(Count(got, payload), 1) << payload << " to the QoS 2 subscription: " << Hex(got);
    EXPECT_EQ(Count(seen_nats, payload + "\r\n"), 1) << payload << " to NATS";
  }
}

}  // namespace
}  // namespace tern::e2e
