// The HTTP monitoring endpoints and /metrics of a running server, read field by field as
// nats-server's monitoring users (dashboards, the Prometheus NATS exporter) read them.
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using nlohmann::json;

json GetJson(const ServerProcess& server, const std::string& target, int expected_status = 200) {
  const HttpResult r = HttpGet(server.monitor_port(), target);
  EXPECT_EQ(r.status, expected_status) << target << ": " << r.body;
  EXPECT_NE(r.headers.find("application/json"), std::string::npos) << r.headers;
  return json::parse(r.body, nullptr, false);
}

// Prometheus text: "name{labels} value" lines into a map keyed by "name{labels}".
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

void ExpectFields(const json& object, const std::vector<const char*>& fields) {
  for (const char* field : fields) EXPECT_TRUE(object.contains(field)) << "missing " << field;
}

// Waits until an endpoint's figure reaches a value (counters are published by the
// shards without locks, so they may lag a moment).
template <typename Fn>
bool Eventually(Fn&& fn) {
  for (int i = 0; i < 100; ++i) {
    if (fn()) return true;
    usleep(20000);
  }
  return false;
}

void PublishSome(natsConnection* nc, const char* subject, int count, const std::string& payload) {
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(natsConnection_Publish(nc, subject, payload.data(), static_cast<int>(payload.size())),
              NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(nc), NATS_OK);
}

