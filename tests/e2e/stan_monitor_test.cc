// The STAN monitoring endpoints (docs/STAN.md, "Monitoring"): /streaming/serverz, storez,
// clientsz, channelsz and isFTActive with nats-streaming-server's JSON shapes, and the STAN
// figures in /metrics, read while libnats' STAN clients are connected and subscribed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "stan_util.h"

namespace tern::e2e {
namespace {

nlohmann::json GetJson(const ServerProcess& server, const std::string& target) {
  const HttpResult result = HttpGet(server.monitor_port(), target);
  EXPECT_EQ(result.status, 200) << target << ": " << result.body;
  return nlohmann::json::parse(result.body, nullptr, false);
}

TEST(StanMonitor, EndpointsShowClientsChannelsAndSubscriptions) {
  const std::string config = WriteConfig(R"(streaming {
    cluster_id: mon-cluster
    store_limits { max_msgs: 100, channels { "orders.*": { max_msgs: 10 } } }
  })");
  auto server = StartStreaming({"-m", "-1", "-c", config});
  ASSERT_TRUE(server);
  StanConn alpha, beta;
  ASSERT_EQ(StanConnect(*server, "mon-cluster", "alpha", &alpha), NATS_OK);
  ASSERT_EQ(StanConnect(*server, "mon-cluster", "beta", &beta), NATS_OK);
  PublishAll(alpha.sc, "orders.eu", 1, 3);
  PublishAll(alpha.sc, "audit", 1, 2);

  SubOptions all;
  stanSubOptions_DeliverAllAvailable(all.opts);
  StanInbox reader;
  ASSERT_EQ(reader.Subscribe(alpha.sc, "orders.eu", all.opts), NATS_OK);
  ASSERT_EQ(reader.WaitFor(3).size(), 3u);
  // At its maxInFlight and acknowledging nothing: stalled.
  SubOptions held_opts;
  stanSubOptions_DeliverAllAvailable(held_opts.opts);
  stanSubOptions_SetManualAckMode(held_opts.opts, true);
  stanSubOptions_SetMaxInflight(held_opts.opts, 1);
  StanInbox held;
  held.AckWhen([](const StanInbox::Got&) { return false; });
  ASSERT_EQ(held.Subscribe(alpha.sc, "audit", held_opts.opts), NATS_OK);
  ASSERT_EQ(held.WaitFor(1).size(), 1u);
  // A durable queue member, and a plain durable gone offline.
  SubOptions queue_opts;
  stanSubOptions_SetDurableName(queue_opts.opts, "dq");
  StanInbox member;
  ASSERT_EQ(member.QueueSubscribe(beta.sc, "orders.eu", "workers", queue_opts.opts), NATS_OK);
  SubOptions keep_opts;
  stanSubOptions_SetDurableName(keep_opts.opts, "keep");
  stanSubOptions_DeliverAllAvailable(keep_opts.opts);
  {
    StanInbox keeper;
    ASSERT_EQ(keeper.Subscribe(beta.sc, "audit", keep_opts.opts), NATS_OK);
    ASSERT_EQ(keeper.WaitFor(2).size(), 2u);
  }  // closed: offline

  const nlohmann::json serverz = GetJson(*server, "/streaming/serverz");
  EXPECT_EQ(serverz["cluster_id"], "mon-cluster");
  EXPECT_EQ(serverz["state"], "STANDALONE");
  EXPECT_EQ(serverz["clients"], 2);
  EXPECT_EQ(serverz["channels"], 2);
  EXPECT_EQ(serverz["subscriptions"], 4);  // reader, held, member, and the offline durable
  EXPECT_EQ(serverz["total_msgs"], 5);
  EXPECT_EQ(serverz["in_msgs"], 5);
  EXPECT_EQ(serverz["in_bytes"], 10);  // "m1" .. "m3", "m1", "m2"
  EXPECT_EQ(serverz["out_msgs"], 6);   // 3 to the reader, 1 held, 2 to the durable
  EXPECT_TRUE(serverz["uptime"].is_string());
  EXPECT_TRUE(serverz["start_time"].is_string());

  const nlohmann::json storez = GetJson(*server, "/streaming/storez");
  EXPECT_EQ(storez["type"], "FILE");
  EXPECT_EQ(storez["limits"]["max_channels"], 100);
  EXPECT_EQ(storez["limits"]["max_msgs"], 100);
  EXPECT_EQ(storez["limits"]["channels"]["orders.*"]["max_msgs"], 10);
  EXPECT_EQ(storez["limits"]["channels"]["orders.*"]["max_subscriptions"], 1000);
  EXPECT_EQ(storez["total_msgs"], 5);

