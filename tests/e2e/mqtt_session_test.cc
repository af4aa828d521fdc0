// MQTT persistent sessions beside nats-server 2.9.10 with the same bytes: clean session 0
// keeps subscriptions across a reconnect (CONNACK says the session is present), the QoS 1
// messages stored meanwhile are delivered at once (QoS 0 ones are not kept), a clean start
// removes the session. And across a restart of the server on the same store.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;
using namespace mqtt;

std::string ConnectAs(const std::string& id, bool clean) {
  ConnectSpec spec;
  spec.client_id = id;
  spec.flags = clean ? 0x02 : 0x00;
  return Connect(spec);
}

// Connects and returns the CONNACK's bytes (the session present flag is its third byte);
// what came right after it (kept messages) goes to *rest.
std::string Connack(RawConn* conn, const std::string& connect, std::string* rest = nullptr) {
  conn->Send(connect);
  const std::string got = conn->ReadUntil(std::string("\x20\x02", 2), 10000);
  if (rest != nullptr && got.size() > 4) *rest = got.substr(4);
  return Hex(got.substr(0, 4));
}

// Reads until `packet` is among what arrived (with `rest` read before); its hex, or what came.
std::string ReadPacket(RawConn* conn, const std::string& rest, const std::string& packet) {
  std::string got = rest;
  if (got.find(packet) == std::string::npos) got += conn->ReadUntil(packet, 10000);
  return got.find(packet) != std::string::npos ? Hex(packet) : Hex(got);
}

Json SessionScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "", &port);
  Json seen;
  {
    RawConn first(port, false);
    seen["first connack"] = Connack(&first, ConnectAs("p1", false));
    first.Send(Subscribe(1, {{"t/p", 1}, {"t/z", 0}}));
    seen["suback"] = Hex(first.ReadUntil(std::string("\x90\x04\x00\x01\x01\x00", 6), 10000));
    first.Send(std::string("\xe0\x00", 2));
    first.ReadFor(2000);
  }
  auto pub = Login(port, "p-pub");
  pub->Send(Publish("t/p", "kept", 1, 2) + Publish("t/z", "lost"));
  pub->ReadUntil(std::string("\x40\x02\x00\x02", 4), 10000);
  {
    RawConn again(port, false);
    std::string rest;
    seen["reconnect connack"] = Connack(&again, ConnectAs("p1", false), &rest);
    seen["kept message"] = ReadPacket(&again, rest, Publish("t/p", "kept", 1, 1));
    // The restored QoS 0 subscription works; the QoS 0 message sent offline was not kept.
    pub->Send(Publish("t/z", "live"));
    const std::string got = again.ReadUntil(Publish("t/z", "live"), 10000);
    seen["qos 0 restored"] = got.find(Publish("t/z", "live")) != std::string::npos;
    seen["qos 0 offline lost"] = got.find("lost") == std::string::npos;
    again.Send(std::string("\x40\x02\x00\x01\xe0\x00", 6));
    again.ReadFor(2000);
  }
  {
    RawConn clean(port, false);
    seen["clean start connack"] = Connack(&clean, ConnectAs("p1", true));
    clean.Send(std::string("\xe0\x00", 2));
    clean.ReadFor(2000);
  }
  {
    RawConn after(port, false);
    seen["after clean start"] = Connack(&after, ConnectAs("p1", false));
    pub->Send(Publish("t/p", "nobody", 1, 3));
    pub->ReadUntil(std::string("\x40\x02\x00\x03", 4), 10000);
    seen["no subscription left"] = Hex(after.ReadFor(1000));
  }
  return seen;
}

