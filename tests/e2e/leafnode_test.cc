// Leafnodes through real clients: a Tern node as the leafnode of a nats-server hub, a Tern
// hub for a nats-server leafnode, and Tern on both ends: messages both ways exactly once,
// the account each link is bound to, queue groups that prefer their own side, request and
// reply across the link, the JetStream API kept apart, a loop closed, and a hub restart
// (docs/CLUSTERING.md, Leafnodes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "certificates.h"
#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"
#include "jwt_world.h"

namespace tern::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<NatsConn> ConnectAs(const ServerProcess& server, const char* user,
                                    const char* password) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetUserInfo(opts, user, password);
  std::unique_ptr<NatsConn> conn;
  EXPECT_EQ(TryConnect(server, opts, &conn), NATS_OK);
  return conn;
}

std::unique_ptr<ServerProcess> StartWithConfig(bool nats, const std::string& config,
                                               std::vector<std::string> args = {}) {
  args.push_back("-c");
  args.push_back(WriteConfig(config));
  return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
}

// A hub: accounts A and B, each with a client user, and leafnode users bound to each.
std::string HubConfig(const std::string& name, int leaf_port, const std::string& leaf_extra = "") {
  return "server_name: " + name +
         "\n"
         "accounts {\n"
         "  A: { users: [ { user: a, password: a } ] }\n"
         "  B: { users: [ { user: b, password: b } ] }\n"
         "}\n"
         "leafnodes {\n"
         "  listen: 127.0.0.1:" +
         std::to_string(leaf_port) +
         "\n"
         "  authorization { users: [\n"
         "    { user: leafa, password: pwa, account: A }\n"
         "    { user: leafb, password: pwb, account: B }\n"
         "  ] }\n" +
         leaf_extra +
         "}\n"
         "no_sys_acc: true\n";
}

// A leafnode: account A (client user a), linked to the hub's account A.
std::string SpokeConfig(const std::string& name, int hub_leaf_port,
                        const std::string& remote_extra = "") {
  return "server_name: " + name +
         "\n"
         "accounts {\n"
         "  A: { users: [ { user: a, password: a } ] }\n"
         "}\n"
         "leafnodes {\n"
         "  reconnect: 1\n"
         "  remotes: [ { url: \"nats-leaf://leafa:pwa@127.0.0.1:" +
         std::to_string(hub_leaf_port) + "\", account: A " + remote_extra +
         "} ]\n"
         "}\n"
         "no_sys_acc: true\n";
}

// Publishes `count` numbered messages and flushes.
void PublishMany(natsConnection* nc, const char* subject, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(natsConnection_PublishString(nc, subject, std::to_string(i).c_str()), NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(nc), NATS_OK);
}

// Messages cross the link both ways exactly once, in order; the other account sees none;
// requests are answered across the link; a queue group takes its own side's member and
// the other side's only when it has none.
void ExpectLeafLinkWorks(const ServerProcess& hub, const ServerProcess& spoke) {
  auto hub_a = ConnectAs(hub, "a", "a");
  auto hub_b = ConnectAs(hub, "b", "b");
  auto spoke_a = ConnectAs(spoke, "a", "a");
  ASSERT_TRUE(hub_a && hub_b && spoke_a);
  natsSubscription* other_account = SubSync(hub_b->nc, ">");
  ASSERT_EQ(natsConnection_Flush(hub_b->nc), NATS_OK);

  for (auto [pub, sub] :
       {std::pair{spoke_a.get(), hub_a.get()}, std::pair{hub_a.get(), spoke_a.get()}}) {
    natsSubscription* plain = SubSync(sub->nc, "telemetry.temp");
    natsSubscription* wildcard = SubSync(sub->nc, "telemetry.>");
    AwaitRoute(pub->nc, sub->nc);
    PublishMany(pub->nc, "telemetry.temp", 200);
    auto got = Receive({plain, wildcard}, 400);
    ASSERT_EQ(got[0].size(), 200u);
    ASSERT_EQ(got[1].size(), 200u);
    for (int i = 0; i < 200; ++i) ASSERT_EQ(got[0][i], std::to_string(i));
    natsSubscription_Destroy(plain);
    natsSubscription_Destroy(wildcard);
  }
  natsMsg* stray = nullptr;
  EXPECT_NE(natsSubscription_NextMsg(&stray, other_account, 300), NATS_OK)
      << "account B received a message of account A";
  natsSubscription_Destroy(other_account);

  // Request/reply both ways.
  for (auto [requester, responder_binding] :
       {std::pair{hub_a.get(), spoke_a.get()}, std::pair{spoke_a.get(), hub_a.get()}}) {
    NatsConn* responder = responder_binding;  // lambdas cannot capture a binding
    natsSubscription* service = SubSync(responder->nc, "svc.echo");
    AwaitRoute(requester->nc, responder->nc);
    std::thread answer([&] {
      natsMsg* request = nullptr;
      if (natsSubscription_NextMsg(&request, service, 10000) != NATS_OK) return;
      natsConnection_PublishString(responder->nc, natsMsg_GetReply(request), "pong");
      natsConnection_Flush(responder->nc);
      natsMsg_Destroy(request);
    });
    natsMsg* reply = nullptr;
    EXPECT_EQ(natsConnection_RequestString(&reply, requester->nc, "svc.echo", "ping", 10000),
              NATS_OK);
    if (reply != nullptr) {
      EXPECT_EQ(Payload(reply), "pong");
      natsMsg_Destroy(reply);
    }
    answer.join();
    natsSubscription_Destroy(service);
  }

  // A queue group with a member on each side: each side's publishes stay on its side.
  natsSubscription* hub_member = SubSync(hub_a->nc, "jobs", "workers");
  natsSubscription* spoke_member = SubSync(spoke_a->nc, "jobs", "workers");
  AwaitRoute(hub_a->nc, spoke_a->nc);
  AwaitRoute(spoke_a->nc, hub_a->nc);
  PublishMany(spoke_a->nc, "jobs", 40);
  auto got = Receive({spoke_member, hub_member}, 40);
  EXPECT_EQ(got[0].size(), 40u);
  EXPECT_EQ(got[1].size(), 0u) << "a spoke publish went to the hub's member";
  PublishMany(hub_a->nc, "jobs", 40);
  got = Receive({spoke_member, hub_member}, 40);
  EXPECT_EQ(got[0].size(), 0u) << "a hub publish went to the spoke's member";
  EXPECT_EQ(got[1].size(), 40u);
  // Without a member on its own side, a group is served across the link, once each.
  natsSubscription_Destroy(spoke_member);
  natsSubscription* probe = SubSync(spoke_a->nc, "jobs.probe");
  AwaitRoute(hub_a->nc, spoke_a->nc);
  natsSubscription_Destroy(probe);
  PublishMany(spoke_a->nc, "jobs", 40);
  got = Receive({hub_member}, 40);
  EXPECT_EQ(got[0].size(), 40u);
  natsSubscription_Destroy(hub_member);
}

