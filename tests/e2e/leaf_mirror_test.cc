// A stream at the hub mirroring, and another sourcing, a stream at the edge through the
// edge's JetStream domain (`external.api: $JS.edge.API`), as a nats-server hub does it: the
// hub's consumer request, the deliveries and the flow control all cross the leafnode link.
// Run with Tern at both ends, and with nats-server at either.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

Json AwaitLastSeq(natsConnection* nc, const std::string& stream, uint64_t last_seq) {
  Json info;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    info = JsApi(nc, "$JS.API.STREAM.INFO." + stream, Json::object());
    if (info.contains("state") && info["state"].value("last_seq", uint64_t{0}) >= last_seq) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return info;
}

std::unique_ptr<ServerProcess> Start(bool nats, const std::string& config) {
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", WriteConfig(config)};
  return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
}

void ExpectMirrorAcrossDomains(bool nats_hub, bool nats_edge) {
  SCOPED_TRACE(std::string(nats_hub ? "nats-server" : "Tern") + " hub, " +
               (nats_edge ? "nats-server" : "Tern") + " edge");
  const int leaf_port = FreePort();
  auto hub = Start(nats_hub, "server_name: hub\njetstream { store_dir: \"" + MakeStoreDir() +
                                 "\", domain: hub }\nleafnodes { listen: 127.0.0.1:" +
                                 std::to_string(leaf_port) + " }\n");
  auto edge = Start(nats_edge, "server_name: edge\njetstream { store_dir: \"" + MakeStoreDir() +
                                   "\", domain: edge }\nleafnodes { remotes: [ { url: "
                                   "\"nats-leaf://127.0.0.1:" +
                                   std::to_string(leaf_port) + "\" } ] }\n");
  ASSERT_TRUE(hub && edge);
  auto at_hub = Connect(*hub);
  auto at_edge = Connect(*edge);
  ASSERT_EQ(JsApi(at_edge->nc, "$JS.API.STREAM.CREATE.ORDERS",
                  Json{{"name", "ORDERS"}, {"subjects", {"orders.>"}}})
                .count("error"),
            0u);
  int published = 0;
  auto publish = [&](int count) {
    for (int i = 0; i < count; ++i) {
      ++published;
      natsMsg* ack = nullptr;
      const std::string data = "o" + std::to_string(published);
      ASSERT_EQ(natsConnection_RequestString(&ack, at_edge->nc, "orders.new", data.c_str(), 5000),
                NATS_OK);
      natsMsg_Destroy(ack);
    }
  };
  publish(5);
  AwaitRoute(at_hub->nc, at_edge->nc);  // the link is up
  const Json external = {{"api", "$JS.edge.API"}, {"deliver", ""}};
  const Json created = JsApi(
      at_hub->nc, "$JS.API.STREAM.CREATE.ORDERS_COPY",
      Json{{"name", "ORDERS_COPY"}, {"mirror", {{"name", "ORDERS"}, {"external", external}}}});
  ASSERT_EQ(created.count("error"), 0u) << created.dump();
  const Json sourced =
      JsApi(at_hub->nc, "$JS.API.STREAM.CREATE.ALL_ORDERS",
            Json{{"name", "ALL_ORDERS"},
                 {"subjects", {"hub.orders"}},
                 {"sources", {{{"name", "ORDERS"}, {"external", {{"api", "$JS.edge.API"}}}}}}});
  ASSERT_EQ(sourced.count("error"), 0u) << sourced.dump();
  Json info = AwaitLastSeq(at_hub->nc, "ORDERS_COPY", 5);
  EXPECT_EQ(info["state"].value("messages", 0), 5) << info.dump();
  EXPECT_EQ(info["mirror"].value("name", ""), "ORDERS") << info.dump();
  publish(3);
  info = AwaitLastSeq(at_hub->nc, "ORDERS_COPY", 8);
  EXPECT_EQ(info["state"].value("messages", 0), 8) << info.dump();
  info = AwaitLastSeq(at_hub->nc, "ALL_ORDERS", 8);
  EXPECT_EQ(info["state"].value("messages", 0), 8) << info.dump();
  const Json last = JsApi(at_hub->nc, "$JS.API.STREAM.MSG.GET.ORDERS_COPY", Json{{"seq", 8}});
  EXPECT_EQ(last["message"].value("subject", ""), "orders.new") << last.dump();
}

TEST(LeafMirror, AHubStreamMirrorsAndSourcesAnEdgeStreamThroughItsDomain) {
  ExpectMirrorAcrossDomains(false, false);
  if (NatsServerPath().empty()) return;
  ExpectMirrorAcrossDomains(true, false);
  ExpectMirrorAcrossDomains(false, true);
}

}  // namespace
}  // namespace tern::e2e
