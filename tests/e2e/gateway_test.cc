// Gateways through real clients: two clusters joined into a supercluster, one Tern and one
// nats-server (both ways round) and both Tern: messages cross exactly once in both
// directions, only where the other cluster has interest; requests are answered across
// (the `_GR_.` reply prefix); a queue group takes its own cluster's member and the other
// cluster's only when it has none (docs/CLUSTERING.md, Gateways).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "certificates.h"
#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

// `block`: more of the gateway block (tls {}).
std::unique_ptr<ServerProcess> StartGateway(bool nats, const std::string& name, int own_port,
                                            const std::string& other, int other_port,
                                            std::vector<std::string> extra = {},
                                            const std::string& block = "") {
  const std::string config =
      "server_name: " + name + "-1\ngateway {\n" + block + "  name: " + name +
      "\n  listen: 127.0.0.1:" + std::to_string(own_port) + "\n  gateways: [ { name: " + other +
      ", url: \"nats://127.0.0.1:" + std::to_string(other_port) + "\" } ]\n}\n";
  std::vector<std::string> args = {"-a", "127.0.0.1", "-c", WriteConfig(config)};
  for (auto& arg : extra) args.push_back(std::move(arg));
  return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
}

void Publish(natsConnection* nc, const char* subject, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(natsConnection_PublishString(nc, subject, std::to_string(i).c_str()), NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(nc), NATS_OK);
}

// Three requests from `requester` to `subject`, answered by `responder` through its
// subscription `service` with `answer`; the responder must see the requester's own inbox
// (nats-server's gateway reply mapping), and each answer must come back.
void ExpectRequestsAnswered(natsConnection* requester, natsConnection* responder,
                            natsSubscription* service, const char* subject, const char* answer) {
  std::vector<std::string> replies_seen;
  std::thread responding([&] {
    for (int i = 0; i < 3; ++i) {
      natsMsg* request = nullptr;
      if (natsSubscription_NextMsg(&request, service, 10000) != NATS_OK) return;
      replies_seen.emplace_back(natsMsg_GetReply(request));
      natsConnection_PublishString(responder, natsMsg_GetReply(request), answer);
      natsConnection_Flush(responder);
      natsMsg_Destroy(request);
    }
  });
  for (int i = 0; i < 3; ++i) {
    natsMsg* reply = nullptr;
    EXPECT_EQ(natsConnection_RequestString(&reply, requester, subject, "?", 10000), NATS_OK)
        << "request " << i;
    if (reply == nullptr) continue;
    EXPECT_EQ(Payload(reply), answer);
    natsMsg_Destroy(reply);
  }
  responding.join();
  for (const std::string& reply : replies_seen) EXPECT_TRUE(reply.starts_with("_INBOX.")) << reply;
}

