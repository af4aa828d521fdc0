// MQTT through the Eclipse Paho C client (Debian's libpaho-mqtt-dev, its synchronous
// MQTTClient API), beside nats-server 2.9.10 with the same steps: a persistent session that
// keeps a QoS 1 message while its client is away, retained messages, a will published when the
// keepalive runs out, a refused password, and NATS clients on the other side both ways.
#include <MQTTClient.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "harness.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

// One Paho client; disconnects and frees itself.
class Paho {
 public:
  Paho(int port, const std::string& client_id) {
    const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
    MQTTClient_create(&client_, uri.c_str(), client_id.c_str(), MQTTCLIENT_PERSISTENCE_NONE,
                      nullptr);
  }
  ~Paho() {
    if (connected_) MQTTClient_disconnect(client_, 1000);
    MQTTClient_destroy(&client_);
  }
  // MQTTClient_connect's answer (0, or the CONNACK's refusal code); *session_present too.
  int Connect(bool clean, const char* user = "dev", const char* password = "s3cret",
              MQTTClient_willOptions* will = nullptr, int keepalive = 30,
              bool* session_present = nullptr) {
    MQTTClient_connectOptions options = MQTTClient_connectOptions_initializer;
    options.cleansession = clean ? 1 : 0;
    options.keepAliveInterval = keepalive;
    options.username = user;
    options.password = password;
    options.will = will;
    options.connectTimeout = 5;
    const int rc = MQTTClient_connect(client_, &options);
    connected_ = rc == MQTTCLIENT_SUCCESS;
    if (session_present != nullptr) *session_present = options.returned.sessionPresent != 0;
    return rc;
  }
  int Subscribe(const char* topic, int qos) { return MQTTClient_subscribe(client_, topic, qos); }
  // Publishes and, for QoS 1, waits for the PUBACK; MQTTClient's result.
  int Publish(const std::string& topic, const std::string& payload, int qos, bool retained) {
    MQTTClient_message message = MQTTClient_message_initializer;
    message.payload = const_cast<char*>(payload.data());
    message.payloadlen = static_cast<int>(payload.size());
    message.qos = qos;
    message.retained = retained ? 1 : 0;
    MQTTClient_deliveryToken token = 0;
    const int rc = MQTTClient_publishMessage(client_, topic.c_str(), &message, &token);
    if (rc != MQTTCLIENT_SUCCESS || qos == 0) return rc;
    return MQTTClient_waitForCompletion(client_, token, 10000);
  }
  // The next message as "topic payload qos=N retained=N dup=N", or "none" after timeout.
  std::string Receive(int timeout_ms = 10000) {
    char* topic = nullptr;
    int topic_length = 0;
    MQTTClient_message* message = nullptr;
    const int rc = MQTTClient_receive(client_, &topic, &topic_length, &message, timeout_ms);
    if (rc != MQTTCLIENT_SUCCESS || message == nullptr) {
      if (topic != nullptr) MQTTClient_free(topic);
      return rc == MQTTCLIENT_SUCCESS ? "none" : "error " + std::to_string(rc);
    }
    std::string text = std::string(topic) + " " +
                       std::string(static_cast<char*>(message->payload),
                                   static_cast<size_t>(message->payloadlen)) +
                       " qos=" + std::to_string(message->qos) +
                       " retained=" + std::to_string(message->retained) +
                       " dup=" + std::to_string(message->dup);
    MQTTClient_freeMessage(&message);
    MQTTClient_free(topic);
    return text;
  }

 private:
  MQTTClient client_ = nullptr;
  bool connected_ = false;
};

Json PahoScenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  int port = 0;
  auto server = mqtt::StartMqttServer(
      nats, "authorization { users [ {user: dev, password: s3cret} ] }\nno_auth_user: dev\n",
      &port);
  Json seen;
  auto nats_conn = Connect(*server);
  natsSubscription* nats_sub = nullptr;
  natsConnection_SubscribeSync(&nats_sub, nats_conn->nc, "paho.>");
  natsConnection_Flush(nats_conn->nc);

  bool present = true;
  {
    Paho first(port, "paho-sub");
    seen["first connect"] = first.Connect(false, "dev", "s3cret", nullptr, 30, &present);
    seen["first session present"] = present;
    seen["subscribe qos 1"] = first.Subscribe("paho/+/temp", 1);
    seen["subscribe qos 0"] = first.Subscribe("paho/events/#", 0);
  }
  {
    Paho publisher(port, "paho-pub");
    seen["publisher connect"] = publisher.Connect(true);
    seen["publish qos 1"] = publisher.Publish("paho/dev1/temp", "21.5", 1, false);
    seen["publish retained"] = publisher.Publish("paho/events/boot", "up", 1, true);
  }
  Paho again(port, "paho-sub");
  seen["reconnect"] = again.Connect(false, "dev", "s3cret", nullptr, 30, &present);
  seen["reconnect session present"] = present;
  seen["kept while away"] = again.Receive();
  natsConnection_PublishString(nats_conn->nc, "paho.dev2.temp", "from nats");
  natsConnection_Flush(nats_conn->nc);
  seen["from nats"] = again.Receive();
  for (int i = 0; i < 2; ++i) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, nats_sub, 5000) != NATS_OK) break;
    seen["nats saw"].push_back(std::string(natsMsg_GetSubject(msg)) + " " + Payload(msg));
    natsMsg_Destroy(msg);
  }

  Paho late(port, "paho-late");
  seen["late connect"] = late.Connect(true);
  seen["late subscribe"] = late.Subscribe("paho/events/#", 1);
  seen["retained for a late subscriber"] = late.Receive();
  seen["late subscribe wills"] = late.Subscribe("paho/wills/+", 0);

  {
    Paho refused(port, "paho-bad");
    seen["wrong password"] = refused.Connect(true, "dev", "wrong");
  }
  // A client that goes silent: the server ends it after 1.5 keepalives and publishes its will.
  MQTTClient_willOptions will = MQTTClient_willOptions_initializer;
  will.topicName = "paho/wills/sensor9";
  will.message = "offline";
  Paho silent(port, "paho-will");
  seen["will client connect"] = silent.Connect(true, "dev", "s3cret", &will, 1);
  seen["will"] = late.Receive(8000);
  natsSubscription_Destroy(nats_sub);
  return seen;
}

TEST(MqttPaho, AsNatsServer) {
  const Json tern = PahoScenario(false);
  EXPECT_EQ(tern["first connect"], 0) << tern.dump(1);
  EXPECT_EQ(tern["reconnect session present"], true);
  EXPECT_EQ(tern["kept while away"], "paho/dev1/temp 21.5 qos=1 retained=0 dup=0");
  EXPECT_EQ(tern["retained for a late subscriber"], "paho/events/boot up qos=1 retained=1 dup=0");
  // Refused (CONNACK 5, then closed, as nats-server does): Paho's synchronous client reports
  // that as a failure (-1) against both servers.
  EXPECT_NE(tern["wrong password"], 0);
  EXPECT_EQ(tern["will"], "paho/wills/sensor9 offline qos=0 retained=0 dup=0");
  if (NatsServerPath().empty()) return;
  const Json nats = PahoScenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

}  // namespace
}  // namespace tern::e2e
