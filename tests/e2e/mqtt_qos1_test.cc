// MQTT QoS 1 through JetStream, beside nats-server 2.9.10 with the same bytes: a QoS 1
// publish acknowledged once stored, delivered to a QoS 1 subscription as QoS 1 with a packet
// id, sent again with DUP and the same id after ack_wait until the PUBACK, and never after;
// NATS publishes reaching QoS 1 subscriptions as QoS 0; a QoS 0 subscription getting QoS 1
// publishes as QoS 0; UNSUBSCRIBE removing the consumer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;
using namespace mqtt;

Json Qos1Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "", &port, {}, "ack_wait: \"2s\"");
  Json seen;
  auto sub = Login(port, "q1-sub");
  sub->Send(Subscribe(1, {{"t/q1", 1}}));
  seen["suback"] = Hex(sub->ReadUntil(std::string("\x90\x03\x00\x01\x01", 5), 10000));
  auto plain = Login(port, "q0-sub");
  plain->Send(Subscribe(1, {{"t/q1", 0}}));
  plain->ReadUntil(std::string("\x90\x03\x00\x01\x00", 5), 10000);

  auto pub = Login(port, "q1-pub");
  pub->Send(Publish("t/q1", "m1", 1, 5));
  seen["puback"] = Hex(pub->ReadUntil(std::string("\x40\x02\x00\x05", 4), 10000));
  const std::string first = Publish("t/q1", "m1", 1, 1);
  seen["first delivery"] = Hex(sub->ReadUntil(first, 10000));
  seen["qos 0 subscriber"] = Hex(plain->ReadUntil(Publish("t/q1", "m1"), 10000));
  // Not acknowledged: sent again after ack_wait, DUP set, the same packet id.
  std::string again = first;
  again[0] = static_cast<char>(0x3a);
  seen["redelivery"] = Hex(sub->ReadUntil(again, 10000));
  sub->Send(std::string("\x40\x02\x00\x01", 4));
  // Acknowledged: nothing more (longer than ack_wait).
  seen["after puback"] = Hex(sub->ReadFor(3500));

  // A NATS publish reaches the QoS 1 subscription as QoS 0; one that claims to be an MQTT
  // QoS 1 publish (its header) is left to JetStream, which has nothing: not delivered.
  RawConn nats_client(server->port());
  nats_client.Send(
      "CONNECT {\"verbose\":false,\"headers\":true}\r\n"
      "HPUB t.q1 25 27\r\nNATS/1.0\r\nNmqtt-Pub:1\r\n\r\nhh\r\n"
      "PUB t.q1 2\r\nnn\r\nPING\r\n");
  nats_client.ReadUntil("PONG\r\n");
  seen["nats publish"] = Hex(sub->ReadUntil(Publish("t/q1", "nn"), 5000));

  // UNSUBSCRIBE removes the consumer: later QoS 1 publishes are not kept for it.
  sub->Send(Unsubscribe(9, {"t/q1"}));
  seen["unsuback"] = Hex(sub->ReadUntil(std::string("\xb0\x02\x00\x09", 4), 5000));
  pub->Send(Publish("t/q1", "m2", 1, 6));
  seen["puback without subscribers"] =
      Hex(pub->ReadUntil(std::string("\x40\x02\x00\x06", 4), 10000));
  seen["after unsubscribe"] = Hex(sub->ReadFor(1000));

  // A clean session's consumers go when it ends: nothing keeps messages for it.
  auto another = Login(port, "q1-another");
  another->Send(Subscribe(1, {{"t/other", 1}, {"t/more/#", 1}}));
  another->ReadUntil(std::string("\x90\x04\x00\x01\x01\x01", 6), 10000);
  another.reset();
  sub.reset();
  std::string names;
  for (int i = 0; i < 100; ++i) {
    nats_client.Send("SUB names 7\r\nPUB $JS.API.CONSUMER.NAMES.$MQTT_msgs names 0\r\n\r\n");
    names = nats_client.ReadUntil("consumer_names_response", 5000);
    if (names.find("\"total\":0") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  seen["consumers left"] = names.find("\"total\":0") != std::string::npos ? 0 : 1;
  return seen;
}

TEST(MqttQos1, AsNatsServer) {
  const Json tern = Qos1Scenario(false);
  EXPECT_EQ(tern["first delivery"], "32 0a 00 04 74 2f 71 31 00 01 6d 31") << tern.dump(1);
  EXPECT_EQ(tern["redelivery"], "3a 0a 00 04 74 2f 71 31 00 01 6d 31");
  EXPECT_EQ(tern["after puback"], "");
  EXPECT_EQ(tern["nats publish"], "30 08 00 04 74 2f 71 31 6e 6e");
  EXPECT_EQ(tern["consumers left"], 0);
  if (NatsServerPath().empty()) return;
  const Json nats = Qos1Scenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

}  // namespace
}  // namespace tern::e2e