TEST(Monitor, VarzHasNatsServersFieldsAndCountsTraffic) {
  auto server = ServerProcess::Start({"-m", "-1", "-n", "mon-1"});
  ASSERT_GT(server->monitor_port(), 0);
  auto sub_conn = Connect(*server);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, sub_conn->nc, "v.>"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  auto pub_conn = Connect(*server);
  PublishSome(pub_conn->nc, "v.one", 10, "hello");  // 5 bytes each
  json v;
  ASSERT_TRUE(Eventually([&] {
    v = GetJson(*server, "/varz");
    return v["out_msgs"] == 10;
  })) << v.dump();
  ExpectFields(v, {"server_id",
                   "server_name",
                   "version",
                   "proto",
                   "git_commit",
                   "go",
                   "host",
                   "port",
                   "auth_required",
                   "tls_required",
                   "tls_verify",
                   "connect_urls",
                   "max_connections",
                   "ping_interval",
                   "ping_max",
                   "http_host",
                   "http_port",
                   "http_base_path",
                   "https_port",
                   "auth_timeout",
                   "max_control_line",
                   "max_payload",
                   "max_pending",
                   "cluster",
                   "gateway",
                   "leaf",
                   "mqtt",
                   "websocket",
                   "jetstream",
                   "tls_timeout",
                   "write_deadline",
                   "start",
                   "now",
                   "uptime",
                   "mem",
                   "cores",
                   "gomaxprocs",
                   "cpu",
                   "connections",
                   "total_connections",
                   "routes",
                   "remotes",
                   "leafnodes",
                   "in_msgs",
                   "out_msgs",
                   "in_bytes",
                   "out_bytes",
                   "slow_consumers",
                   "subscriptions",
                   "http_req_stats",
                   "config_load_time",
                   "system_account"});
  EXPECT_EQ(v["server_name"], "mon-1");
  EXPECT_EQ(v["port"], server->port());
  EXPECT_EQ(v["http_port"], server->monitor_port());
  EXPECT_EQ(v["max_payload"], 1 << 20);
  EXPECT_EQ(v["ping_interval"], int64_t{120} * 1'000'000'000);  // nanoseconds, as nats
  EXPECT_EQ(v["connections"], 2);
  EXPECT_GE(v["total_connections"], 2);
  EXPECT_EQ(v["in_msgs"], 10);
  EXPECT_EQ(v["in_bytes"], 50);
  EXPECT_EQ(v["out_bytes"], 50);
  EXPECT_GE(v["subscriptions"], 1);
  EXPECT_GT(v["mem"], 0);
  EXPECT_TRUE(v["uptime"].is_string());
  EXPECT_EQ(v["start"].get<std::string>().back(), 'Z');
  EXPECT_GE(v["http_req_stats"]["/varz"], 1);
  EXPECT_TRUE(v["jetstream"].is_object());
  EXPECT_FALSE(v["jetstream"].contains("config"));  // JetStream is off in this server
  natsSubscription_Destroy(sub);
}

TEST(Monitor, ConnzListsSortsPagesAndRemembersClosedConnections) {
  auto server = ServerProcess::Start({"-m", "-1"});
  natsOptions* named = nullptr;
  natsOptions_Create(&named);
  natsOptions_SetName(named, "busy-publisher");
  auto publisher = Connect(*server, false, named);
  auto subscriber = Connect(*server);
  natsSubscription *a = nullptr, *b = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&a, subscriber->nc, "c.a"), NATS_OK);
  ASSERT_EQ(natsConnection_QueueSubscribeSync(&b, subscriber->nc, "c.*", "workers"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(subscriber->nc), NATS_OK);
  PublishSome(publisher->nc, "c.a", 7, "x");

  json c;
  ASSERT_TRUE(Eventually([&] {
    c = GetJson(*server, "/connz?sort=msgs_from&subs=1");
    // Deliveries cross shards: wait until the subscriber's side is counted too.
    return c["num_connections"] == 2 && c["connections"][0]["in_msgs"] == 7 &&
           c["connections"][1]["out_msgs"] == 14;
  })) << c.dump();
  ExpectFields(c,
               {"server_id", "now", "num_connections", "total", "offset", "limit", "connections"});
  EXPECT_EQ(c["limit"], 1024);
  const json& top = c["connections"][0];
  ExpectFields(top, {"cid", "kind", "type", "ip", "port", "start", "last_activity", "rtt", "uptime",
                     "idle", "pending_bytes", "in_msgs", "out_msgs", "in_bytes", "out_bytes",
                     "subscriptions", "name", "lang", "version"});
  EXPECT_EQ(top["name"], "busy-publisher");
  EXPECT_EQ(top["lang"], "C");
  EXPECT_EQ(top["ip"], "127.0.0.1");
  EXPECT_EQ(top["in_bytes"], 7);
  const json& other = c["connections"][1];
  EXPECT_EQ(other["subscriptions"], 2);
  EXPECT_EQ(other["out_msgs"], 14);  // both subscriptions match c.a
  ASSERT_TRUE(other["subscriptions_list"].is_array());
  EXPECT_EQ(other["subscriptions_list"].size(), 2u);

  // Detail, a single cid, paging.
  const uint64_t sub_cid = other["cid"];
  json d = GetJson(*server, "/connz?subs=detail&cid=" + std::to_string(sub_cid));
  ASSERT_EQ(d["connections"].size(), 1u);
  bool saw_queue = false;
  for (const json& s : d["connections"][0]["subscriptions_list_detail"]) {
    ExpectFields(s, {"account", "subject", "sid", "msgs", "cid"});
    if (s.contains("qgroup")) {
      saw_queue = true;
      EXPECT_EQ(s["qgroup"], "workers");
      EXPECT_EQ(s["msgs"], 7);
    }
  }
  EXPECT_TRUE(saw_queue) << d.dump();
  json page = GetJson(*server, "/connz?sort=cid&offset=1&limit=1");
  EXPECT_EQ(page["num_connections"], 1);
  EXPECT_EQ(page["total"], 2);
  EXPECT_EQ(page["offset"], 1);
  // Sorted by cid, the second page of one is the higher of the two cids.
  EXPECT_EQ(page["connections"][0]["cid"], std::max(c["connections"][0]["cid"].get<uint64_t>(),
                                                    c["connections"][1]["cid"].get<uint64_t>()));

  // Bad input is a 400, not a crash.
  EXPECT_EQ(HttpGet(server->monitor_port(), "/connz?sort=nonsense").status, 400);
  EXPECT_EQ(HttpGet(server->monitor_port(), "/connz?limit=-3").status, 400);
  EXPECT_EQ(HttpGet(server->monitor_port(), "/connz?state=sleepy").status, 400);

  // A closed connection is remembered with its reason.
  const uint64_t publisher_cid = top["cid"];
  publisher.reset();
  json closed;
  ASSERT_TRUE(Eventually([&] {
    closed = GetJson(*server, "/connz?state=closed");
    return closed["num_connections"] == 1;
  })) << closed.dump();
  EXPECT_EQ(closed["connections"][0]["cid"], publisher_cid);
  EXPECT_EQ(closed["connections"][0]["reason"], "Client Closed");
  EXPECT_TRUE(closed["connections"][0].contains("stop"));
  EXPECT_EQ(GetJson(*server, "/connz?state=any")["total"], 2);
  EXPECT_EQ(GetJson(*server, "/connz")["total"], 1);
  natsSubscription_Destroy(a);
  natsSubscription_Destroy(b);
}

