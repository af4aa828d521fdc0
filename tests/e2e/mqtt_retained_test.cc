// MQTT retained messages beside nats-server 2.9.10 with the same bytes: the last retained
// message of a topic sent after the SUBACK with RETAIN set (at the lower of its QoS and the
// granted one), again on a re-SUBSCRIBE; live deliveries with RETAIN cleared; an empty
// retained publish removing it (and still delivered live); wildcard filters; a will with RETAIN.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "core/mqtt_packet.h"
#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;
using namespace mqtt;

Json RetainedScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "", &port);
  Json seen;
  auto pub = Login(port, "retainer");
  pub->Send(Publish("r12/a", "v1", 0, 1, true));
  pub->Send(Publish("r12/a", "v2", 1, 3, true));
  seen["puback"] = Hex(pub->ReadUntil(std::string("\x40\x02\x00\x03", 4), 10000));

  auto q0 = Login(port, "r-q0");
  q0->Send(Subscribe(1, {{"r12/a", 0}}));
  seen["qos 0 subscriber"] = Hex(q0->ReadUntil(Publish("r12/a", "v2", 0, 1, true), 10000));
  auto q1 = Login(port, "r-q1");
  q1->Send(Subscribe(1, {{"r12/+", 1}}));
  seen["qos 1 wildcard subscriber"] = Hex(q1->ReadUntil(std::string("v2", 2), 10000));
  q0->Send(Subscribe(2, {{"r12/a", 0}}));
  seen["re-subscribe"] = Hex(q0->ReadUntil(Publish("r12/a", "v2", 0, 1, true), 10000));

  // Live: RETAIN cleared.
  pub->Send(Publish("r12/a", "v3", 0, 1, true));
  seen["live"] = Hex(q0->ReadUntil(Publish("r12/a", "v3"), 10000));
  // An empty retained publish removes it, and is delivered live as an empty message.
  pub->Send(Publish("r12/a", "", 1, 4, true));
  pub->ReadUntil(std::string("\x40\x02\x00\x04", 4), 10000);
  seen["live delete"] = Hex(q0->ReadUntil(Publish("r12/a", ""), 10000));
  auto late = Login(port, "r-late");
  late->Send(Subscribe(1, {{"r12/a", 0}}));
  seen["late suback"] = Hex(late->ReadUntil(std::string("\x90\x03\x00\x01\x00", 5), 10000));
  seen["late gets nothing"] = Hex(late->ReadFor(1500));
  return seen;
}

TEST(MqttRetained, AsNatsServer) {
  const Json tern = RetainedScenario(false);
  EXPECT_EQ(tern["qos 0 subscriber"], "90 03 00 01 00 31 09 00 05 72 31 32 2f 61 76 32")
      << tern.dump(1);
  EXPECT_EQ(tern["late gets nothing"], "");
  if (NatsServerPath().empty()) return;
  const Json nats = RetainedScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

// A will with RETAIN set is kept as the topic's retained message once it is published.
Json RetainedWillScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "", &port, {"-m", "-1"});
  ConnectSpec spec;
  spec.client_id = "will-retainer";
  spec.flags = 0x02 | 0x04 | 0x08 | 0x20;  // clean, a will at QoS 1 with RETAIN
  spec.will_topic = "wr/state";
  spec.will_message = "offline";
  {
    RawConn conn(port, false);
    conn.Send(Connect(spec));
    conn.ReadUntil(std::string("\x20\x02\x00\x00", 4), 10000);
  }                                         // gone without DISCONNECT: the will goes out
  WaitUntilGone(*server, "will-retainer");  // before anyone subscribes: only kept, not live
  Json seen;
  for (int i = 0; i < 20 && seen.empty(); ++i) {
    auto late = Login(port, "wr-late-" + std::to_string(i));
    late->Send(Subscribe(1, {{"wr/#", 1}}));
    const std::string got = late->ReadUntil("offline", 1000);
    std::string_view rest = got;
    core::mqtt::Packet packet;
    while (core::mqtt::ReadPacket(rest, 1 << 20, &packet) == core::mqtt::ReadStatus::kPacket) {
      core::mqtt::Publish publish;
      std::string reason;
      if (packet.type == core::mqtt::kPublish &&
          core::mqtt::ParsePublish(packet, &publish, &reason)) {
        seen = {{"topic", std::string(publish.topic)},
                {"payload", std::string(publish.payload)},
                {"qos", publish.qos},
                {"retain", publish.retain}};
      }
      rest.remove_prefix(packet.size);
    }
  }
  return seen;
}

TEST(MqttRetained, WillWithRetainAsNatsServer) {
  const Json tern = RetainedWillScenario(false);
  EXPECT_EQ(tern,
            Json({{"topic", "wr/state"}, {"payload", "offline"}, {"qos", 1}, {"retain", true}}));
  if (NatsServerPath().empty()) return;
  EXPECT_EQ(RetainedWillScenario(true), tern);
}

}  // namespace
}  // namespace tern::e2e
