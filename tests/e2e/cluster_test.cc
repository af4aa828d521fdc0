// Clusters through the route protocol: Tern nodes with each other and with Debian's
// nats-server 2.9 in the same cluster, through libnats clients on different nodes, and raw
// sockets on the cluster port where the bytes matter (docs/CLUSTERING.md).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "certificates.h"
#include "cluster_util.h"
#include "harness.h"

namespace tern::e2e {
namespace {

using Clock = std::chrono::steady_clock;

// Both nodes' clients see each other's messages: plain and wildcard subscribers in order
// and once, queue groups spread over the nodes exactly once, request/reply, headers, and
// no-responders only when no node has a responder.
void ExpectClusterWorks(const ServerProcess& a, const ServerProcess& b) {
  auto on_a = Connect(a);
  auto on_b = Connect(b);
  for (auto [pub, sub] : {std::pair{on_a.get(), on_b.get()}, std::pair{on_b.get(), on_a.get()}}) {
    natsSubscription* plain = SubSync(sub->nc, "orders.new");
    natsSubscription* wildcard = SubSync(sub->nc, "orders.*");
    natsSubscription* full = SubSync(sub->nc, "orders.>");
    AwaitRoute(pub->nc, sub->nc);
    constexpr int kMessages = 300;
    for (int i = 0; i < kMessages; ++i) {
      ASSERT_EQ(natsConnection_PublishString(pub->nc, "orders.new", std::to_string(i).c_str()),
                NATS_OK);
    }
    ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
    for (natsSubscription* s : {plain, wildcard, full}) {
      const std::vector<std::string> got = Receive({s}, kMessages)[0];
      ASSERT_EQ(got.size(), static_cast<std::size_t>(kMessages));
      for (int i = 0; i < kMessages; ++i) EXPECT_EQ(got[i], std::to_string(i)) << "order kept";
      natsSubscription_Destroy(s);
    }
  }

  // A queue group with members on both nodes: each message exactly once.
  natsSubscription* qa1 = SubSync(on_a->nc, "work", "workers");
  natsSubscription* qa2 = SubSync(on_a->nc, "work", "workers");
  natsSubscription* qb = SubSync(on_b->nc, "work", "workers");
  AwaitRoute(on_a->nc, on_b->nc);
  AwaitRoute(on_b->nc, on_a->nc);
  constexpr int kJobs = 400;
  for (int i = 0; i < kJobs; ++i) {
    natsConnection* pub = i % 2 == 0 ? on_a->nc : on_b->nc;
    ASSERT_EQ(natsConnection_PublishString(pub, "work", std::to_string(i).c_str()), NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(on_a->nc), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(on_b->nc), NATS_OK);
  const auto per_member = Receive({qa1, qa2, qb}, kJobs);
  std::vector<std::string> all;
  for (const auto& got : per_member) all.insert(all.end(), got.begin(), got.end());
  const std::size_t on_node_b = per_member[2].size();
  for (natsSubscription* s : {qa1, qa2, qb}) natsSubscription_Destroy(s);
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<std::size_t>(kJobs))
      << "a job reached two members";
  EXPECT_GT(on_node_b, 0u) << "the member on the other node never got a job";

  // Request/reply with headers across the route.
  natsSubscription* service = nullptr;
  ASSERT_EQ(natsConnection_Subscribe(
                &service, on_b->nc, "svc.echo",
                [](natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
                  natsMsg* reply = nullptr;
                  natsMsg_Create(&reply, natsMsg_GetReply(msg), nullptr, "", 0);
                  const char* value = nullptr;
                  natsMsgHeader_Get(msg, "X-Id", &value);
                  natsMsgHeader_Set(reply, "X-Echo", value != nullptr ? value : "none");
                  const std::string body = "re:" + Payload(msg);
                  natsMsg_Destroy(reply);
                  natsMsg_Create(&reply, natsMsg_GetReply(msg), nullptr, body.c_str(),
                                 static_cast<int>(body.size()));
                  natsMsgHeader_Set(reply, "X-Echo", value != nullptr ? value : "none");
                  natsConnection_PublishMsg(nc, reply);
                  natsMsg_Destroy(reply);
                  natsMsg_Destroy(msg);
                },
                nullptr),
            NATS_OK);
  AwaitRoute(on_a->nc, on_b->nc);
  for (int i = 0; i < 20; ++i) {
    natsMsg* request = nullptr;
    const std::string body = "q" + std::to_string(i);
    natsMsg_Create(&request, "svc.echo", nullptr, body.c_str(), static_cast<int>(body.size()));
    natsMsgHeader_Set(request, "X-Id", std::to_string(i).c_str());
    natsMsg* reply = nullptr;
    ASSERT_EQ(natsConnection_RequestMsg(&reply, on_a->nc, request, 3000), NATS_OK);
    EXPECT_EQ(Payload(reply), "re:" + body);
    const char* echo = nullptr;
    ASSERT_EQ(natsMsgHeader_Get(reply, "X-Echo", &echo), NATS_OK);
    EXPECT_STREQ(echo, std::to_string(i).c_str());
    natsMsg_Destroy(reply);
    natsMsg_Destroy(request);
  }
  natsSubscription_Unsubscribe(service);
  natsSubscription_Destroy(service);
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&reply, on_a->nc, "svc.nobody", "x", 3000),
            NATS_NO_RESPONDERS);
}

