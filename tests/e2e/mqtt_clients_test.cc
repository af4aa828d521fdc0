// MQTT with real clients and settings, beside nats-server 2.9.10: mosquitto_pub and
// mosquitto_sub (Debian's mosquitto-clients) at QoS 0 and 1 with a NATS client on the other
// side; the mqtt block's authorization (user, token as password, no_auth_user); the
// start-up errors; /connz (type, mqtt_client filter) and /varz.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;
using namespace mqtt;

bool HaveMosquitto() { return RunCommand("command -v mosquitto_pub").first == 0; }

Json MosquittoScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = StartMqttServer(nats, "", &port, {"-m", "-1"});
  const std::string p = " -h 127.0.0.1 -p " + std::to_string(port);
  Json seen;
  // A subscriber that waits for four messages, in the background.
  std::pair<int, std::string> sub_result;
  std::thread subscriber([&] {
    sub_result =
        RunCommand("timeout 20 mosquitto_sub" + p + " -i watcher -q 1 -t 'sensors/#' -v -C 4");
  });
  // Wait until its subscription is in place: /connz shows it.
  for (int i = 0; i < 200; ++i) {
    RawConn probe(server->port());
    probe.Send("CONNECT {\"verbose\":false}\r\nPING\r\n");
    probe.ReadUntil("PONG\r\n");
    const std::string connz = HttpGet(server->monitor_port(), "/connz?subs=1").body;
    if (connz.find("sensors.>") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  seen["pub qos0"] = RunCommand("mosquitto_pub" + p + " -t sensors/t1 -m 21.5").first;
  seen["pub qos1"] = RunCommand("mosquitto_pub" + p + " -q 1 -t sensors/t2 -m 22.0").first;
  RawConn nats_pub(server->port());
  nats_pub.Send("CONNECT {\"verbose\":false}\r\nPUB sensors.from.nats 4\r\nnats\r\nPING\r\n");
  nats_pub.ReadUntil("PONG\r\n");
  seen["pub parent level"] = RunCommand("mosquitto_pub" + p + " -t sensors -m top").first;
  subscriber.join();
  seen["sub exit"] = sub_result.first;
  seen["sub lines"] = sub_result.second;
  return seen;
}

TEST(MqttClients, MosquittoAsNatsServer) {
  ASSERT_TRUE(HaveMosquitto()) << "mosquitto-clients is installed by scripts/test.sh";
  const Json tern = MosquittoScenario(false);
  EXPECT_EQ(tern["sub lines"],
            "sensors/t1 21.5\nsensors/t2 22.0\nsensors/from/nats nats\nsensors top\n");
  EXPECT_EQ(tern["sub exit"], 0);
  if (NatsServerPath().empty()) return;
  const Json nats = MosquittoScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

std::string ConnackCode(int port, const std::string& user, const std::string& password) {
  ConnectSpec spec;
  spec.client_id = "auth";
  if (!user.empty()) {
    spec.flags |= 0x80;
    spec.user = user;
  }
  if (!password.empty()) {
    spec.flags |= 0x40;
    spec.password = password;
  }
  RawConn conn(port, false);
  conn.Send(Connect(spec));
  return Hex(conn.ReadUntil(std::string("\x20\x02", 2), 10000).substr(0, 4));
}

Json AuthScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  Json seen;
  int port = 0;
  {
    auto s = StartMqttServer(nats, "", &port, {}, "authorization { token: tok123 }");
    seen["token as password"] = ConnackCode(port, "anything", "tok123");
    seen["token: no credentials"] = ConnackCode(port, "", "");
    seen["token: wrong"] = ConnackCode(port, "anything", "nope");
    RawConn tcp(s->port());
    tcp.Send("CONNECT {\"verbose\":false}\r\nPING\r\n");
    seen["token: tcp needs none"] = tcp.ReadUntil("PONG\r\n").find("PONG") != std::string::npos;
  }
  {
    auto s = StartMqttServer(nats,
                             "authorization { users: [ {user: a, password: pa}, "
                             "{user: m, password: pm, allowed_connection_types: [MQTT]} ] }\n",
                             &port, {}, "no_auth_user: a");
    seen["no_auth_user"] = ConnackCode(port, "", "");
    seen["users: right"] = ConnackCode(port, "m", "pm");
    seen["users: wrong"] = ConnackCode(port, "m", "x");
    RawConn tcp(s->port());
    tcp.Send("CONNECT {\"verbose\":false,\"user\":\"m\",\"pass\":\"pm\"}\r\nPING\r\n");
    const std::string got = tcp.ReadUntil("PONG\r\n");
    seen["mqtt-only user over tcp"] =
        got.substr(got.find("-ERR") == std::string::npos ? 0 : got.find("-ERR"), 30);
  }
  return seen;
}

TEST(MqttClients, AuthorizationAsNatsServer) {
  const Json tern = AuthScenario(false);
  EXPECT_EQ(tern["token as password"], "20 02 00 00") << tern.dump(1);
  EXPECT_EQ(tern["token: no credentials"], "20 02 00 05");
  if (NatsServerPath().empty()) return;
  const Json nats = AuthScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

TEST(MqttClients, StartupErrorsAsNatsServer) {
  const std::string js = "jetstream { store_dir: \"" + WriteConfig("") + "-js\" }\n";
  struct Case {
    std::string config;
    std::string error;
  } cases[] = {
      {js + "mqtt { port: -1 }\n", "mqtt requires server name to be explicitly set"},
      {"server_name: s\nmqtt { port: -1 }\n",
       "mqtt requires JetStream to be enabled if running in standalone mode"},
      {"server_name: s\n" + js + "mqtt { port: -1, stream_replicas: 1, consumer_replicas: 3 }\n",
       "mqtt: consumer_replicas (3) cannot be higher than stream_replicas (1)"},
      {"server_name: s\n" + js + "mqtt { port: -1, max_ack_pending: 70000 }\n",
       "invalid value 70000, should in [0..65535] range"},
      {"server_name: s\n" + js +
           "authorization { users: [ {user: a, password: b} ] }\n"
           "mqtt { port: -1, authorization { username: x, password: y } }\n",
       "mqtt authentication username not compatible with presence of users/nkeys"},
  };
  for (const Case& c : cases) ExpectStartFails(WriteConfig(c.config), c.error);
}

TEST(MqttClients, MonitoringShowsMqttClients) {
  int port = 0;
  auto server = StartMqttServer(false, "", &port, {"-m", "-1"});
  auto a = Login(port, "meter-1");
  auto b = Login(port, "meter-2");
  const Json all = Json::parse(HttpGet(server->monitor_port(), "/connz").body);
  int mqtt_clients = 0;
  for (const Json& c : all["connections"]) mqtt_clients += c.value("type", "") == "mqtt";
  EXPECT_EQ(mqtt_clients, 2);
  const Json one = Json::parse(HttpGet(server->monitor_port(), "/connz?mqtt_client=meter-2").body);
  ASSERT_EQ(one["connections"].size(), 1u);
  EXPECT_EQ(one["connections"][0]["mqtt_client"], "meter-2");
  const Json varz = Json::parse(HttpGet(server->monitor_port(), "/varz").body);
  EXPECT_EQ(varz["mqtt"]["port"], port);
  EXPECT_EQ(varz["mqtt"]["ack_wait"], int64_t{30'000'000'000});
  EXPECT_EQ(varz["mqtt"]["max_ack_pending"], 1024);
}

}  // namespace
}  // namespace tern::e2e