// The hub's /leafz: its leafnode links, by account.
nlohmann::json Leafz(const ServerProcess& server, const std::string& account = "") {
  const HttpResult result =
      HttpGet(server.monitor_port(), "/leafz?subs=1" + (account.empty() ? "" : "&acc=" + account));
  return nlohmann::json::parse(result.body, nullptr, false);
}

TEST(Leafnode, TernIsTheLeafnodeOfANatsServerHub) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  const int leaf_port = FreePort();
  auto hub = StartWithConfig(true, HubConfig("hub", leaf_port), {"-m", "-1"});
  auto spoke = StartWithConfig(false, SpokeConfig("tspoke", leaf_port));
  ASSERT_TRUE(hub && spoke);
  ExpectLeafLinkWorks(*hub, *spoke);

  // The hub sees one link, bound to A. A client at the spoke asking for JetStream's API
  // must not be announced (a nats-server hub closes a link that asks for it).
  auto spoke_a = ConnectAs(*spoke, "a", "a");
  natsSubscription* js = SubSync(spoke_a->nc, "$JS.API.STREAM.INFO.x");
  natsSubscription* after = SubSync(spoke_a->nc, "after.js");
  auto hub_a = ConnectAs(*hub, "a", "a");
  AwaitRoute(hub_a->nc, spoke_a->nc);
  const nlohmann::json leafz = Leafz(*hub);
  ASSERT_EQ(leafz.value("leafnodes", 0), 1) << leafz.dump();
  EXPECT_EQ(leafz["leafs"][0]["account"], "A");
  for (const auto& subject : leafz["leafs"][0]["subscriptions_list"]) {
    EXPECT_FALSE(subject.get<std::string>().starts_with("$JS.API")) << leafz.dump();
  }
  natsSubscription_Destroy(js);
  natsSubscription_Destroy(after);
}

TEST(Leafnode, TernIsTheHubOfANatsServerLeafnode) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  const int leaf_port = FreePort();
  auto hub = StartWithConfig(false, HubConfig("thub", leaf_port), {"-m", "-1"});
  auto spoke = StartWithConfig(true, SpokeConfig("spoke", leaf_port));
  ASSERT_TRUE(hub && spoke);
  ExpectLeafLinkWorks(*hub, *spoke);

  // Monitoring as nats-server shows it: the link in /leafz (bound to A, holding the
  // leafnode's loop detection subject), the listener and the count in /varz.
  const nlohmann::json leafz = Leafz(*hub);
  ASSERT_EQ(leafz.value("leafnodes", 0), 1) << leafz.dump();
  EXPECT_EQ(leafz["leafs"][0]["account"], "A");
  EXPECT_GT(leafz["leafs"][0]["in_msgs"].get<int>(), 0);
  bool loop_subject = false;
  for (const auto& subject : leafz["leafs"][0]["subscriptions_list"]) {
    loop_subject |= subject.get<std::string>().starts_with("$LDS.");
  }
  EXPECT_TRUE(loop_subject) << leafz.dump();
  EXPECT_EQ(Leafz(*hub, "B").value("leafnodes", -1), 0);
  const nlohmann::json varz =
      nlohmann::json::parse(HttpGet(hub->monitor_port(), "/varz").body, nullptr, false);
  EXPECT_EQ(varz.value("leafnodes", 0), 1);
  EXPECT_EQ(varz["leaf"].value("port", 0), leaf_port);
}