void ExpectSuperclusterWorks(bool nats_a, bool nats_b, const std::string& block = "") {
  const int port_a = FreePort(), port_b = FreePort();
  auto a = StartGateway(nats_a, "A", port_a, "B", port_b, {}, block);
  auto b = StartGateway(nats_b, "B", port_b, "A", port_a, {}, block);
  ASSERT_TRUE(a && b);
  auto on_a = Connect(*a);
  auto on_b = Connect(*b);
  for (auto [pub, sub] : {std::pair{on_a.get(), on_b.get()}, std::pair{on_b.get(), on_a.get()}}) {
    natsSubscription* plain = SubSync(sub->nc, "events.created");
    natsSubscription* wildcard = SubSync(sub->nc, "events.>");
    AwaitRoute(pub->nc, sub->nc);
    Publish(pub->nc, "events.created", 100);
    auto got = Receive({plain, wildcard}, 200);
    ASSERT_EQ(got[0].size(), 100u);
    ASSERT_EQ(got[1].size(), 100u);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(got[0][i], std::to_string(i));
    natsSubscription_Destroy(plain);
    natsSubscription_Destroy(wildcard);
  }

  // Requests both ways, answered through the other cluster.
  for (auto [requester, responder] :
       {std::pair{on_a.get(), on_b.get()}, std::pair{on_b.get(), on_a.get()}}) {
    natsSubscription* service = SubSync(responder->nc, "svc.time");
    AwaitRoute(requester->nc, responder->nc);
    ExpectRequestsAnswered(requester->nc, responder->nc, service, "svc.time", "now");
    natsSubscription_Destroy(service);
  }

  // A queue group with a member in each cluster: each cluster's publishes stay home; with
  // no member left at home, the other cluster's takes them, once each.
  natsSubscription* member_a = SubSync(on_a->nc, "jobs", "workers");
  natsSubscription* member_b = SubSync(on_b->nc, "jobs", "workers");
  AwaitRoute(on_a->nc, on_b->nc);
  AwaitRoute(on_b->nc, on_a->nc);
  Publish(on_a->nc, "jobs", 30);
  auto got = Receive({member_a, member_b}, 30);
  EXPECT_EQ(got[0].size(), 30u);
  EXPECT_EQ(got[1].size(), 0u) << "a publish in A went to B's member";
  natsSubscription_Destroy(member_a);
  ASSERT_EQ(natsConnection_Flush(on_a->nc), NATS_OK);  // A knows at once: its member left
  Publish(on_a->nc, "jobs", 30);
  got = Receive({member_b}, 30);
  EXPECT_EQ(got[0].size(), 30u) << "with no member in A, B's member must take A's publishes";
  natsSubscription_Destroy(member_b);
}

// The gateway port as a peer sees it (raw bytes): an INFO first; a client, or a gateway
// with the wrong credentials, refused with nats-server's texts; fields of the wrong type
// read as absent (the link is served); garbage closes the link; the node stays up.
TEST(Gateway, TheGatewayPortRefusesWrongPeers) {
  const int port = FreePort();
  auto node = ServerProcess::Start(
      {"-a", "127.0.0.1", "-c",
       WriteConfig("server_name: g1\ngateway {\n  name: A\n  listen: 127.0.0.1:" +
                   std::to_string(port) + "\n  authorization { user: gu, password: gp }\n}\n")});
  ASSERT_TRUE(node);
  {
    RawConn client(port);
    EXPECT_NE(client.info().find("\"gateway\":\"A\""), std::string::npos) << client.info();
    client.Send("CONNECT {\"lang\":\"go\",\"user\":\"gu\",\"pass\":\"gp\"}\r\n");
    EXPECT_NE(client.ReadUntil("gateway port'").find("-ERR 'attempted to connect to gateway port'"),
              std::string::npos);
  }
  {
    RawConn wrong(port);
    wrong.Send("CONNECT {\"gateway\":\"B\",\"user\":\"gu\",\"pass\":\"no\"}\r\n");
    EXPECT_NE(wrong.ReadUntil("Violation'").find("-ERR 'Authorization Violation'"),
              std::string::npos);
  }
  {
    RawConn odd(port);
    odd.Send(
        "CONNECT {\"gateway\":\"B\",\"user\":\"gu\",\"pass\":\"gp\",\"headers\":\"yes\"}\r\n"
        "INFO {\"server_id\":\"NB\",\"gateway\":\"B\",\"gateway_cmd\":\"two\","
        "\"headers\":1,\"gateway_urls\":[1,\"127.0.0.1:1\"],\"port\":1e99}\r\nPING\r\n");
    EXPECT_NE(odd.ReadUntil("PONG\r\n").find("PONG\r\n"), std::string::npos);
    odd.Send("RS+ $G\r\n");
    odd.ReadFor(1000);
    EXPECT_TRUE(odd.closed()) << "a gateway sending garbage is closed";
  }
  auto client = Connect(*node);
  EXPECT_EQ(natsConnection_Flush(client->nc), NATS_OK);
}