TEST(Monitor, SubszCountsAndTestsASubject) {
  auto server = ServerProcess::Start({"-m", "-1"});
  auto conn = Connect(*server);
  std::vector<natsSubscription*> subs(4);
  const char* subjects[] = {"s.one", "s.*", "s.>", "t.one"};
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(natsConnection_SubscribeSync(&subs[i], conn->nc, subjects[i]), NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(conn->nc), NATS_OK);
  PublishSome(conn->nc, "s.one", 3, "y");
  json s;
  ASSERT_TRUE(Eventually([&] {
    s = GetJson(*server, "/subsz");
    return s["num_matches"] >= 3;
  })) << s.dump();
  ExpectFields(
      s, {"server_id", "now", "num_subscriptions", "num_cache", "num_inserts", "num_removes",
          "num_matches", "cache_hit_rate", "max_fanout", "avg_fanout", "total", "offset", "limit"});
  EXPECT_EQ(s["num_subscriptions"], 4);
  EXPECT_GE(s["num_inserts"], 4);
  EXPECT_GE(s["max_fanout"], 1);
  EXPECT_FALSE(s.contains("subscriptions_list"));

  json t = GetJson(*server, "/subsz?test=s.one");
  std::vector<std::string> matched;
  for (const json& d : t["subscriptions_list"]) matched.push_back(d["subject"]);
  std::sort(matched.begin(), matched.end());
  EXPECT_EQ(matched, (std::vector<std::string>{"s.*", "s.>", "s.one"})) << t.dump();
  EXPECT_EQ(GetJson(*server, "/subscriptionsz?subs=1")["total"], 4);  // the alias
  EXPECT_EQ(HttpGet(server->monitor_port(), "/subsz?test=s.*").status, 400);

  natsSubscription_Unsubscribe(subs[3]);
  ASSERT_EQ(natsConnection_Flush(conn->nc), NATS_OK);
  ASSERT_TRUE(Eventually([&] { return GetJson(*server, "/subsz")["num_removes"] == 1; }));
  for (auto* sub : subs) natsSubscription_Destroy(sub);
}

TEST(Monitor, RoutezAccountzHealthzIndexAndErrors) {
  auto server = ServerProcess::Start({"-m", "-1"});
  json r = GetJson(*server, "/routez");
  EXPECT_EQ(r["num_routes"], 0);
  EXPECT_TRUE(r["routes"].is_array());
  json a = GetJson(*server, "/accountz");
  EXPECT_NE(std::find(a["accounts"].begin(), a["accounts"].end(), "$G"), a["accounts"].end());
  EXPECT_EQ(GetJson(*server, "/accountz?acc=$G")["account_detail"]["account_name"], "$G");
  GetJson(*server, "/accountz?acc=nobody", 404);
  json h = GetJson(*server, "/healthz");
  EXPECT_EQ(h, json({{"status", "ok"}}));
  const HttpResult index = HttpGet(server->monitor_port(), "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("varz"), std::string::npos);
  EXPECT_EQ(HttpGet(server->monitor_port(), "/nope").status, 404);
  // JSONP, as nats-server offers it.
  const HttpResult jsonp = HttpGet(server->monitor_port(), "/healthz?callback=cb");
  EXPECT_EQ(jsonp.body.rfind("cb(", 0), 0u) << jsonp.body;
  // A malformed request line gets a 400 and the server stays up.
  RawConn raw(server->monitor_port(), false);
  raw.Send("NONSENSE\r\n\r\n");
  EXPECT_NE(raw.ReadFor(1000).find("400"), std::string::npos);
  EXPECT_EQ(HttpGet(server->monitor_port(), "/healthz").status, 200);
}

class MonitorJs : public JsFixture {};

TEST_F(MonitorJs, JszAndMetricsShowStreamsConsumersAndSyncs) {
  // JsFixture's server has no monitoring port: start one that has.
  jsCtx_Destroy(js_);
  js_ = nullptr;
  conn_.reset();
  server_ = ServerProcess::Start({"-js", "-sd", store_, "-m", "-1"});
  conn_ = Connect(*server_);
  ASSERT_EQ(natsConnection_JetStream(&js_, conn_->nc, nullptr), NATS_OK);
  AddStream(js_, "ORDERS", {"orders.>"});
  for (int i = 0; i < 5; ++i) PublishOk(js_, "orders.new", "payload-" + std::to_string(i));
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "audit";
  cc.AckPolicy = js_AckExplicit;
  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_AddConsumer(&ci, js_, "ORDERS", &cc, nullptr, nullptr), NATS_OK);
  jsConsumerInfo_Destroy(ci);

  json j;
  ASSERT_TRUE(Eventually([&] {
    j = GetJson(*server_, "/jsz");
    return j["messages"] == 5 && j["consumers"] == 1;
  })) << j.dump();
  ExpectFields(
      j, {"server_id", "now", "config", "memory", "storage", "reserved_memory", "reserved_storage",
          "accounts", "ha_assets", "api", "streams", "consumers", "messages", "bytes"});
  EXPECT_EQ(j["streams"], 1);
  EXPECT_GT(j["storage"], 0);
  EXPECT_GT(j["api"]["total"], 0);
  EXPECT_NE(j["config"]["store_dir"].get<std::string>().find(store_), std::string::npos);

  json detail = GetJson(*server_, "/jsz?consumers=true&config=true");
  const json& stream = detail["account_details"][0]["stream_detail"][0];
  EXPECT_EQ(stream["name"], "ORDERS");
  EXPECT_EQ(stream["state"]["messages"], 5);
  EXPECT_EQ(stream["config"]["subjects"][0], "orders.>");
  EXPECT_EQ(stream["consumer_detail"][0]["name"], "audit");
  EXPECT_EQ(stream["consumer_detail"][0]["num_pending"], 5);

  json varz = GetJson(*server_, "/varz");
  EXPECT_TRUE(varz["jetstream"]["config"].contains("store_dir"));
  EXPECT_TRUE(varz["jetstream"]["stats"].contains("api"));

  const HttpResult m = HttpGet(server_->monitor_port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos);
  auto samples = ParseMetrics(m.body);
  EXPECT_EQ(samples["tern_jetstream_streams"], 1);
  EXPECT_EQ(samples["tern_jetstream_consumers"], 1);
  EXPECT_EQ(samples["tern_jetstream_messages"], 5);
  EXPECT_GE(samples["tern_messages_received_total"], 5);
  EXPECT_EQ(samples["tern_connections"], 1);
  // Every PubAck waited for an fdatasync: the histogram saw them, buckets cumulative.
  const double count = samples["tern_jetstream_sync_seconds_count"];
  EXPECT_GE(count, 1);
  EXPECT_EQ(samples["tern_jetstream_sync_seconds_bucket{le=\"+Inf\"}"], count);
  EXPECT_LE(samples["tern_jetstream_sync_seconds_bucket{le=\"0.0001\"}"],
            samples["tern_jetstream_sync_seconds_bucket{le=\"1\"}"]);
  EXPECT_TRUE(samples.count("tern_shard_loop_utilization{shard=\"0\"}"));
  EXPECT_TRUE(samples.count("tern_shard_busy_seconds_total{shard=\"0\"}"));
}