TEST(Cluster, TwoTernNodes) {
  auto a = StartNode(false, "A", {});
  auto b = StartNode(false, "B", {a->route_url()});
  ExpectClusterWorks(*a, *b);
}

TEST(Cluster, TernWithNatsServer) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  // Tern dials nats-server, and nats-server dials Tern.
  auto hub = StartNode(true, "N1", {});
  auto tern = StartNode(false, "T1", {hub->route_url()});
  ExpectClusterWorks(*hub, *tern);
  auto tern_hub = StartNode(false, "T2", {});
  auto nats = StartNode(true, "N2", {tern_hub->route_url()});
  ExpectClusterWorks(*nats, *tern_hub);
}

TEST(Cluster, GossipJoinsNodesConfiguredWithOneSeed) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  // Both Tern nodes know only the nats-server seed; they learn of each other from it, and
  // connect directly (a route never forwards what came in on another route).
  auto seed = StartNode(true, "N1", {});
  auto t1 = StartNode(false, "T1", {seed->route_url()});
  auto t2 = StartNode(false, "T2", {seed->route_url()});
  ExpectClusterWorks(*t1, *t2);
}

// A client of one node learns the others (INFO connect_urls, pushed as nodes join), and
// when its node dies it reconnects to another by itself, its subscriptions working there.
void ExpectDiscoveryAndFailover(bool first_is_nats) {
  auto a = StartNode(first_is_nats, "A", {});
  auto b = StartNode(false, "B", {a->route_url()});
  natsOptions* opts = nullptr;
  ASSERT_EQ(natsOptions_Create(&opts), NATS_OK);
  natsOptions_SetURL(opts, b->url().c_str());
  natsOptions_SetMaxReconnect(opts, 60);
  natsOptions_SetReconnectWait(opts, 100);
  natsConnection* nc = nullptr;
  ASSERT_EQ(natsConnection_Connect(&nc, opts), NATS_OK);
  natsOptions_Destroy(opts);
  const std::string a_url = "nats://127.0.0.1:" + std::to_string(a->port());
  bool discovered = false;
  for (int i = 0; i < 200 && !discovered; ++i) {
    char** servers = nullptr;
    int count = 0;
    if (natsConnection_GetDiscoveredServers(nc, &servers, &count) == NATS_OK) {
      for (int s = 0; s < count; ++s) {
        discovered |= servers[s] == a_url;
        free(servers[s]);
      }
      free(servers);
    }
    if (!discovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(discovered) << "the client never learned " << a_url;
  natsSubscription* sub = SubSync(nc, "after.failover");
  ASSERT_EQ(natsConnection_Flush(nc), NATS_OK);

  EXPECT_EQ(b->Stop(SIGKILL), -1);  // killed, not exited
  auto on_a = Connect(*a);
  bool delivered = false;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!delivered && Clock::now() < deadline) {
    natsConnection_PublishString(on_a->nc, "after.failover", "x");
    natsConnection_Flush(on_a->nc);
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, sub, 100) == NATS_OK) {
      natsMsg_Destroy(msg);
      delivered = true;
    }
  }
  EXPECT_TRUE(delivered) << "the client did not resume on the surviving node";
  char url[256] = {0};
  if (natsConnection_GetConnectedUrl(nc, url, sizeof url) == NATS_OK) {
    EXPECT_EQ(url, a_url);
  }
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
}