TEST(Gateway, ATernClusterAndANatsServerClusterFormASupercluster) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectSuperclusterWorks(/*nats_a=*/false, /*nats_b=*/true);
  ExpectSuperclusterWorks(/*nats_a=*/true, /*nats_b=*/false);
}

TEST(Gateway, TwoTernClustersFormASupercluster) { ExpectSuperclusterWorks(false, false); }

// Gateways over TLS (gateway tls {} with verify: both ends present certificates the CA
// signed), from the first byte as nats-server's: Tern with nats-server both ways round and
// Tern with Tern; a peer speaking plaintext to a TLS gateway port gets nothing in clear.
TEST(Gateway, TlsGateways) {
  const Certificates certs;
  const std::string tls = "  tls {\n    cert_file: \"" + certs.server_cert +
                          "\"\n    key_file: \"" + certs.server_key + "\"\n    ca_file: \"" +
                          certs.ca + "\"\n    verify: true\n  }\n";
  ExpectSuperclusterWorks(false, false, tls);
  const int port = FreePort();
  auto node = StartGateway(false, "A", port, "B", FreePort(), {}, tls);
  ASSERT_TRUE(node);
  RawConn plain(port, /*read_info=*/false);
  plain.Send("CONNECT {\"gateway\":\"B\"}\r\nINFO {\"gateway\":\"B\"}\r\n");
  const std::string answer = plain.ReadFor(1000);
  EXPECT_EQ(answer.find("INFO"), std::string::npos) << "INFO in clear on a TLS gateway port";
  EXPECT_TRUE(plain.closed());
  if (NatsServerPath().empty()) return;
  ExpectSuperclusterWorks(false, true, tls);
  ExpectSuperclusterWorks(true, false, tls);
}

