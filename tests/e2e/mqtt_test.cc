// MQTT 3.1.1 on the mqtt port, beside nats-server 2.9.10 with the same bytes: the CONNECT
// checks and their CONNACK codes, SUBACK codes for valid and invalid filters, PINGREQ,
// UNSUBSCRIBE, PUBLISH refusals, the topic/subject mapping both ways with NATS clients, the
// keep-alive and the will. Then mosquitto's clients against Tern, and /connz, /varz.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "harness.h"
#include "mqtt_util.h"
#include "ws_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;
using namespace mqtt;

// What a server answers a first packet with: the bytes, then whether it closed.
std::string Answer(int port, const std::string& packet) {
  RawConn conn(port, /*read_info=*/false);
  conn.Send(packet);
  std::string got = conn.ReadUntil(std::string("\x20\x02", 2), 10000);
  if (!conn.closed() && got.size() >= 4 && got.substr(0, 4) != std::string("\x20\x02\x00\x00", 4)) {
    got += conn.ReadFor(3000);  // a refusal: the close follows
  }
  return Hex(got) + (conn.closed() ? " / closed" : " / open");
}

Json ConnectMatrix(int port) {
  Json seen;
  auto with = [](auto change) {
    ConnectSpec spec;
    change(spec);
    return Connect(spec);
  };
  seen["accepted"] = Answer(port, with([](ConnectSpec&) {}));
  seen["level 3"] = Answer(port, with([](ConnectSpec& s) { s.level = 3; }));
  // (Level 5, MQTT 5.0, is beyond nats-server 2.9: mqtt5_test.cc.)
  seen["level 6"] = Answer(port, with([](ConnectSpec& s) { s.level = 6; }));
  seen["MQIsdp"] = Answer(port, with([](ConnectSpec& s) {
                            s.protocol = "MQIsdp";
                            s.level = 3;
                          }));
  seen["reserved bit"] = Answer(port, with([](ConnectSpec& s) { s.flags = 0x03; }));
  seen["password without user"] = Answer(port, with([](ConnectSpec& s) {
                                           s.flags = 0x42;
                                           s.password = "p";
                                         }));
  seen["will qos 3"] = Answer(port, with([](ConnectSpec& s) {
                                s.flags = 0x02 | 0x04 | 0x18;
                                s.will_topic = "w";
                              }));
  seen["will retain without will"] = Answer(port, with([](ConnectSpec& s) { s.flags = 0x22; }));
  seen["empty id, persistent"] = Answer(port, with([](ConnectSpec& s) {
                                          s.client_id.clear();
                                          s.flags = 0x00;
                                        }));
  seen["empty id, clean"] = Answer(port, with([](ConnectSpec& s) { s.client_id.clear(); }));
  seen["empty user name"] = Answer(port, with([](ConnectSpec& s) { s.flags = 0x82; }));
  seen["will topic with wildcard"] = Answer(port, with([](ConnectSpec& s) {
                                              s.flags = 0x06;
                                              s.will_topic = "a/+";
                                              s.will_message = "x";
                                            }));
  seen["first packet a PINGREQ"] = Answer(port, std::string("\xc0\x00", 2));
  seen["HTTP on the MQTT port"] = Answer(port, "GET / HTTP/1.1\r\n\r\n");
  return seen;
}