TEST(Leafnode, TernOnBothEndsAndTheHubRestarts) {
  const int leaf_port = FreePort();
  auto hub = StartWithConfig(false, HubConfig("thub", leaf_port));
  auto spoke = StartWithConfig(false, SpokeConfig("tspoke", leaf_port));
  ASSERT_TRUE(hub && spoke);
  ExpectLeafLinkWorks(*hub, *spoke);

  // The hub goes away: the leafnode keeps serving its own clients, and links again once
  // the hub is back.
  auto spoke_a = ConnectAs(*spoke, "a", "a");
  natsSubscription* local = SubSync(spoke_a->nc, "local.only");
  ASSERT_EQ(natsConnection_Flush(spoke_a->nc), NATS_OK);
  hub->Stop(SIGKILL);
  hub.reset();
  PublishMany(spoke_a->nc, "local.only", 10);
  EXPECT_EQ(Receive({local}, 10)[0].size(), 10u);
  natsSubscription_Destroy(local);
  hub = StartWithConfig(false, HubConfig("thub", leaf_port));
  ASSERT_TRUE(hub);
  auto hub_a = ConnectAs(*hub, "a", "a");
  natsSubscription* across = SubSync(hub_a->nc, "after.restart");
  AwaitRoute(spoke_a->nc, hub_a->nc);
  PublishMany(spoke_a->nc, "after.restart", 5);
  EXPECT_EQ(Receive({across}, 5)[0].size(), 5u);
  natsSubscription_Destroy(across);
}

// TLS on the link (after the hub's INFO, as nats-server does it), the hub checking the
// leafnode's certificate and the leafnode the hub's, in both pairings with nats-server; a
// leafnode that cannot verify the hub never links.
TEST(Leafnode, LinksOverTlsBothWays) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  const Certificates certs;
  const std::string hub_tls = "  tls { cert_file: \"" + certs.server_cert + "\", key_file: \"" +
                              certs.server_key + "\", ca_file: \"" + certs.ca +
                              "\", verify: true }\n";
  const std::string spoke_tls = ", tls { cert_file: \"" + certs.client_cert + "\", key_file: \"" +
                                certs.client_key + "\", ca_file: \"" + certs.ca + "\" } ";
  for (const bool nats_hub : {true, false}) {
    SCOPED_TRACE(nats_hub ? "nats-server hub, Tern leafnode" : "Tern hub, nats-server leafnode");
    const int leaf_port = FreePort();
    auto hub = StartWithConfig(nats_hub, HubConfig("hub", leaf_port, hub_tls));
    auto spoke = StartWithConfig(!nats_hub, SpokeConfig("spoke", leaf_port, spoke_tls));
    ASSERT_TRUE(hub && spoke);
    auto on_hub = ConnectAs(*hub, "a", "a");
    auto on_spoke = ConnectAs(*spoke, "a", "a");
    natsSubscription* sub = SubSync(on_hub->nc, "secure.data");
    AwaitRoute(on_spoke->nc, on_hub->nc);
    PublishMany(on_spoke->nc, "secure.data", 50);
    EXPECT_EQ(Receive({sub}, 50)[0].size(), 50u);
    natsSubscription_Destroy(sub);
  }

  // A Tern leafnode without the test CA checks the hub against the system's roots: no link,
  // and the log says why.
  const int leaf_port = FreePort();
  auto hub = StartWithConfig(false, HubConfig("hub", leaf_port, hub_tls));
  auto spoke = StartWithConfig(false, SpokeConfig("spoke", leaf_port));
  ASSERT_TRUE(hub && spoke);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (spoke->Log().find("TLS handshake error") == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(spoke->Log().find("TLS handshake error"), std::string::npos) << spoke->Log();
  EXPECT_EQ(spoke->Log().find("registered"), std::string::npos) << spoke->Log();
}

