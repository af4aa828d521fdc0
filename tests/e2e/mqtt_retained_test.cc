// MQTT retained messages beside nats-server 2.9.10 with the same bytes: the last retained
// message of a topic sent after the SUBACK with RETAIN set (at the lower of its QoS and the
// granted one), again on a re-SUBSCRIBE; live deliveries with RETAIN cleared; an empty
// retained publish removing it (and still delivered live); wildcard filters.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

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

}  // namespace
}  // namespace tern::e2e