TEST(Cluster, ClientsDiscoverNodesAndFailOver) { ExpectDiscoveryAndFailover(false); }

TEST(Cluster, ClientsOfTernDiscoverNatsServerAndFailOver) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectDiscoveryAndFailover(true);
}

TEST(Cluster, ClientInfoNamesTheClusterAndTheOtherNodes) {
  auto a = StartNode(false, "A", {});
  RawConn alone(a->port());
  EXPECT_NE(alone.info().find("\"cluster\":\"C1\""), std::string::npos) << alone.info();
  EXPECT_EQ(alone.info().find("connect_urls"), std::string::npos)
      << "no other node yet: " << alone.info();
  // A client with protocol 1 hears of a new node once it has had its first PONG.
  RawConn client(a->port());
  client.Send("CONNECT {\"protocol\":1,\"verbose\":false}\r\nPING\r\n");
  EXPECT_NE(client.ReadUntil("PONG").find("PONG"), std::string::npos);
  auto b = StartNode(false, "B", {a->route_url()});
  const std::string b_url = "127.0.0.1:" + std::to_string(b->port());
  EXPECT_NE(client.ReadUntil(b_url, 10000).find(b_url), std::string::npos);
}

// /routez and /varz describe the cluster with nats-server's shape: the same keys for a
// route (and remote_name, which 2.10 added), the route's subscriptions with subs=1, and
// the cluster block and route count in /varz.
TEST(Cluster, RoutezAndVarzHaveNatsServersShape) {
  auto shape_of = [](bool nats) {
    auto a = StartNode(nats, "A", {}, {"-m", "-1"});
    auto b = StartNode(false, "B", {a->route_url()});
    auto on_b = Connect(*b);
    natsSubscription* sub = SubSync(on_b->nc, "watched.subject");
    EXPECT_EQ(natsConnection_Flush(on_b->nc), NATS_OK);
    nlohmann::json routez;
    for (int i = 0; i < 200; ++i) {
      routez = nlohmann::json::parse(HttpGet(a->monitor_port(), "/routez?subs=1").body);
      const std::string text = routez.dump();
      if (routez["num_routes"] == 1 && text.find("watched.subject") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    natsSubscription_Destroy(sub);
    EXPECT_EQ(routez["num_routes"], 1) << routez.dump();
    const nlohmann::json route = routez["routes"][0];
    EXPECT_EQ(route["did_solicit"], false) << "B dialled A";
    EXPECT_EQ(route["is_configured"], false);
    const auto& list = route["subscriptions_list"];
    EXPECT_NE(std::find(list.begin(), list.end(), "watched.subject"), list.end()) << route.dump();
    const nlohmann::json varz = nlohmann::json::parse(HttpGet(a->monitor_port(), "/varz").body);
    EXPECT_EQ(varz["routes"], 1);
    EXPECT_EQ(varz["cluster"]["name"], "C1");
    EXPECT_EQ(varz["cluster"]["cluster_port"], a->cluster_port());
    EXPECT_EQ(varz["cluster"]["auth_timeout"].dump(), "2") << "a float64 in Go's form";
    // connect_urls: what clients are told, both nodes.
    const std::vector<std::string> urls = varz["connect_urls"];
    for (const ServerProcess* node : {a.get(), b.get()}) {
      const std::string url = "127.0.0.1:" + std::to_string(node->port());
      EXPECT_NE(std::find(urls.begin(), urls.end(), url), urls.end()) << varz["connect_urls"];
    }
    std::set<std::string> keys;
    for (const auto& [key, value] : route.items()) keys.insert(key);
    return keys;
  };
  const std::set<std::string> tern = shape_of(false);
  for (const char* key : {"rid", "remote_id", "remote_name", "did_solicit", "is_configured", "ip",
                          "port", "rtt", "pending_size", "in_msgs", "out_msgs", "in_bytes",
                          "out_bytes", "subscriptions", "subscriptions_list"}) {
    EXPECT_TRUE(tern.count(key)) << key;
  }
  if (NatsServerPath().empty()) return;
  for (const std::string& key : shape_of(true)) EXPECT_TRUE(tern.count(key)) << key;
}

// A node in lame duck mode tells its peers (INFO ldm on the route); they stop sending
// their clients there (a new client INFO without its URL), nats-server peers as well.
void ExpectLameDuckReachesPeers(bool peer_is_nats) {
  auto going = StartNode(false, "GOING", {});
  auto staying = StartNode(peer_is_nats, "STAYING", {going->route_url()});
  const std::string going_url = "127.0.0.1:" + std::to_string(going->port());
  RawConn client(staying->port());
  client.Send("CONNECT {\"protocol\":1,\"verbose\":false}\r\nPING\r\n");
  std::string seen = client.ReadUntil("PONG");
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while ((client.info() + seen).find(going_url) == std::string::npos && Clock::now() < deadline) {
    seen += client.ReadFor(100);
  }
  ASSERT_NE((client.info() + seen).find(going_url), std::string::npos)
      << "the staying node never advertised the other one: " << seen;
  kill(going->pid(), SIGUSR2);
  // The next INFO the client gets leaves the lame duck out.
  std::string after;
  bool dropped = false;
  while (!dropped && Clock::now() < deadline + std::chrono::seconds(5)) {
    after += client.ReadFor(100);
    const auto info = after.rfind("INFO {");
    dropped = info != std::string::npos && after.find("\r\n", info) != std::string::npos &&
              after.find(going_url, info) == std::string::npos;
  }
  EXPECT_TRUE(dropped) << after;
}

// The node going into lame duck mode tells its own clients `ldm` with the other nodes
// only, so that they move there; the same bytes whether it is Tern or nats-server.
TEST(Cluster, LameDuckTellsItsClientsOfTheOtherNodesOnly) {
  for (bool going_is_nats : {false, true}) {
    if (going_is_nats && NatsServerPath().empty()) continue;
    auto going = StartNode(going_is_nats, "GOING", {});
    auto staying = StartNode(false, "STAYING", {going->route_url()});
    const std::string going_url = "127.0.0.1:" + std::to_string(going->port());
    const std::string staying_url = "127.0.0.1:" + std::to_string(staying->port());
    RawConn client(going->port());
    client.Send("CONNECT {\"protocol\":1,\"verbose\":false}\r\nPING\r\n");
    std::string seen = client.info() + client.ReadUntil("PONG");
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (seen.find(staying_url) == std::string::npos && Clock::now() < deadline) {
      seen += client.ReadFor(100);
    }
    ASSERT_NE(seen.find(staying_url), std::string::npos) << seen;
    kill(going->pid(), SIGUSR2);
    const std::string after = client.ReadUntil("\"ldm\":true", 5000);
    const auto at = after.rfind("INFO {");
    ASSERT_NE(at, std::string::npos) << after;
    const std::string info = after.substr(at, after.find("\r\n", at) - at);
    EXPECT_NE(info.find("\"ldm\":true"), std::string::npos) << info;
    EXPECT_NE(info.find(staying_url), std::string::npos) << info;
    EXPECT_EQ(info.find(going_url), std::string::npos)
        << (going_is_nats ? "nats: " : "tern: ") << info;
    going->Stop(SIGKILL);  // not the lame duck's whole duration
  }
}

TEST(Cluster, LameDuckReachesTernPeers) { ExpectLameDuckReachesPeers(false); }

TEST(Cluster, LameDuckReachesNatsServerPeers) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectLameDuckReachesPeers(true);
}

// A port for a node that must come back on it after a restart: free now, and outside the
// kernel's ephemeral range (32768 and up), where the other tests' servers (-p -1) and
// clients take theirs, so nobody else is handed it meanwhile.
// Three nodes, each configured with the routes to the other two, on fixed ports so that
// the victim comes back where the others look for it. Its SIGKILL and restart must leave
// every pair working with nothing lost or duplicated once the routes are back.
void ExpectThreeNodesSurviveAKill(const std::vector<bool>& nats, std::size_t victim) {
  const std::vector<int> routes = {FreePort(), FreePort(), FreePort()};
  const std::vector<int> clients = {FreePort(), FreePort(), FreePort()};
  auto url = [](int port) { return "nats://127.0.0.1:" + std::to_string(port); };
  auto start = [&](std::size_t i) {
    std::vector<std::string> peers;
    for (std::size_t j = 0; j < 3; ++j) {
      if (j != i) peers.push_back(url(routes[j]));
    }
    return StartNode(nats[i], "N" + std::to_string(i), peers,
                     {"--cluster", url(routes[i]), "-p", std::to_string(clients[i])});
  };
  std::vector<std::unique_ptr<ServerProcess>> nodes;
  for (std::size_t i = 0; i < 3; ++i) nodes.push_back(start(i));
  for (std::size_t i = 0; i < 3; ++i) {
    auto from = Connect(*nodes[i]);
    auto to = Connect(*nodes[(i + 1) % 3]);
    AwaitRoute(from->nc, to->nc);
  }
  EXPECT_EQ(nodes[victim]->Stop(SIGKILL), -1);
  nodes[victim] = start(victim);
  const std::size_t other = (victim + 1) % 3, third = (victim + 2) % 3;
  ExpectClusterWorks(*nodes[victim], *nodes[other]);
  ExpectClusterWorks(*nodes[third], *nodes[victim]);
}

TEST(Cluster, ThreeTernNodesSurviveAKill) {
  ExpectThreeNodesSurviveAKill({false, false, false}, 1);
}

TEST(Cluster, NatsTernTernSurviveAKill) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectThreeNodesSurviveAKill({true, false, false}, 2);
}

