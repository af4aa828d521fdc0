// The mqtt block's js_domain: an edge server serves MQTT QoS 1 through the JetStream of its
// leafnode hub, in the hub's domain ($JS.hub.API), not its own (domain edge): the streams live at
// the hub, PUBACK waits for the hub's store, deliveries come from the hub's consumers. With
// Tern at both ends, and with nats-server 2.9.10 at either.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"
#include "mqtt_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

std::unique_ptr<ServerProcess> Start(bool nats, const std::string& config) {
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", WriteConfig(config)};
  return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
}

void ExpectQos1ThroughTheHubDomain(bool nats_hub, bool nats_edge) {
  SCOPED_TRACE(std::string(nats_hub ? "nats-server" : "Tern") + " hub, " +
               (nats_edge ? "nats-server" : "Tern") + " edge");
  const int leaf_port = mqtt::FreePort();
  const int mqtt_port = mqtt::FreePort();
  auto hub = Start(nats_hub, "server_name: hub\njetstream { store_dir: \"" + MakeStoreDir() +
                                 "\", domain: hub }\nleafnodes { listen: 127.0.0.1:" +
                                 std::to_string(leaf_port) + " }\n");
  // The edge has a JetStream of its own (domain edge): without js_domain the MQTT streams
  // would be made there.
  const std::string edge_config =
      "server_name: edge\njetstream { store_dir: \"" + MakeStoreDir() +
      "\", domain: edge }\nleafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:" +
      std::to_string(leaf_port) + "\" } ] }\nmqtt { port: " + std::to_string(mqtt_port) +
      ", js_domain: hub }\n";
  auto edge = Start(nats_edge, edge_config);
  ASSERT_TRUE(hub && edge);
  auto at_hub = Connect(*hub);
  auto at_edge = Connect(*edge);
  AwaitRoute(at_hub->nc, at_edge->nc);  // the leafnode link is up
  AwaitRoute(at_edge->nc, at_hub->nc);

  auto sub = mqtt::Login(mqtt_port, "dom-sub");
  sub->Send(mqtt::Subscribe(1, {{"dom/#", 1}}));
  EXPECT_EQ(mqtt::Hex(sub->ReadUntil(std::string("\x90\x03\x00\x01\x01", 5), 10000)),
            "90 03 00 01 01")
      << "granted QoS 1: its consumer made at the hub";
  auto pub = mqtt::Login(mqtt_port, "dom-pub");
  pub->Send(mqtt::Publish("dom/x", "via-hub", 1, 7));
  EXPECT_EQ(mqtt::Hex(pub->ReadUntil(std::string("\x40\x02\x00\x07", 4), 10000)), "40 02 00 07")
      << "PUBACK once stored at the hub";
  const std::string delivery = mqtt::Publish("dom/x", "via-hub", 1, 1);
  EXPECT_NE(sub->ReadUntil(delivery, 10000).find(delivery), std::string::npos);
  const Json info = JsApi(at_hub->nc, "$JS.API.STREAM.INFO.$MQTT_msgs", Json::object());
  EXPECT_EQ(info.count("error"), 0u) << "the MQTT streams live at the hub: " << info.dump();
}

TEST(MqttDomain, QoS1ThroughALeafnodeHubsJetStream) {
  ExpectQos1ThroughTheHubDomain(false, false);
  if (NatsServerPath().empty()) return;
  ExpectQos1ThroughTheHubDomain(true, false);
  ExpectQos1ThroughTheHubDomain(false, true);
}

}  // namespace
}  // namespace tern::e2e