// Cluster A of two nodes (Tern, and Tern or nats-server) joined to cluster B (nats-server,
// or Tern): every message crosses once whichever node of A publishes or subscribes (the
// node that took it in sends it; the other cluster's node passes it over its routes), and
// requests from either node of A are answered, the reply reaching the requester's node
// even when B's link lands on the other one (the `_GR_.` server hash, then a route).
void ExpectClustersJoin(bool nats_a2, bool nats_b) {
  const int route_1 = FreePort(), route_2 = FreePort();
  const int gw_a1 = FreePort(), gw_a2 = FreePort(), gw_b = FreePort();
  auto a_node = [&](bool nats, const std::string& name, int route, int other_route, int gw) {
    const std::string config =
        "server_name: " + name +
        "\ncluster {\n  name: A\n  listen: 127.0.0.1:" + std::to_string(route) +
        "\n  routes: [ nats-route://127.0.0.1:" + std::to_string(other_route) +
        " ]\n}\ngateway {\n  name: A\n  listen: 127.0.0.1:" + std::to_string(gw) +
        "\n  gateways: [ { name: B, url: \"nats://127.0.0.1:" + std::to_string(gw_b) +
        "\" } ]\n}\n";
    const std::vector<std::string> args = {"-a", "127.0.0.1", "-m",
                                           "-1", "-c",        WriteConfig(config)};
    return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  };
  auto a1 = a_node(false, "a1", route_1, route_2, gw_a1);
  auto a2 = a_node(nats_a2, "a2", route_2, route_1, gw_a2);
  const std::string b_config =
      "server_name: b1\ngateway {\n  name: B\n  listen: 127.0.0.1:" + std::to_string(gw_b) +
      "\n  gateways: [ { name: A, urls: [ \"nats://127.0.0.1:" + std::to_string(gw_a1) +
      "\", \"nats://127.0.0.1:" + std::to_string(gw_a2) + "\" ] } ]\n}\n";
  const std::vector<std::string> b_args = {"-a", "127.0.0.1", "-c", WriteConfig(b_config)};
  auto b = nats_b ? ServerProcess::Start(b_args, NatsServerPath()) : ServerProcess::Start(b_args);
  ASSERT_TRUE(a1 && a2 && b);
  auto on_a1 = Connect(*a1);
  auto on_a2 = Connect(*a2);
  auto on_b = Connect(*b);

  natsSubscription* at_b = SubSync(on_b->nc, "metrics.cpu");
  for (auto* pub : {on_a1.get(), on_a2.get()}) AwaitRoute(pub->nc, on_b->nc);
  Publish(on_a1->nc, "metrics.cpu", 50);
  Publish(on_a2->nc, "metrics.cpu", 50);
  EXPECT_EQ(Receive({at_b}, 100)[0].size(), 100u);
  natsSubscription_Destroy(at_b);

  natsSubscription* at_a1 = SubSync(on_a1->nc, "alerts.disk");
  natsSubscription* at_a2 = SubSync(on_a2->nc, "alerts.disk");
  AwaitRoute(on_b->nc, on_a1->nc);
  AwaitRoute(on_b->nc, on_a2->nc);
  Publish(on_b->nc, "alerts.disk", 50);
  auto got = Receive({at_a1, at_a2}, 100);
  EXPECT_EQ(got[0].size(), 50u);
  EXPECT_EQ(got[1].size(), 50u);
  natsSubscription_Destroy(at_a1);
  natsSubscription_Destroy(at_a2);

  natsSubscription* service = SubSync(on_b->nc, "svc.echo");
  for (auto* requester : {on_a1.get(), on_a2.get()}) AwaitRoute(requester->nc, on_b->nc);
  std::thread answer([&] {
    for (int i = 0; i < 6; ++i) {
      natsMsg* request = nullptr;
      if (natsSubscription_NextMsg(&request, service, 10000) != NATS_OK) return;
      natsConnection_Publish(on_b->nc, natsMsg_GetReply(request), natsMsg_GetData(request),
                             natsMsg_GetDataLength(request));
      natsConnection_Flush(on_b->nc);
      natsMsg_Destroy(request);
    }
  });
  for (int i = 0; i < 3; ++i) {
    for (auto* requester : {on_a1.get(), on_a2.get()}) {
      natsMsg* reply = nullptr;
      ASSERT_EQ(natsConnection_RequestString(&reply, requester->nc, "svc.echo", "hi", 10000),
                NATS_OK);
      EXPECT_EQ(Payload(reply), "hi");
      natsMsg_Destroy(reply);
    }
  }
  answer.join();
  natsSubscription_Destroy(service);

  // a1's /gatewayz: its link out to B and B's link in.
  const auto gatewayz = nlohmann::json::parse(HttpGet(a1->monitor_port(), "/gatewayz").body);
  EXPECT_EQ(gatewayz.value("name", ""), "A");
  EXPECT_TRUE(gatewayz["outbound_gateways"].contains("B")) << gatewayz.dump();
  EXPECT_TRUE(gatewayz["outbound_gateways"]["B"].value("configured", false));
}

TEST(Gateway, AMixedTwoNodeClusterJoinsANatsServerCluster) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectClustersJoin(/*nats_a2=*/true, /*nats_b=*/true);
}

TEST(Gateway, ATwoNodeTernClusterJoinsATernCluster) { ExpectClustersJoin(false, false); }