TEST(Cluster, NatsNatsTernSurviveAKillOfANatsServer) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectThreeNodesSurviveAKill({true, true, false}, 0);
}

// Accounts cross routes by name: a message stays in its account on every node.
TEST(Cluster, MessagesStayInTheirAccount) {
  const std::string config = WriteConfig(
      "accounts {\n  A { users [ { user: a, password: a } ] }\n"
      "  B { users [ { user: b, password: b } ] }\n}\n");
  for (bool peer_is_nats : {false, true}) {
    if (peer_is_nats && NatsServerPath().empty()) continue;
    auto one = StartNode(false, "ONE", {}, {"-c", config});
    auto two = StartNode(peer_is_nats, "TWO", {one->route_url()}, {"-c", config});
    auto login = [](const ServerProcess& server, const char* user) {
      natsOptions* opts = nullptr;
      natsOptions_Create(&opts);
      natsOptions_SetURL(opts, server.url().c_str());
      natsOptions_SetUserInfo(opts, user, user);
      std::unique_ptr<NatsConn> conn;
      EXPECT_EQ(TryConnect(server, opts, &conn), NATS_OK);
      return conn;
    };
    auto a_one = login(*one, "a");
    auto b_one = login(*one, "b");
    auto a_two = login(*two, "a");
    natsSubscription* a_sub = SubSync(a_one->nc, "shared.subject");
    natsSubscription* b_sub = SubSync(b_one->nc, "shared.subject");
    AwaitRoute(a_two->nc, a_one->nc);
    for (int i = 0; i < 50; ++i) {
      ASSERT_EQ(natsConnection_PublishString(a_two->nc, "shared.subject", "a"), NATS_OK);
    }
    ASSERT_EQ(natsConnection_Flush(a_two->nc), NATS_OK);
    EXPECT_EQ(Receive({a_sub}, 50)[0].size(), 50u);
    natsMsg* leaked = nullptr;
    EXPECT_NE(natsSubscription_NextMsg(&leaked, b_sub, 300), NATS_OK)
        << "a message crossed into account B";
    natsSubscription_Destroy(a_sub);
    natsSubscription_Destroy(b_sub);
  }
}