// A leafnode with a JWT user's .creds, against an operator-mode hub: the CONNECT carries
// the JWT and the hub's nonce signed with the seed, the link is bound to the user's
// account, and messages cross both ways; a user of another account sees none. Run with a
// Tern leafnode of a nats-server hub, and a Tern and a nats-server leafnode of a Tern hub.
void ExpectCredentialsLink(bool nats_hub, bool nats_spoke) {
  SCOPED_TRACE(std::string(nats_hub ? "nats-server" : "Tern") + " hub, " +
               (nats_spoke ? "nats-server" : "Tern") + " leafnode");
  const World world;
  const int leaf_port = FreePort();
  const std::string hub_config = world.Config();
  std::ofstream(hub_config, std::ios::app)
      << "leafnodes { listen: 127.0.0.1:" << leaf_port << " }\n";
  auto hub = nats_hub ? ServerProcess::Start({"-c", hub_config, "-m", "-1"}, NatsServerPath())
                      : ServerProcess::Start({"-c", hub_config, "-m", "-1"});
  // The leafnode's user may not publish to edge.secret.
  const std::string creds = world.User(world.a, world.a, {{"pub", {{"deny", {"edge.secret"}}}}});
  auto spoke =
      StartWithConfig(nats_spoke,
                      "server_name: edge\nleafnodes { remotes: [ { url: "
                      "\"nats-leaf://127.0.0.1:" +
                          std::to_string(leaf_port) + "\", credentials: \"" + creds + "\" } ] }\n");
  ASSERT_TRUE(hub && spoke);
  std::unique_ptr<NatsConn> hub_a, hub_b;
  ASSERT_EQ(ConnectWithCreds(*hub, world.User(world.a, world.a), &hub_a), NATS_OK);
  ASSERT_EQ(ConnectWithCreds(*hub, world.User(world.b, world.b), &hub_b), NATS_OK);
  auto edge = Connect(*spoke);
  natsSubscription* at_hub = SubSync(hub_a->nc, "edge.telemetry");
  natsSubscription* secret = SubSync(hub_a->nc, "edge.secret");
  natsSubscription* other = SubSync(hub_b->nc, "edge.telemetry");
  AwaitRoute(edge->nc, hub_a->nc);
  PublishMany(edge->nc, "edge.secret", 5);
  PublishMany(edge->nc, "edge.telemetry", 20);
  EXPECT_EQ(Receive({at_hub}, 20)[0].size(), 20u);
  natsMsg* stray = nullptr;
  EXPECT_NE(natsSubscription_NextMsg(&stray, other, 200), NATS_OK) << "account B got A's data";
  EXPECT_NE(natsSubscription_NextMsg(&stray, secret, 200), NATS_OK)
      << "the leafnode's user published where its JWT denies it";
  natsSubscription* at_edge = SubSync(edge->nc, "edge.commands");
  AwaitRoute(hub_a->nc, edge->nc);
  PublishMany(hub_a->nc, "edge.commands", 20);
  EXPECT_EQ(Receive({at_edge}, 20)[0].size(), 20u);
  const nlohmann::json leafz = Leafz(*hub);
  ASSERT_EQ(leafz.value("leafnodes", 0), 1) << leafz.dump();
  EXPECT_EQ(leafz["leafs"][0]["account"], world.a.public_key);
  natsSubscription_Destroy(at_hub);
  natsSubscription_Destroy(secret);
  natsSubscription_Destroy(other);
  natsSubscription_Destroy(at_edge);
}

TEST(Leafnode, CredentialsLinkToAnOperatorModeHub) {
  if (!NatsServerPath().empty()) {
    ExpectCredentialsLink(/*nats_hub=*/true, /*nats_spoke=*/false);
    ExpectCredentialsLink(/*nats_hub=*/false, /*nats_spoke=*/true);
  }
  ExpectCredentialsLink(/*nats_hub=*/false, /*nats_spoke=*/false);
}