bool ShapeFits(const json& expected, const json& actual) {
  if (expected.is_null()) return true;
  if (expected.is_number() ? !actual.is_number() : expected.type() != actual.type()) return false;
  if (expected.is_object()) {
    for (const auto& [key, value] : expected.items()) {
      if (!actual.contains(key) || !ShapeFits(value, actual[key])) return false;
    }
  }
  return true;
}

// Every field nats-server's monitoring JSON has (recursively, with its JSON type), Tern's
// has too: where `expected` has an object, `actual` has one with at least those keys.
void ExpectSameShape(const json& expected, const json& actual, const std::string& path) {
  auto kind = [](const json& j) {
    return j.is_number() ? std::string("number") : std::string(j.type_name());
  };
  if (kind(expected) != kind(actual) && !expected.is_null()) {
    ADD_FAILURE() << path << ": nats-server has " << kind(expected) << ", Tern has "
                  << kind(actual);
    return;
  }
  if (expected.is_object()) {
    for (const auto& [key, value] : expected.items()) {
      if (!actual.contains(key)) {
        ADD_FAILURE() << path << "." << key << " is missing";
        continue;
      }
      ExpectSameShape(value, actual[key], path + "." + key);
    }
  } else if (expected.is_array() && !expected.empty() && !actual.empty()) {
    // Elements may differ in shape (a queue subscription has "qgroup") and order: each
    // element nats-server lists must fit some element Tern lists.
    for (std::size_t i = 0; i < expected.size(); ++i) {
      bool fits = false;
      for (const json& candidate : actual) fits = fits || ShapeFits(expected[i], candidate);
      if (!fits) ExpectSameShape(expected[i], actual[0], path + "[" + std::to_string(i) + "]");
    }
  }
}

// The same traffic on both servers: a named client with a plain and a queue subscription,
// a stream with a durable consumer. Kept open while the endpoints are compared.
struct Traffic {
  std::unique_ptr<NatsConn> conn;
  natsSubscription* plain = nullptr;
  natsSubscription* queue = nullptr;
  ~Traffic() {
    natsSubscription_Destroy(plain);
    natsSubscription_Destroy(queue);
  }
};