  const nlohmann::json clients = GetJson(*server, "/streaming/clientsz?subs=1");
  EXPECT_EQ(clients["total"], 2);
  EXPECT_EQ(clients["count"], 2);
  EXPECT_EQ(clients["limit"], 1024);
  ASSERT_EQ(clients["clients"].size(), 2u);
  const nlohmann::json& a = clients["clients"][0];
  EXPECT_EQ(a["id"], "alpha");
  EXPECT_EQ(a["subs_count"], 2);
  const nlohmann::json& read_sub = a["subscriptions"]["orders.eu"][0];
  EXPECT_EQ(read_sub["last_sent"], 3);
  EXPECT_EQ(read_sub["is_durable"], false);
  EXPECT_FALSE(read_sub.contains("durable_name"));
  const nlohmann::json& held_sub = a["subscriptions"]["audit"][0];
  EXPECT_EQ(held_sub["max_inflight"], 1);
  EXPECT_EQ(held_sub["pending_count"], 1);
  EXPECT_EQ(held_sub["is_stalled"], true);
  const nlohmann::json b = GetJson(*server, "/streaming/clientsz?client=beta&subs=1");
  EXPECT_EQ(b["id"], "beta");
  EXPECT_EQ(b["subs_count"], 1);  // the offline durable is no client's now
  EXPECT_EQ(b["subscriptions"]["orders.eu"][0]["queue_name"], "dq:workers");
  EXPECT_EQ(b["subscriptions"]["orders.eu"][0]["is_durable"], true);
  const HttpResult missing = HttpGet(server->monitor_port(), "/streaming/clientsz?client=nobody");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("Client nobody not found"), std::string::npos);

  const nlohmann::json names = GetJson(*server, "/streaming/channelsz");
  EXPECT_EQ(names["names"], (nlohmann::json{"audit", "orders.eu"}));
  EXPECT_FALSE(names.contains("channels"));
  const nlohmann::json page = GetJson(*server, "/streaming/channelsz?offset=1&limit=1");
  EXPECT_EQ(page["names"], (nlohmann::json{"orders.eu"}));
  EXPECT_EQ(page["count"], 1);
  EXPECT_EQ(page["total"], 2);
  const nlohmann::json orders = GetJson(*server, "/streaming/channelsz?channel=orders.eu");
  EXPECT_EQ(orders["msgs"], 3);
  EXPECT_EQ(orders["bytes"].get<int64_t>() > 0, true);
  EXPECT_EQ(orders["first_seq"], 1);
  EXPECT_EQ(orders["last_seq"], 3);
  EXPECT_EQ(orders["subs_count"], 2);
  EXPECT_FALSE(orders.contains("subscriptions"));
  const nlohmann::json detail = GetJson(*server, "/streaming/channelsz?subs=1");
  ASSERT_EQ(detail["channels"].size(), 2u);
  const nlohmann::json& audit = detail["channels"][0];
  EXPECT_EQ(audit["name"], "audit");
  EXPECT_EQ(audit["subs_count"], 2);
  bool offline_seen = false;
  for (const nlohmann::json& sub : audit["subscriptions"]) {
    if (sub.value("durable_name", "") != "keep") continue;
    offline_seen = true;
    EXPECT_EQ(sub["is_offline"], true);
    EXPECT_EQ(sub["client_id"], "beta");
    EXPECT_EQ(sub["last_sent"], 2);
  }
  EXPECT_TRUE(offline_seen) << audit.dump();
  EXPECT_EQ(HttpGet(server->monitor_port(), "/streaming/channelsz?channel=nope").status, 404);

  const HttpResult jsonp = HttpGet(server->monitor_port(), "/streaming/serverz?callback=show");
  EXPECT_EQ(jsonp.body.rfind("show(", 0), 0u) << jsonp.body;
  EXPECT_EQ(HttpGet(server->monitor_port(), "/streaming/isFTActive").status, 204);

  const std::string metrics = HttpGet(server->monitor_port(), "/metrics").body;
  EXPECT_NE(metrics.find("tern_stan_clients 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tern_stan_channel_messages{channel=\"orders.eu\"} 3\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("tern_stan_channel_subscriptions{channel=\"audit\"} 2\n"),
            std::string::npos)
      << metrics;
}

TEST(StanMonitor, NoStreamingNoEndpoints) {
  auto server = ServerProcess::Start({"-m", "-1"});
  ASSERT_TRUE(server);
  EXPECT_EQ(HttpGet(server->monitor_port(), "/streaming/serverz").status, 404);
  EXPECT_EQ(HttpGet(server->monitor_port(), "/metrics").body.find("tern_stan_"), std::string::npos);
}

}  // namespace
}  // namespace tern::e2e