// An operator-mode Tern hub refuses a leafnode whose user JWT leaves out LEAFNODE in
// allowed_connection_types, or whose account the hub does not know, and says why in its log.
TEST(Leafnode, AnOperatorModeHubRefusesJwtsThatMayNotBeLeafnodes) {
  const World world;
  const int leaf_port = FreePort();
  const std::string hub_config = world.Config();
  std::ofstream(hub_config, std::ios::app)
      << "leafnodes { listen: 127.0.0.1:" << leaf_port << " }\n";
  auto hub = ServerProcess::Start({"-c", hub_config, "-m", "-1"});
  ASSERT_TRUE(hub);
  const std::string standard_only =
      world.User(world.a, world.a, {{"allowed_connection_types", {"STANDARD"}}});
  auto spoke = StartWithConfig(false,
                               "server_name: edge\nleafnodes { remotes: [ { url: "
                               "\"nats-leaf://127.0.0.1:" +
                                   std::to_string(leaf_port) + "\", credentials: \"" +
                                   standard_only + "\" } ] }\n");
  ASSERT_TRUE(spoke);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (hub->Log().find("leaves out LEAFNODE") == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(hub->Log().find("leaves out LEAFNODE"), std::string::npos) << hub->Log();
  EXPECT_EQ(Leafz(*hub).value("leafnodes", -1), 0);
}

// Leafnode and gateway settings Tern cannot serve as written stop it at start with a
// message (naming the line where there is one), never a link with less protection, a
// silently ignored remote, or a link bound to an account that does not exist.
TEST(Leafnode, BadLeafnodeAndGatewaySettingsAreRefusedAtStart) {
  const std::string missing = WriteConfig("") + ".absent";
  for (const auto& [config, expected] : std::vector<std::pair<std::string, std::string>>{
           {"leafnodes { remotes: [ { account: A } ] }", "leafnode remote without 'url'"},
           {"leafnodes { remotes: [ { url: \"nats-leaf://h:7422\", hub: true } ] }",
            "'hub' is not supported yet"},
           {"leafnodes { remotes: [ { url: \"nats-leaf://h:7422\", credentials: \"" + missing +
                "\" } ] }",
            "cannot read leafnode credentials"},
           {"leafnodes { remotes: [ { url: \"ws://h:7422\" } ] }", "over WebSocket"},
           {"leafnodes { listen: 127.0.0.1:-1, tls { ca_file: x } }", "cert_file and key_file"},
           {"leafnodes { listen: 127.0.0.1:-1, color: blue }", "unknown leafnodes option 'color'"},
           {"leafnodes { remotes: [ { url: \"nats-leaf://h:7422\", account: NOPE } ] }",
            "leafnode remote account \"NOPE\" is not defined"},
           {"leafnodes { listen: 127.0.0.1:-1, authorization { users: [ { user: u, password: p, "
            "account: GONE } ] } }",
            "leafnode user \"u\" account \"GONE\" is not defined"},
           {"gateway { listen: 127.0.0.1:-1 }", "gateway has no 'name'"},
           {"gateway { name: A, listen: 127.0.0.1:-1, gateways: [ { name: B } ] }",
            "gateway \"B\" has no 'url' or 'urls'"},
           {"gateway { name: A, listen: 127.0.0.1:-1, tls { ca_file: x } }",
            "'tls' needs cert_file and key_file"},
           {"gateway { name: A, listen: 127.0.0.1:-1, tls { cert_file: \"" + missing +
                "\", key_file: \"" + missing + "\" } }",
            missing},
       }) {
    const auto [code, output] = RunServerOnce("-c " + WriteConfig(config));
    EXPECT_NE(code, 0) << config;
    EXPECT_NE(output.find(expected), std::string::npos) << config << "\n" << output;
  }
}

// JetStream at the edge, used from the hub through its domain: a client of the hub (a
// nats-server or a Tern hub without JetStream of its own) creates a stream on the leafnode
// with libnats' jsOptions.Domain, publishes to it (PubAcks name the domain), and consumes
// with a pull consumer and acks; the leafnode's own clients see the same stream without a
// domain.
TEST(Leafnode, AHubClientUsesTheLeafnodesJetStreamThroughItsDomain) {
  for (const bool nats_hub : {true, false}) {
    if (nats_hub && NatsServerPath().empty()) continue;
    SCOPED_TRACE(nats_hub ? "nats-server hub" : "Tern hub");
    const int leaf_port = FreePort();
    auto hub = StartWithConfig(nats_hub, HubConfig("hub", leaf_port));
    std::string spoke_config = SpokeConfig("edge-1", leaf_port) + "jetstream { store_dir: \"" +
                               MakeStoreDir() + "\", domain: edge }\n";
    spoke_config.replace(spoke_config.find("A: { users"), 4, "A: { jetstream: enabled, ");
    auto spoke = StartWithConfig(false, spoke_config);
    ASSERT_TRUE(hub && spoke);
    auto at_hub = ConnectAs(*hub, "a", "a");
    auto at_edge = ConnectAs(*spoke, "a", "a");
    // The leafnode's API interest reaches the hub: wait for it with a probe of our own.
    AwaitRoute(at_hub->nc, at_edge->nc);
    jsOptions options;
    jsOptions_Init(&options);
    options.Domain = "edge";
    options.Wait = 5000;
    jsCtx* js = nullptr;
    ASSERT_EQ(natsConnection_JetStream(&js, at_hub->nc, &options), NATS_OK);
    jsStreamInfo* created = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = "SENSORS";
    const char* subjects[] = {"sensors.>"};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    natsStatus status = NATS_TIMEOUT;
    while (status != NATS_OK && Clock::now() < deadline) {
      status = js_AddStream(&created, js, &config, nullptr, &jerr);
    }
    ASSERT_EQ(status, NATS_OK) << nats_GetLastError(nullptr);
    jsStreamInfo_Destroy(created);
    // The stream's subjects are the leafnode's interest now: publishes from the hub land.
    AwaitRoute(at_hub->nc, at_edge->nc);
    for (int i = 1; i <= 5; ++i) {
      jsPubAck* ack = nullptr;
      ASSERT_EQ(js_Publish(&ack, js, "sensors.temp", "21", 2, nullptr, &jerr), NATS_OK)
          << nats_GetLastError(nullptr);
      EXPECT_EQ(ack->Sequence, static_cast<uint64_t>(i));
      ASSERT_NE(ack->Domain, nullptr);
      EXPECT_STREQ(ack->Domain, "edge");
      jsPubAck_Destroy(ack);
    }
    natsSubscription* pull = nullptr;
    ASSERT_EQ(js_PullSubscribe(&pull, js, "sensors.>", "reader", nullptr, nullptr, &jerr), NATS_OK)
        << nats_GetLastError(nullptr);
    natsMsgList batch{};
    ASSERT_EQ(natsSubscription_Fetch(&batch, pull, 5, 5000, &jerr), NATS_OK)
        << nats_GetLastError(nullptr);
    EXPECT_EQ(batch.Count, 5);
    for (int i = 0; i < batch.Count; ++i)
      EXPECT_EQ(natsMsg_AckSync(batch.Msgs[i], nullptr, &jerr), NATS_OK);
    natsMsgList_Destroy(&batch);
    natsSubscription_Destroy(pull);
    // At the edge, without a domain, the same stream.
    jsCtx* local = nullptr;
    ASSERT_EQ(natsConnection_JetStream(&local, at_edge->nc, nullptr), NATS_OK);
    jsStreamInfo* info = StreamInfo(local, "SENSORS");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->State.Msgs, 5u);
    jsStreamInfo_Destroy(info);
    jsCtx_Destroy(local);
    jsCtx_Destroy(js);
  }
}