void DriveTraffic(const ServerProcess& server, Traffic* traffic) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetName(opts, "shape");
  traffic->conn = Connect(server, false, opts);
  natsConnection* nc = traffic->conn->nc;
  ASSERT_EQ(natsConnection_SubscribeSync(&traffic->plain, nc, "shape.a"), NATS_OK);
  ASSERT_EQ(natsConnection_QueueSubscribeSync(&traffic->queue, nc, "shape.*", "q"), NATS_OK);
  PublishSome(nc, "shape.a", 3, "abc");
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
  AddStream(js, "SHAPE", {"shaped.>"});
  PublishOk(js, "shaped.x", "1");
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "dur";
  cc.AckPolicy = js_AckExplicit;
  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_AddConsumer(&ci, js, "SHAPE", &cc, nullptr, nullptr), NATS_OK);
  jsConsumerInfo_Destroy(ci);
  jsCtx_Destroy(js);
}

TEST(Monitor, SameJsonShapeAsNatsServer) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  const std::string tern_store = MakeStoreDir();
  const std::string nats_store = MakeStoreDir();
  auto tern = ServerProcess::Start({"-m", "-1", "-js", "-sd", tern_store});
  auto nats = ServerProcess::Start({"-m", "-1", "-js", "-sd", nats_store}, NatsServerPath());
  ASSERT_GT(nats->monitor_port(), 0);
  Traffic tern_traffic, nats_traffic;
  DriveTraffic(*tern, &tern_traffic);
  DriveTraffic(*nats, &nats_traffic);
  usleep(300000);  // figures published by the shards, and nats-server's own
  for (const char* target :
       {"/varz", "/connz?subs=detail", "/connz?subs=1", "/subsz?subs=1", "/routez",
        "/jsz?consumers=1&config=1", "/healthz", "/accountz", "/accountz?acc=$G"}) {
    SCOPED_TRACE(target);
    const HttpResult expected = HttpGet(nats->monitor_port(), target);
    const HttpResult actual = HttpGet(tern->monitor_port(), target);
    ASSERT_EQ(expected.status, 200) << expected.body;
    ASSERT_EQ(actual.status, 200) << actual.body;
    ExpectSameShape(json::parse(expected.body), json::parse(actual.body), target);
  }
}

// A full disk: publishes are refused with 10077, /healthz turns 503 and names the
// problem, and both recover once space is freed. Needs a small tmpfs (root).
TEST(Monitor, HealthzReportsAStoreThatCannotWrite) {
  const std::string store = MakeStoreDir() + "/tiny";
  mkdir(store.c_str(), 0755);
  if (mount("tmpfs", store.c_str(), "tmpfs", 0, "size=20m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(errno);
  }
  struct Unmount {  // also when an assertion ends the test early
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{store};
  {
    auto server = ServerProcess::Start({"-js", "-sd", store, "-m", "-1"});
    auto conn = Connect(*server);
    jsCtx* js = nullptr;
    ASSERT_EQ(natsConnection_JetStream(&js, conn->nc, nullptr), NATS_OK);
    AddStream(js, "FILL", {"fill"});
    // 64 KiB messages: the store fills after some 300 publishes, each waiting for its ack.
    const std::string payload(64 * 1024, 'f');
    jsErrCode code = static_cast<jsErrCode>(0);
    int published = 0;
    for (; published < 4000; ++published) {
      natsStatus s =
          js_Publish(nullptr, js, "fill", payload.data(), payload.size(), nullptr, &code);
      if (s != NATS_OK) break;
    }
    EXPECT_LT(published, 4000) << "the 20 MiB store never filled";
    EXPECT_EQ(code, 10077);
    json h = GetJson(*server, "/healthz", 503);
    EXPECT_EQ(h["status"], "unavailable");
    EXPECT_NE(h["error"].get<std::string>().find("cannot write"), std::string::npos) << h.dump();

    ASSERT_EQ(js_PurgeStream(js, "FILL", nullptr, nullptr), NATS_OK);
    EXPECT_GT(PublishOk(js, "fill", "after"), 0u);
    EXPECT_EQ(GetJson(*server, "/healthz")["status"], "ok");
    jsCtx_Destroy(js);
  }
}

TEST(Monitor, JszSaysDisabledWithoutJetStream) {
  auto server = ServerProcess::Start({"-m", "-1"});
  EXPECT_EQ(GetJson(*server, "/jsz")["disabled"], true);
}

}  // namespace
}  // namespace tern::e2e