// Routes over TLS (cluster tls {} with verify: both ends present certificates the CA
// signed), TLS from the first byte as nats-server's routes: Tern with Tern and with
// nats-server, both dialling directions; a peer speaking plaintext to a TLS route port is
// dropped without a word in clear.
TEST(Cluster, TlsRoutes) {
  const Certificates certs;
  const std::string config = WriteConfig(
      "cluster {\n  tls {\n    cert_file: \"" + certs.server_cert + "\"\n    key_file: \"" +
      certs.server_key + "\"\n    ca_file: \"" + certs.ca + "\"\n    verify: true\n  }\n}\n");
  {
    auto a = StartNode(false, "A", {}, {"-c", config});
    auto b = StartNode(false, "B", {a->route_url()}, {"-c", config});
    ExpectClusterWorks(*a, *b);
    RawConn plain(a->cluster_port(), /*read_info=*/false);
    plain.Send("CONNECT {\"name\":\"NX\",\"cluster\":\"C1\"}\r\nINFO {\"server_id\":\"NX\"}\r\n");
    const std::string answer = plain.ReadFor(1000);
    EXPECT_EQ(answer.find("INFO"), std::string::npos) << "INFO in clear on a TLS route port";
    EXPECT_TRUE(plain.closed());
  }
  if (NatsServerPath().empty()) return;
  {
    auto nats = StartNode(true, "N", {}, {"-c", config});
    auto tern = StartNode(false, "T", {nats->route_url()}, {"-c", config});
    ExpectClusterWorks(*nats, *tern);
  }
  {
    auto tern = StartNode(false, "T", {}, {"-c", config});
    auto nats = StartNode(true, "N", {tern->route_url()}, {"-c", config});
    ExpectClusterWorks(*tern, *nats);
  }
}