// A leafnode that is itself a cluster (two Tern nodes, each with its own link to the hub):
// every message arrives once wherever it was published, and a queue group's member in the
// leafnode cluster beats the hub's for a publish made in that cluster (nats-server's origin
// cluster rules), against a nats-server hub and a Tern hub.
void ExpectLeafClusterWorks(bool nats_hub) {
  const int leaf_port = FreePort();
  auto hub = StartWithConfig(nats_hub, HubConfig(nats_hub ? "hub" : "thub", leaf_port));
  ASSERT_TRUE(hub);
  const int route_1 = FreePort();
  const int route_2 = FreePort();
  auto spoke_node = [&](const std::string& name, int own, int other) {
    return StartWithConfig(
        false, SpokeConfig(name, leaf_port) + "cluster {\n  name: spoke\n" +
                   "  listen: 127.0.0.1:" + std::to_string(own) +
                   "\n  routes: [ nats-route://127.0.0.1:" + std::to_string(other) + " ]\n}\n");
  };
  auto s1 = spoke_node("s1", route_1, route_2);
  auto s2 = spoke_node("s2", route_2, route_1);
  ASSERT_TRUE(s1 && s2);
  auto on_hub = ConnectAs(*hub, "a", "a");
  auto on_s1 = ConnectAs(*s1, "a", "a");
  auto on_s2 = ConnectAs(*s2, "a", "a");
  natsSubscription* sub = SubSync(on_s2->nc, "orig.test");
  natsSubscription* on_hub_sub = SubSync(on_hub->nc, "orig.test");
  AwaitRoute(on_s1->nc, on_s2->nc);
  AwaitRoute(on_hub->nc, on_s2->nc);
  AwaitRoute(on_s1->nc, on_hub->nc);
  for (natsConnection* pub : {on_s1->nc, on_hub->nc, on_s2->nc}) {
    ASSERT_EQ(natsConnection_PublishString(pub, "orig.test", "x"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(pub), NATS_OK);
  }
  auto got = Receive({sub, on_hub_sub}, 6);
  EXPECT_EQ(got[0].size(), 3u) << "the leafnode cluster's subscriber got duplicates or lost one";
  EXPECT_EQ(got[1].size(), 3u) << "the hub's subscriber got duplicates or lost one";
  natsSubscription_Destroy(sub);
  natsSubscription_Destroy(on_hub_sub);

  natsSubscription* s2_member = SubSync(on_s2->nc, "work", "workers");
  natsSubscription* hub_member = SubSync(on_hub->nc, "work", "workers");
  AwaitRoute(on_s1->nc, on_s2->nc);
  AwaitRoute(on_s1->nc, on_hub->nc);
  PublishMany(on_s1->nc, "work", 40);
  got = Receive({s2_member, hub_member}, 40);
  EXPECT_EQ(got[0].size(), 40u);
  EXPECT_EQ(got[1].size(), 0u) << "the hub's member took messages the cluster's member could";
  natsSubscription_Destroy(s2_member);
  natsSubscription_Destroy(hub_member);
}

TEST(Leafnode, ALeafnodeClusterOfANatsServerHubGetsEachMessageOnce) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectLeafClusterWorks(true);
}

TEST(Leafnode, ALeafnodeClusterOfATernHubGetsEachMessageOnce) { ExpectLeafClusterWorks(false); }