// Gateway gossip over routes: only node 1 of cluster A lists cluster B's gateway; node 2
// (Tern or nats-server) learns it from node 1 over their route (nats-server's `GW` INFO),
// dials B itself, and its clients' messages and requests reach B's clients. Run with a
// Tern node 1 (Tern tells) and a nats-server node 1 (Tern learns).
void ExpectGatewaysLearnedOverRoutes(bool nats_a1, bool nats_a2) {
  SCOPED_TRACE(std::string(nats_a1 ? "nats-server" : "Tern") + " a1, " +
               (nats_a2 ? "nats-server" : "Tern") + " a2");
  const int route_1 = FreePort(), route_2 = FreePort();
  const int gw_a1 = FreePort(), gw_a2 = FreePort(), gw_b = FreePort();
  auto a_node = [&](bool nats, const std::string& name, int route, int other_route, int gw,
                    bool lists_b) {
    const std::string config =
        "server_name: " + name +
        "\ncluster {\n  name: A\n  listen: 127.0.0.1:" + std::to_string(route) +
        "\n  routes: [ nats-route://127.0.0.1:" + std::to_string(other_route) +
        " ]\n}\ngateway {\n  name: A\n  listen: 127.0.0.1:" + std::to_string(gw) + "\n" +
        (lists_b ? "  gateways: [ { name: B, url: \"nats://127.0.0.1:" + std::to_string(gw_b) +
                       "\" } ]\n"
                 : "") +
        "}\n";
    const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", WriteConfig(config)};
    return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  };
  auto b = StartGateway(false, "B", gw_b, "A", gw_a1);
  auto a1 = a_node(nats_a1, "a1", route_1, route_2, gw_a1, true);
  auto a2 = a_node(nats_a2, "a2", route_2, route_1, gw_a2, false);
  ASSERT_TRUE(a1 && a2 && b);
  auto on_a2 = Connect(*a2);
  auto on_b = Connect(*b);
  natsSubscription* at_b = SubSync(on_b->nc, "site.report");
  AwaitRoute(on_a2->nc, on_b->nc);
  Publish(on_a2->nc, "site.report", 40);
  EXPECT_EQ(Receive({at_b}, 40)[0].size(), 40u);
  natsSubscription_Destroy(at_b);
  natsSubscription* at_a2 = SubSync(on_a2->nc, "site.command");
  AwaitRoute(on_b->nc, on_a2->nc);
  Publish(on_b->nc, "site.command", 40);
  EXPECT_EQ(Receive({at_a2}, 40)[0].size(), 40u);
  natsSubscription_Destroy(at_a2);
}

TEST(Gateway, NodesLearnGatewaysOverTheirRoutes) {
  ExpectGatewaysLearnedOverRoutes(false, false);
  if (NatsServerPath().empty()) return;
  ExpectGatewaysLearnedOverRoutes(false, true);
  ExpectGatewaysLearnedOverRoutes(true, false);
}

// Messages cross only where the other cluster has interest (interest-only mode): with no
// subscriber in B, A's publishes do not reach B at all (B's count of messages received
// moves by the one marker it subscribed to).
TEST(Gateway, NothingCrossesWithoutInterest) {
  const int port_a = FreePort(), port_b = FreePort();
  auto a = StartGateway(false, "A", port_a, "B", port_b);
  auto b = StartGateway(false, "B", port_b, "A", port_a, {"-m", "-1"});
  ASSERT_TRUE(a && b);
  auto on_a = Connect(*a);
  auto on_b = Connect(*b);
  natsSubscription* marker = SubSync(on_b->nc, "marker");
  AwaitRoute(on_a->nc, on_b->nc);
  auto received = [&] {
    const auto varz = nlohmann::json::parse(HttpGet(b->monitor_port(), "/varz").body);
    return varz["in_msgs"].get<int64_t>();
  };
  const int64_t before = received();
  Publish(on_a->nc, "nobody.listens", 50);
  Publish(on_a->nc, "marker", 1);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, marker, 10000), NATS_OK);
  natsMsg_Destroy(msg);
  // Drain what the AwaitRoute probes may still have in flight, then count.
  natsMsg* extra = nullptr;
  while (natsSubscription_NextMsg(&extra, marker, 100) == NATS_OK) natsMsg_Destroy(extra);
  EXPECT_EQ(received() - before, 1) << "messages without interest crossed the gateway";
  natsSubscription_Destroy(marker);
}