// cluster permissions as nats-server applies them: `export` limits what peers may
// subscribe to here (their RS+ for a denied subject is ignored), `import` what this node
// asks peers for (no RS+ for a denied subject). The same expectations hold whether the
// node with the permissions is Tern or nats-server.
TEST(Cluster, RoutePermissionsImportAndExport) {
  const std::string config = WriteConfig(
      "cluster {\n  permissions {\n    import: { deny: [\"private.>\"] }\n"
      "    export: { deny: [\"secret.>\"] }\n  }\n}\n");
  for (bool guarded_is_nats : {false, true}) {
    if (guarded_is_nats && NatsServerPath().empty()) continue;
    auto guarded = StartNode(guarded_is_nats, "G", {}, {"-c", config});
    auto peer = StartNode(false, "P", {guarded->route_url()});
    auto on_guarded = Connect(*guarded);
    auto on_peer = Connect(*peer);
    // Both directions work for what the permissions allow.
    natsSubscription* open_there = SubSync(on_peer->nc, "open.x");
    natsSubscription* secret_there = SubSync(on_peer->nc, "secret.x");
    natsSubscription* open_here = SubSync(on_guarded->nc, "open.y");
    natsSubscription* private_here = SubSync(on_guarded->nc, "private.y");
    AwaitRoute(on_guarded->nc, on_peer->nc);
    AwaitRoute(on_peer->nc, on_guarded->nc);
    for (const char* subject : {"open.x", "secret.x"}) {
      natsConnection_PublishString(on_guarded->nc, subject, "m");
    }
    for (const char* subject : {"open.y", "private.y"}) {
      natsConnection_PublishString(on_peer->nc, subject, "m");
    }
    natsConnection_Flush(on_guarded->nc);
    natsConnection_Flush(on_peer->nc);
    EXPECT_EQ(Receive({open_there}, 1)[0].size(), 1u) << "nats=" << guarded_is_nats;
    EXPECT_EQ(Receive({open_here}, 1)[0].size(), 1u) << "nats=" << guarded_is_nats;
    natsMsg* msg = nullptr;
    EXPECT_NE(natsSubscription_NextMsg(&msg, secret_there, 300), NATS_OK)
        << "a peer subscribed to a subject not exported; nats=" << guarded_is_nats;
    EXPECT_NE(natsSubscription_NextMsg(&msg, private_here, 300), NATS_OK)
        << "a subject not imported came in; nats=" << guarded_is_nats;
    for (natsSubscription* s : {open_there, secret_there, open_here, private_here}) {
      natsSubscription_Destroy(s);
    }
  }
}