Json Session(int port, int nats_port) {
  Json seen;
  auto conn = Login(port, "sess1");
  // SUBACK codes: valid filters granted, invalid ones 0x80. (QoS 2, which nats-server 2.9
  // grants as 1 and Tern as 2, is in mqtt_qos2_test.cc.)
  conn->Send(Subscribe(0x0102, {{"a/b", 0},
                                {"a.b", 1},
                                {"a b", 1},
                                {"$MQTT/sub/x", 1},
                                {"c/#", 1},
                                {"+", 0},
                                {"a/#/b", 0},
                                {"a+/b", 0}}));
  seen["suback"] = Hex(conn->ReadUntil(std::string("\x90", 1) + std::string(1, '\x0a'), 5000));
  conn->Send(std::string("\xc0\x00", 2));
  seen["pingresp"] = Hex(conn->ReadUntil(std::string("\xd0\x00", 2)));
  conn->Send(Unsubscribe(7, {"never/subscribed"}));
  seen["unsuback"] = Hex(conn->ReadUntil(std::string("\xb0\x02\x00\x07", 4)));
  conn->Send(Publish("q/one", "m", 1, 0x0a0b));
  seen["puback"] = Hex(conn->ReadUntil(std::string("\x40\x02\x0a\x0b", 4), 5000));

  // NATS <-> MQTT: an MQTT publish reaches a NATS subscriber with the QoS header; a NATS
  // publish reaches an MQTT subscriber as QoS 0; topic levels map both ways.
  RawConn nats(nats_port);
  nats.Send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB m2n.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  auto sub = Login(port, "sub1");
  sub->Send(Subscribe(1, {{"n2m/#", 1}, {"/lead", 0}}));
  sub->ReadUntil(std::string("\x90\x04\x00\x01", 4), 5000);
  auto pub = Login(port, "pub1");
  pub->Send(Publish("m2n/q0", "hello0") + Publish("m2n/q1", "hello1", 1, 5) +
            Publish("m2n//x", ""));
  seen["nats sees"] =
      nats.ReadUntil("HMSG m2n./.x 1 25 25\r\nNATS/1.0\r\nNmqtt-Pub:0\r\n\r\n\r\n", 5000);
  nats.Send(
      "PUB n2m.a 2\r\nnn\r\nHPUB n2m 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPUB /.lead 1\r\nL\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  const std::string wanted = Publish("/lead", "L");
  seen["mqtt sees"] = Hex(sub->ReadUntil(wanted, 5000));

  // Refused publishes close the connection.
  auto refused = [&](const std::string& packet) {
    auto c = Login(port, "bad");
    c->Send(packet);
    c->ReadFor(3000);
    return c->closed();
  };
  seen["publish qos 3 closes"] = refused(Packet(0x36, Str("x") + std::string("\x00\x01y", 3)));
  seen["publish qos 1 pid 0 closes"] = refused(Publish("x", "y", 1, 0));
  seen["publish wildcard topic closes"] = refused(Publish("x/+", "y"));
  seen["publish dot topic closes"] = refused(Publish("x.y", "y"));
  seen["subscribe bad flags closes"] =
      refused(Packet(0x80, std::string("\x00\x01", 2) + Str("a") + std::string(1, '\0')));
  seen["subscribe without filters closes"] = refused(Packet(0x82, std::string("\x00\x01", 2)));
  seen["second connect closes"] = refused(Connect(ConnectSpec{}));
  return seen;
}

// The will: published when the connection ends without DISCONNECT (keep-alive expiry
// here), not after a DISCONNECT.
Json Will(int port, int nats_port) {
  Json seen;
  RawConn nats(nats_port);
  nats.Send("CONNECT {\"verbose\":false}\r\nSUB will.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  ConnectSpec spec;
  spec.client_id = "willing";
  spec.flags = 0x02 | 0x04;
  spec.will_topic = "will/gone";
  spec.will_message = "bye";
  spec.keepalive = 1;
  auto quiet = Login(port, "", 0, Connect(spec));
  // Nothing more is sent: after 1.5 x 1 s the server gives up on it.
  seen["will after keep-alive"] = nats.ReadUntil("bye\r\n", 8000);
  quiet->ReadFor(3000);
  seen["keep-alive closed it"] = quiet->closed();
  spec.client_id = "polite";
  spec.will_message = "unexpected";
  spec.keepalive = 0;
  auto polite = Login(port, "", 0, Connect(spec));
  polite->Send(std::string("\xe0\x00", 2));
  polite->ReadFor(3000);
  seen["disconnect closed it"] = polite->closed();
  auto marker = Login(port, "marker");
  marker->Send(Publish("will/marker", "m"));
  seen["no will after disconnect"] = nats.ReadUntil("MSG will.marker 1 1\r\nm\r\n", 5000);
  return seen;
}

// A second connection with a client id takes the session over: the first is closed
// without its will; a third within a second is held off and closed unanswered.
Json Takeover(int port, int nats_port) {
  Json seen;
  RawConn nats(nats_port);
  nats.Send("CONNECT {\"verbose\":false}\r\nSUB will.> 1\r\nPING\r\n");
  nats.ReadUntil("PONG\r\n");
  ConnectSpec spec;
  spec.client_id = "same";
  spec.flags = 0x02 | 0x04;
  spec.will_topic = "will/first";
  spec.will_message = "first-will";
  auto first = Login(port, "", 0, Connect(spec));
  spec.will_topic = "will/second";
  spec.will_message = "second-will";
  RawConn second(port, false);
  second.Send(Connect(spec));
  seen["second connack"] = Hex(second.ReadUntil(std::string("\x20\x02\x00\x00", 4), 10000));
  first->ReadFor(3000);
  seen["first closed"] = first->closed();
  RawConn third(port, false);
  third.Send(Connect(spec));
  seen["third answer"] = Hex(third.ReadFor(4000));
  seen["third closed"] = third.closed();
  second.Send(std::string("\xc0\x00", 2));
  seen["second still served"] = Hex(second.ReadUntil(std::string("\xd0\x00", 2)));
  // The first's will never came; the marker arrives alone.
  auto marker = Login(port, "marker");
  marker->Send(Publish("will/marker", "m"));
  seen["nats saw"] = nats.ReadUntil("MSG will.marker 1 1\r\nm\r\n", 5000);
  return seen;
}

// MQTT over WebSocket: the /mqtt path, packets in binary frames (one cut across two), the
// server's packets framed, DISCONNECT answered with a close frame.
Json OverWebsocket(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "websocket { port: -1, no_tls: true }\n", &port);
  Json seen;
  RawConn ws(server->websocket_port(), /*read_info=*/false);
  std::string upgrade = WsUpgrade();
  upgrade.replace(upgrade.find("GET / "), 6, "GET /mqtt ");
  ws.Send(upgrade);
  const std::string answer = ws.ReadUntil("\r\n\r\n");
  seen["subprotocol"] = answer.find("Sec-Websocket-Protocol: mqtt\r\n") != std::string::npos;
  ConnectSpec spec;
  spec.client_id = "ws-client";
  ws.Send(ClientFrame(0x82, Connect(spec)));
  seen["connack"] = Hex(ReadWsUntil(&ws, std::string("\x20\x02\x00\x00", 4)).text);
  const std::string subscribe = Subscribe(3, {{"ws/+", 0}});
  ws.Send(ClientFrame(0x02, subscribe.substr(0, 4)) + ClientFrame(0x80, subscribe.substr(4)));
  seen["suback"] = Hex(ReadWsUntil(&ws, std::string("\x90\x03\x00\x03\x00", 5)).text);
  RawConn nats_client(server->port());
  nats_client.Send("CONNECT {\"verbose\":false}\r\nPUB ws.t 5\r\nhello\r\nPING\r\n");
  nats_client.ReadUntil("PONG\r\n");
  seen["publish"] = Hex(ReadWsUntil(&ws, Publish("ws/t", "hello")).text);
  ws.Send(ClientFrame(0x82, std::string("\xe0\x00", 2)));
  WsReceived closing = ReadWsUntil(&ws, "never", "", 3000);
  seen["close"] = closing.close;
  return seen;
}

TEST(Mqtt, OverWebsocketAsNatsServer) {
  const Json tern = OverWebsocket(false);
  EXPECT_EQ(tern["connack"], "20 02 00 00") << tern.dump(1);
  EXPECT_EQ(tern["close"], "1000 Client Closed");
  if (NatsServerPath().empty()) return;
  EXPECT_EQ(tern, OverWebsocket(true));
}

TEST(Mqtt, AsNatsServer) {
  int tern_port = 0;
  auto tern = StartMqttServer(false, "", &tern_port);
  Json t;
  t["connect"] = ConnectMatrix(tern_port);
  t["session"] = Session(tern_port, tern->port());
  t["will"] = Will(tern_port, tern->port());
  t["takeover"] = Takeover(tern_port, tern->port());
  EXPECT_EQ(t["connect"]["accepted"], "20 02 00 00 / open") << t.dump(1);
  EXPECT_EQ(t["session"]["suback"], "90 0a 01 02 00 80 80 80 01 00 80 00");
  EXPECT_EQ(t["takeover"]["first closed"], true) << t["takeover"].dump(1);
  EXPECT_EQ(t["takeover"]["third closed"], true);
  EXPECT_EQ(t["takeover"]["third answer"], "");
  if (NatsServerPath().empty()) return;
  int nats_port = 0;
  auto nats = StartMqttServer(true, "", &nats_port);
  Json n;
  n["connect"] = ConnectMatrix(nats_port);
  n["session"] = Session(nats_port, nats->port());
  n["will"] = Will(nats_port, nats->port());
  n["takeover"] = Takeover(nats_port, nats->port());
  for (const auto& [part, steps] : n.items()) {
    for (const auto& [step, outcome] : steps.items()) {
      EXPECT_EQ(t[part].value(step, Json()), outcome) << part << ": " << step;
    }
  }
}

}  // namespace
}  // namespace tern::e2e