TEST(MqttSession, AsNatsServer) {
  const Json tern = SessionScenario(false);
  EXPECT_EQ(tern["first connack"], "20 02 00 00") << tern.dump(1);
  EXPECT_EQ(tern["reconnect connack"], "20 02 01 00");
  EXPECT_EQ(tern["clean start connack"], "20 02 00 00");
  EXPECT_EQ(tern["qos 0 restored"], true);
  if (NatsServerPath().empty()) return;
  const Json nats = SessionScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

// A session and its unacknowledged QoS 1 messages survive a restart of the server on the same
// store, in both servers.
Json RestartScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  const int port = FreePort();
  const std::string store = WriteConfig("");
  const std::string config = WriteConfig("server_name: restart_test\njetstream { store_dir: \"" +
                                         store.substr(0, store.rfind('/')) +
                                         "/js\" }\nmqtt { port: " + std::to_string(port) + " }\n");
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", config};
  const auto start = [&] {
    return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  };
  Json seen;
  auto server = start();
  {
    RawConn first(port, false);
    Connack(&first, ConnectAs("restart-1", false));
    first.Send(Subscribe(1, {{"dev/+/temp", 1}}));
    seen["suback"] = Hex(first.ReadUntil(std::string("\x90\x03\x00\x01\x01", 5), 10000));
  }
  {
    auto pub = Login(port, "restart-pub");
    pub->Send(Publish("dev/7/temp", "21.5", 1, 9));
    seen["puback"] = Hex(pub->ReadUntil(std::string("\x40\x02\x00\x09", 4), 10000));
  }
  server.reset();  // stopped with the message stored and not delivered
  server = start();
  RawConn again(port, false);
  std::string rest;
  seen["connack after restart"] = Connack(&again, ConnectAs("restart-1", false), &rest);
  seen["kept across the restart"] = ReadPacket(&again, rest, Publish("dev/7/temp", "21.5", 1, 1));
  return seen;
}

TEST(MqttSession, SurvivesARestart) {
  const Json tern = RestartScenario(false);
  EXPECT_EQ(tern["puback"], "40 02 00 09") << tern.dump(1);
  EXPECT_EQ(tern["connack after restart"], "20 02 01 00");
  EXPECT_EQ(tern["kept across the restart"], Hex(Publish("dev/7/temp", "21.5", 1, 1)));
  if (NatsServerPath().empty()) return;
  const Json nats = RestartScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

// A QoS 1 delivery not acknowledged when the client went away is sent again when it comes
// back, with DUP set and the packet id it had.
Json PacketIdScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "", &port, {"-m", "-1"}, "ack_wait: \"1s\"");
  Json seen;
  auto pub = Login(port, "pid-pub");
  {
    RawConn first(port, false);
    Connack(&first, ConnectAs("pid-sub", false));
    first.Send(Subscribe(1, {{"pid/#", 1}}));
    first.ReadUntil(std::string("\x90\x03\x00\x01\x01", 5), 10000);
    pub->Send(Publish("pid/a", "m1", 1, 1) + Publish("pid/a", "m2", 1, 2) +
              Publish("pid/a", "m3", 1, 3));
    const std::string got = first.ReadUntil(Publish("pid/a", "m3", 1, 3), 10000);
    seen["three deliveries"] =
        got.find(Publish("pid/a", "m1", 1, 1) + Publish("pid/a", "m2", 1, 2) +
                 Publish("pid/a", "m3", 1, 3)) != std::string::npos;
    first.Send(std::string("\x40\x02\x00\x01\x40\x02\x00\x02", 8));  // PUBACK 1 and 2
    first.ReadFor(300);
  }  // gone with m3 not acknowledged
  WaitUntilGone(*server, "pid-sub");
  RawConn again(port, false);
  std::string rest;
  seen["connack"] = Connack(&again, ConnectAs("pid-sub", false), &rest);
  std::string dup = Publish("pid/a", "m3", 1, 3);
  dup[0] = static_cast<char>(dup[0] | 0x08);
  seen["m3 again, DUP, id 3"] = ReadPacket(&again, rest, dup);
  seen["nothing else"] = again.ReadFor(500).find("m1") == std::string::npos;
  return seen;
}

TEST(MqttSession, PacketIdsKeptAcrossAReconnect) {
  const Json tern = PacketIdScenario(false);
  EXPECT_EQ(tern["three deliveries"], true) << tern.dump(1);
  EXPECT_EQ(tern["connack"], "20 02 01 00");
  EXPECT_EQ(tern["m3 again, DUP, id 3"], "3a 0b 00 05 70 69 64 2f 61 00 03 6d 33");
  if (NatsServerPath().empty()) return;
  const Json nats = PacketIdScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

}  // namespace
}  // namespace tern::e2e