// A node whose routes name its own cluster port (a config shared by every node) detects
// the loop and drops it: no route to itself, clients served, a real peer still joins.
TEST(Cluster, ARouteToItselfIsDropped) {
  const int port = FreePort();
  const std::string self = "nats://127.0.0.1:" + std::to_string(port);
  auto node = StartNode(false, "SELF", {self}, {"--cluster", self, "-m", "-1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a redial or two
  auto routez = nlohmann::json::parse(HttpGet(node->monitor_port(), "/routez").body);
  EXPECT_EQ(routez["num_routes"], 0) << routez.dump();
  auto peer = StartNode(false, "PEER", {self});
  auto on_node = Connect(*node);
  auto on_peer = Connect(*peer);
  AwaitRoute(on_peer->nc, on_node->nc);
  routez = nlohmann::json::parse(HttpGet(node->monitor_port(), "/routez").body);
  EXPECT_EQ(routez["num_routes"], 1) << routez.dump();
}

TEST(Cluster, JetStreamInAClusterIsRefusedAtStart) {
  const auto [status, output] = RunServerOnce("-p -1 --cluster nats://127.0.0.1:-1 -js");
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("JetStream in a cluster is not supported yet"), std::string::npos)
      << output;
}

TEST(Cluster, RoutePortRefusesWrongPeers) {
  auto node = StartNode(false, "A", {}, {"--cluster", "nats://ruser:rpass@127.0.0.1:-1"});
  {
    RawConn peer(node->cluster_port());
    EXPECT_NE(peer.info().find("\"auth_required\":true"), std::string::npos) << peer.info();
    peer.Send(
        "CONNECT {\"user\":\"ruser\",\"pass\":\"wrong\",\"name\":\"NX\",\"cluster\":\"C1\"}\r\n");
    EXPECT_NE(peer.ReadUntil("Authorization Violation").find("-ERR 'Authorization Violation'"),
              std::string::npos);
  }
  {
    RawConn client(node->cluster_port());
    client.Send("CONNECT {\"user\":\"ruser\",\"pass\":\"rpass\",\"lang\":\"go\"}\r\n");
    EXPECT_NE(client.ReadUntil("route port").find("-ERR 'attempted to connect to route port'"),
              std::string::npos);
  }
  {
    RawConn other(node->cluster_port());
    other.Send(
        "CONNECT "
        "{\"user\":\"ruser\",\"pass\":\"rpass\",\"name\":\"NX\",\"cluster\":\"other\"}\r\n");
    EXPECT_NE(
        other.ReadUntil("does not match")
            .find("-ERR 'Rejecting connection, cluster name \"other\" does not match \"C1\"'"),
        std::string::npos);
  }
  {
    RawConn garbage(node->cluster_port());
    garbage.Send(
        "CONNECT {\"user\":\"ruser\",\"pass\":\"rpass\",\"name\":\"NX\",\"cluster\":\"C1\"}\r\n"
        "INFO {\"server_id\":\"NX\",\"cluster\":\"C1\"}\r\nRS+ $G\r\n");
    garbage.ReadFor(1000);
    EXPECT_TRUE(garbage.closed()) << "a route sending garbage is closed";
  }
  {
    // Fields of the wrong type read as absent: the route is served, the node stays up.
    RawConn odd(node->cluster_port());
    odd.Send(
        "CONNECT {\"user\":\"ruser\",\"pass\":\"rpass\",\"name\":\"NY\",\"cluster\":\"C1\"}\r\n"
        "INFO {\"server_id\":\"NY\",\"cluster\":\"C1\",\"headers\":\"yes\",\"lnoc\":1,"
        "\"port\":\"x\",\"connect_urls\":[1,null],\"cluster_dynamic\":{}}\r\nPING\r\n");
    EXPECT_NE(odd.ReadUntil("PONG\r\n").find("PONG\r\n"), std::string::npos);
  }
  // The node still serves its clients.
  auto client = Connect(*node);
  EXPECT_EQ(natsConnection_Flush(client->nc), NATS_OK);
}

}  // namespace
}  // namespace tern::e2e