// JetStream of one cluster used by another's clients: a client in B creates a stream in A
// (which runs JetStream), publishes to it and pulls with explicit acks. Every delivery's
// reply reaches the client as `$JS.ACK.…` (the client parses its metadata from it), and its
// acks, mapped back to the routed reply, reach the consumer. Run with a Tern or nats-server
// B. (nats-server refuses JetStream with gateways unless clustered with routes, and a
// single-node cluster never elects its meta leader, so A is Tern.)
void ExpectJetStreamAcrossGateway(bool nats_b) {
  SCOPED_TRACE(std::string(nats_b ? "nats-server" : "Tern") + " client cluster");
  const int port_a = FreePort(), port_b = FreePort();
  auto a = StartGateway(false, "A", port_a, "B", port_b, {"-js", "-sd", MakeStoreDir()});
  auto b = StartGateway(nats_b, "B", port_b, "A", port_a);
  ASSERT_TRUE(a && b);
  auto on_b = Connect(*b);
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, on_b->nc, nullptr), NATS_OK);
  // Until the gateways are up and B knows A's interest in the API, requests go nowhere.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < deadline) {
    jsAccountInfo* info = nullptr;
    answered = js_GetAccountInfo(&info, js, nullptr, nullptr) == NATS_OK;
    if (answered)
      jsAccountInfo_Destroy(info);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(answered) << "A's JetStream never answered a client of B";
  AddStream(js, "ORDERS", {"orders.>"});
  constexpr int kMessages = 10;
  for (int i = 1; i <= kMessages; ++i) {
    ASSERT_EQ(PublishOk(js, "orders." + std::to_string(i), "o" + std::to_string(i)),
              static_cast<uint64_t>(i));
  }
  natsSubscription* pull = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_PullSubscribe(&pull, js, "orders.>", "puller", nullptr, nullptr, &jerr), NATS_OK)
      << jerr;
  int pulled = 0;
  while (pulled < kMessages && std::chrono::steady_clock::now() < deadline) {
    natsMsgList list{};
    if (natsSubscription_Fetch(&list, pull, kMessages, 2000, &jerr) != NATS_OK) continue;
    for (int i = 0; i < list.Count; ++i) {
      ++pulled;
      EXPECT_TRUE(std::string(natsMsg_GetReply(list.Msgs[i])).starts_with("$JS.ACK.ORDERS."))
          << natsMsg_GetReply(list.Msgs[i]);
      jsMsgMetaData* meta = nullptr;
      ASSERT_EQ(natsMsg_GetMetaData(&meta, list.Msgs[i]), NATS_OK)
          << natsMsg_GetReply(list.Msgs[i]);
      EXPECT_EQ(meta->Sequence.Stream, static_cast<uint64_t>(pulled));
      // The subject it was stored on (carried after '@' in the reply across the gateway).
      EXPECT_EQ(std::string(natsMsg_GetSubject(list.Msgs[i])), "orders." + std::to_string(pulled));
      jsMsgMetaData_Destroy(meta);
      EXPECT_EQ(natsMsg_AckSync(list.Msgs[i], nullptr, &jerr), NATS_OK) << jerr;
    }
    natsMsgList_Destroy(&list);
  }
  EXPECT_EQ(pulled, kMessages);
  jsConsumerInfo* info = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&info, js, "ORDERS", "puller", nullptr, &jerr), NATS_OK) << jerr;
  EXPECT_EQ(info->NumAckPending, 0) << "B's acks reached the consumer in A";
  EXPECT_EQ(info->AckFloor.Stream, static_cast<uint64_t>(kMessages));
  jsConsumerInfo_Destroy(info);
  natsSubscription_Destroy(pull);
  jsCtx_Destroy(js);
}

TEST(Gateway, JetStreamServesAnotherClustersClients) {
  ExpectJetStreamAcrossGateway(false);
  if (NatsServerPath().empty()) return;
  ExpectJetStreamAcrossGateway(true);
}