// The hub's side of the handshake as a nats-server leafnode expects it (raw bytes): an INFO
// at once with a client id, leafnode URLs and info_on_connect; CONNECTs it must refuse with
// nats-server's texts; then the connect_info INFO naming the bound account, the hub's loop
// detection subject, interest and messages as LS+/LMSG, and a loop refused.
TEST(Leafnode, TheHubSpeaksTheLeafnodeHandshake) {
  const int leaf_port = FreePort();
  auto hub =
      StartWithConfig(false, HubConfig("thub", leaf_port) + "cluster {\n  name: hubc\n" +
                                 "  listen: 127.0.0.1:" + std::to_string(FreePort()) + "\n}\n");
  ASSERT_TRUE(hub);
  auto expect_refused = [&](const std::string& connect, const std::string& error) {
    RawConn raw(leaf_port);
    raw.Send("CONNECT " + connect + "\r\n");
    EXPECT_NE(raw.ReadUntil(error).find(error), std::string::npos) << connect;
  };
  expect_refused(R"({"lang":"go","user":"leafa","pass":"pwa"})",
                 "-ERR 'attempted to connect to leaf node port'");
  expect_refused(R"({"server_id":"NX","name":"x","cluster":"x","user":"leafa","pass":"no"})",
                 "-ERR 'Authorization Violation'");
  expect_refused(R"({"server_id":"NX","name":"x","cluster":"hubc","user":"leafa","pass":"pwa"})",
                 "-ERR 'remote leafnode has same cluster name'");

  RawConn raw(leaf_port);
  const nlohmann::json info =
      nlohmann::json::parse(raw.info().substr(5), nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(info.is_object()) << raw.info();
  EXPECT_GT(info.value("client_id", 0), 0);
  EXPECT_FALSE(info["leafnode_urls"].empty());
  EXPECT_TRUE(info.value("info_on_connect", false));
  EXPECT_TRUE(info.value("auth_required", false));
  EXPECT_FALSE(info.value("nonce", "").empty());
  EXPECT_EQ(info.value("cluster", ""), "hubc");
  raw.Send(
      "CONNECT {\"version\":\"2.9.10\",\"user\":\"leafa\",\"pass\":\"pwa\",\"server_id\":\"NX\","
      "\"name\":\"x\",\"cluster\":\"x\",\"headers\":true}\r\nLS+ from.leaf\r\nPING\r\n");
  const std::string handshake = raw.ReadUntil("PONG\r\n");
  EXPECT_NE(handshake.find("\"connect_info\":true"), std::string::npos) << handshake;
  EXPECT_NE(handshake.find("\"remote_account\":\"A\""), std::string::npos) << handshake;
  const std::size_t lds = handshake.find("LS+ $LDS.");
  ASSERT_NE(lds, std::string::npos) << handshake;
  const std::string loop_subject = handshake.substr(lds + 4, handshake.find("\r\n", lds) - lds - 4);

  // A client of account A at the hub publishes: the link gets LMSG; one of B does not reach it.
  auto hub_a = ConnectAs(*hub, "a", "a");
  auto hub_b = ConnectAs(*hub, "b", "b");
  ASSERT_EQ(natsConnection_PublishString(hub_b->nc, "from.leaf", "b"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(hub_b->nc), NATS_OK);
  ASSERT_EQ(natsConnection_PublishRequestString(hub_a->nc, "from.leaf", "reply.here", "hi"),
            NATS_OK);
  ASSERT_EQ(natsConnection_Flush(hub_a->nc), NATS_OK);
  const std::string delivered = raw.ReadUntil("hi\r\n");
  EXPECT_NE(delivered.find("LMSG from.leaf reply.here 2\r\nhi\r\n"), std::string::npos)
      << delivered;
  EXPECT_EQ(delivered.find("\r\nb\r\n"), std::string::npos) << "account B reached the link";
  // A client subscription at the hub is announced on the link.
  natsSubscription* sub = SubSync(hub_a->nc, "to.leaf");
  ASSERT_EQ(natsConnection_Flush(hub_a->nc), NATS_OK);
  EXPECT_NE(raw.ReadUntil("LS+ to.leaf\r\n").find("LS+ to.leaf\r\n"), std::string::npos);
  natsSubscription_Destroy(sub);

  raw.Send("LS+ " + loop_subject + "\r\n");
  const std::string loop = raw.ReadUntil("30s'");
  EXPECT_NE(loop.find("-ERR 'Loop detected for leafnode account=\"A\". Delaying attempt to "
                      "reconnect for 30s'"),
            std::string::npos)
      << loop;
}

// A hub that is a cluster, with a leafnode cluster linked to two of its nodes (one link
// each, nats-server's S10 topology): interest and messages from the leafnode cluster carry
// their origin across the hub's routes (LS+/LMSG), so nothing is echoed back into it.
// Each of three publishes reaches a leafnode subscriber once, and the leafnode cluster's
// queue member beats the hub's for a publish made in the leafnode cluster.
void ExpectHubClusterWorks(bool nats_n1, bool nats_spokes) {
  const int leaf_1 = FreePort(), leaf_2 = FreePort();
  const int route_1 = FreePort(), route_2 = FreePort();
  const int spoke_route_1 = FreePort(), spoke_route_2 = FreePort();
  auto cluster_block = [](const std::string& name, int own, int other) {
    return "cluster {\n  name: " + name + "\n  listen: 127.0.0.1:" + std::to_string(own) +
           "\n  routes: [ nats-route://127.0.0.1:" + std::to_string(other) + " ]\n}\n";
  };
  auto n1 =
      StartWithConfig(nats_n1, HubConfig("n1", leaf_1) + cluster_block("hubc", route_1, route_2));
  auto x = StartWithConfig(false, HubConfig("x", leaf_2) + cluster_block("hubc", route_2, route_1));
  auto s1 = StartWithConfig(nats_spokes, SpokeConfig("s1", leaf_1) +
                                             cluster_block("spoke", spoke_route_1, spoke_route_2));
  auto s2 = StartWithConfig(nats_spokes, SpokeConfig("s2", leaf_2) +
                                             cluster_block("spoke", spoke_route_2, spoke_route_1));
  ASSERT_TRUE(n1 && x && s1 && s2);
  auto on_n1 = ConnectAs(*n1, "a", "a");
  auto on_x = ConnectAs(*x, "a", "a");
  auto on_s1 = ConnectAs(*s1, "a", "a");
  auto on_s2 = ConnectAs(*s2, "a", "a");
  natsSubscription* sub = SubSync(on_s2->nc, "orig.test");
  for (auto* pub : {on_s1.get(), on_n1.get(), on_x.get()}) AwaitRoute(pub->nc, on_s2->nc);
  // Let any interest that would echo (a duplicate path) settle before counting.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto* pub : {on_s1.get(), on_n1.get(), on_x.get()}) {
    ASSERT_EQ(natsConnection_PublishString(pub->nc, "orig.test", "x"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
  }
  EXPECT_EQ(Receive({sub}, 3)[0].size(), 3u) << "a publish reached the leafnode cluster twice";
  natsSubscription_Destroy(sub);

  natsSubscription* s2_member = SubSync(on_s2->nc, "work", "workers");
  natsSubscription* n1_member = SubSync(on_n1->nc, "work", "workers");
  AwaitRoute(on_s1->nc, on_s2->nc);
  AwaitRoute(on_s1->nc, on_n1->nc);
  PublishMany(on_s1->nc, "work", 40);
  auto got = Receive({s2_member, n1_member}, 40);
  EXPECT_EQ(got[0].size(), 40u);
  EXPECT_EQ(got[1].size(), 0u);
  natsSubscription_Destroy(s2_member);
  natsSubscription_Destroy(n1_member);
}

TEST(Leafnode, AHubClusterOfNatsServerAndTernKeepsALeafnodeClustersOrigin) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  ExpectHubClusterWorks(/*nats_n1=*/true, /*nats_spokes=*/true);
  ExpectHubClusterWorks(/*nats_n1=*/true, /*nats_spokes=*/false);
}

TEST(Leafnode, AHubClusterOfTernKeepsALeafnodeClustersOrigin) {
  ExpectHubClusterWorks(/*nats_n1=*/false, /*nats_spokes=*/false);
}

// A hub that is a cluster names every node's leafnode URL to its leafnodes (INFO
// leafnode_urls, pushed again when a node joins): a leafnode configured with one hub node
// only moves to another when that one goes away, and its clients and the new hub node's
// exchange messages again.
void ExpectLeafnodeMovesToAnotherHubNode(bool nats_hubs, bool nats_spoke) {
  SCOPED_TRACE(std::string(nats_hubs ? "nats-server" : "Tern") + " hub cluster, " +
               (nats_spoke ? "nats-server" : "Tern") + " leafnode");
  const int leaf_1 = FreePort(), leaf_2 = FreePort();
  const int route_1 = FreePort(), route_2 = FreePort();
  auto cluster_block = [](int own, int other) {
    return "cluster {\n  name: hubc\n  listen: 127.0.0.1:" + std::to_string(own) +
           "\n  routes: [ nats-route://127.0.0.1:" + std::to_string(other) + " ]\n}\n";
  };
  auto h1 = StartWithConfig(nats_hubs, HubConfig("h1", leaf_1) + cluster_block(route_1, route_2),
                            {"-m", "-1"});
  auto h2 = StartWithConfig(nats_hubs, HubConfig("h2", leaf_2) + cluster_block(route_2, route_1),
                            {"-m", "-1"});
  ASSERT_TRUE(h1 && h2);
  auto on_h1 = ConnectAs(*h1, "a", "a");
  auto on_h2 = ConnectAs(*h2, "a", "a");
  AwaitRoute(on_h1->nc, on_h2->nc);  // the hub nodes know each other's leafnode URLs
  auto spoke = StartWithConfig(nats_spoke, SpokeConfig("edge", leaf_1));
  ASSERT_TRUE(spoke);
  auto on_spoke = ConnectAs(*spoke, "a", "a");
  AwaitRoute(on_spoke->nc, on_h1->nc);
  h1->Stop(SIGKILL);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Leafz(*h2).value("leafnodes", 0) != 1 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(Leafz(*h2).value("leafnodes", 0), 1) << "the leafnode did not move to h2";
  natsSubscription* at_h2 = SubSync(on_h2->nc, "edge.up");
  AwaitRoute(on_spoke->nc, on_h2->nc);
  PublishMany(on_spoke->nc, "edge.up", 20);
  EXPECT_EQ(Receive({at_h2}, 20)[0].size(), 20u);
  natsSubscription* at_spoke = SubSync(on_spoke->nc, "edge.down");
  AwaitRoute(on_h2->nc, on_spoke->nc);
  PublishMany(on_h2->nc, "edge.down", 20);
  EXPECT_EQ(Receive({at_spoke}, 20)[0].size(), 20u);
  natsSubscription_Destroy(at_h2);
  natsSubscription_Destroy(at_spoke);
}

TEST(Leafnode, ALeafnodeMovesToAnotherNodeOfItsHubCluster) {
  ExpectLeafnodeMovesToAnotherHubNode(/*nats_hubs=*/false, /*nats_spoke=*/false);
  if (NatsServerPath().empty()) return;
  ExpectLeafnodeMovesToAnotherHubNode(/*nats_hubs=*/false, /*nats_spoke=*/true);
  ExpectLeafnodeMovesToAnotherHubNode(/*nats_hubs=*/true, /*nats_spoke=*/false);
}

// Two nodes each a leafnode of the other, for the same account: the second link closes a
// loop, and the node that hears its own $LDS subject back refuses it with nats-server's
// text (and the dialling side waits 30 s before it tries again).
TEST(Leafnode, ALoopIsDetectedAndRefused) {
  const int port_x = FreePort();
  const int port_y = FreePort();
  auto config = [](int own, int other) {
    return "leafnodes {\n  listen: 127.0.0.1:" + std::to_string(own) +
           "\n  remotes: [ { url: \"nats-leaf://127.0.0.1:" + std::to_string(other) + "\" } ]\n}\n";
  };
  auto x = StartWithConfig(false, "server_name: x\n" + config(port_x, port_y));
  auto y = StartWithConfig(false, "server_name: y\n" + config(port_y, port_x));
  ASSERT_TRUE(x && y);
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  bool detected = false;
  while (!detected && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    detected = (x->Log() + y->Log()).find("Loop detected for leafnode account=\"$G\"") !=
               std::string::npos;
  }
  EXPECT_TRUE(detected) << x->Log() << y->Log();
}

}  // namespace
}  // namespace tern::e2e