// A leafnode of a cluster in a supercluster answers requests from the other cluster: the
// hub gives its leafnodes interest in `_GR_.>`, the leafnode's client sees the requester's
// bare inbox, and its answer, mapped back to the routed reply, goes up the leaf link and out
// of the hub's gateway. Run with a Tern hub (Tern or nats-server leafnode and cluster B) and
// with a Tern leafnode of a nats-server hub. (nats-server wants a system account with both.)
void ExpectLeafnodeAnswersAcrossGateway(bool nats_hub, bool nats_spoke, bool nats_b) {
  SCOPED_TRACE(std::string(nats_hub ? "nats-server" : "Tern") + " hub, " +
               (nats_spoke ? "nats-server" : "Tern") + " leafnode, " +
               (nats_b ? "nats-server" : "Tern") + " cluster B");
  const int port_a = FreePort(), port_b = FreePort(), leaf_port = FreePort();
  const std::string hub_config =
      "server_name: hub\naccounts { SYS: {} }\nsystem_account: SYS\n"
      "leafnodes { listen: 127.0.0.1:" +
      std::to_string(leaf_port) +
      " }\ngateway {\n  name: A\n  listen: 127.0.0.1:" + std::to_string(port_a) +
      "\n  gateways: [ { name: B, url: \"nats://127.0.0.1:" + std::to_string(port_b) +
      "\" } ]\n}\n";
  const std::vector<std::string> hub_args = {"-a", "127.0.0.1", "-c", WriteConfig(hub_config)};
  auto hub =
      nats_hub ? ServerProcess::Start(hub_args, NatsServerPath()) : ServerProcess::Start(hub_args);
  const std::vector<std::string> spoke_args = {
      "-a", "127.0.0.1", "-c",
      WriteConfig("server_name: edge\nleafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:" +
                  std::to_string(leaf_port) + "\" } ] }\n")};
  auto spoke = nats_spoke ? ServerProcess::Start(spoke_args, NatsServerPath())
                          : ServerProcess::Start(spoke_args);
  auto b = StartGateway(nats_b, "B", port_b, "A", port_a);
  ASSERT_TRUE(hub && spoke && b);
  auto at_edge = Connect(*spoke);
  auto on_b = Connect(*b);
  natsSubscription* service = SubSync(at_edge->nc, "svc.edge");
  AwaitRoute(on_b->nc, at_edge->nc);
  auto at_hub = Connect(*hub);
  AwaitRoute(at_hub->nc, on_b->nc);  // the hub's own link to B (answers leave on it) is up
  ExpectRequestsAnswered(on_b->nc, at_edge->nc, service, "svc.edge", "from the edge");
  natsSubscription_Destroy(service);
}

TEST(Gateway, ALeafnodeOfOneClusterAnswersAnother) {
  ExpectLeafnodeAnswersAcrossGateway(false, false, false);
  if (NatsServerPath().empty()) return;
  ExpectLeafnodeAnswersAcrossGateway(false, true, true);
  ExpectLeafnodeAnswersAcrossGateway(true, false, false);
}

// A peer before nats-server 2.9 (no `gateway_iom` in its INFO), played over raw bytes:
// Tern's link to it runs optimistic mode as nats-server does. Everything goes there with
// no RS+ at all; `RS- <acc> <subj>` stops that subject and `RS+` brings it back; `A- <acc>`
// stops the account and `A+` brings it back; after the peer switches the account to
// interest-only (gateway_cmd 2 ... 3), only what it announced goes there.
class OldGatewayPeer {
 public:
  explicit OldGatewayPeer(int port) : listener_(port) {}
  // Takes the link from `node` and answers its handshake.
  bool Accept(int port) {
    link_ = listener_.Accept(10000);
    if (!link_) return false;
    link_->Send(
        "INFO {\"server_id\":\"NOLDPEER\",\"server_name\":\"old\",\"version\":"
        "\"2.8.4\",\"headers\":true,\"gateway\":\"B\",\"gateway_urls\":[\"127.0.0.1:" +
        std::to_string(port) + "\"],\"gateway_nrp\":true}\r\n");
    return link_->ReadUntil("CONNECT", 5000).find("CONNECT") != std::string::npos;
  }
  // Sends `lines`, then a PING, and waits for the PONG: the link has handled them.
  void Tell(const std::string& lines) {
    link_->Send(lines + "PING\r\n");
    seen_ += link_->ReadUntil("PONG", 5000);
  }
  // Reads until `needle` arrives (true) or `timeout_ms` passes.
  bool Await(const std::string& needle, int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (seen_.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      seen_ += link_->ReadUntil(needle, 200);
      if (link_->closed()) break;
    }
    return seen_.find(needle) != std::string::npos;
  }
  bool Saw(const std::string& needle) const { return seen_.find(needle) != std::string::npos; }
  // Publishes `subject` until its message arrives: a subscription the link just made has
  // reached the client's shard.
  bool AwaitFlowing(natsConnection* nc, const std::string& subject) {
    for (int i = 0; i < 100; ++i) {
      natsConnection_PublishString(nc, subject.c_str(), "probe");
      natsConnection_Flush(nc);
      if (Await("RMSG $G " + subject + " 5\r\nprobe", 100)) return true;
    }
    return false;
  }

 private:
  RawListener listener_;
  std::unique_ptr<RawConn> link_;
  std::string seen_;
};

TEST(Gateway, OptimisticModeTowardsAPeerBefore29) {
  const int port_a = FreePort(), port_b = FreePort();
  OldGatewayPeer old(port_b);
  auto a = StartGateway(false, "A", port_a, "B", port_b);
  ASSERT_TRUE(a);
  ASSERT_TRUE(old.Accept(port_b));
  auto client = Connect(*a);
  auto publish = [&](const char* subject, const char* payload) {
    ASSERT_EQ(natsConnection_PublishString(client->nc, subject, payload), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(client->nc), NATS_OK);
  };
  ASSERT_TRUE(old.AwaitFlowing(client->nc, "probe.1")) << "nothing sent without RS+";
  publish("orders.new", "m1");
  publish("metrics.cpu", "m2");
  EXPECT_TRUE(old.Await("RMSG $G orders.new 2\r\nm1"));
  EXPECT_TRUE(old.Await("RMSG $G metrics.cpu 2\r\nm2"));

  old.Tell("RS- $G orders.new\r\n");
  publish("orders.new", "m3");
  publish("metrics.cpu", "m4");
  EXPECT_TRUE(old.Await("RMSG $G metrics.cpu 2\r\nm4"));
  EXPECT_FALSE(old.Saw("m3")) << "sent after RS-";

  old.Tell("RS+ $G orders.new\r\n");
  publish("orders.new", "m5");
  EXPECT_TRUE(old.Await("RMSG $G orders.new 2\r\nm5")) << "RS+ must undo RS-";

  old.Tell("A- $G\r\n");
  publish("metrics.cpu", "m6");
  old.Tell("A+ $G\r\n");
  ASSERT_TRUE(old.AwaitFlowing(client->nc, "probe.2"));
  publish("metrics.cpu", "m7");
  EXPECT_TRUE(old.Await("RMSG $G metrics.cpu 2\r\nm7")) << "A+ must undo A-";
  EXPECT_FALSE(old.Saw("m6")) << "sent after A-";

  // The peer switches $G to interest-only: now only `wanted.>` goes there.
  old.Tell(
      "INFO {\"gateway\":\"B\",\"gateway_cmd\":2,\"gateway_cmd_payload\":\"JEc=\"}\r\n"
      "RS+ $G wanted.>\r\n"
      "INFO {\"gateway\":\"B\",\"gateway_cmd\":3,\"gateway_cmd_payload\":\"JEc=\"}\r\n");
  ASSERT_TRUE(old.AwaitFlowing(client->nc, "wanted.probe"));
  publish("metrics.cpu", "m8");
  publish("wanted.x", "m9");
  EXPECT_TRUE(old.Await("RMSG $G wanted.x 2\r\nm9"));
  EXPECT_FALSE(old.Saw("m8")) << "sent without interest after the switch to interest-only";
}

}  // namespace
}  // namespace tern::e2e
