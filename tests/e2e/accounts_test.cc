// Accounts through libnats: isolated subject spaces (with several connections per account,
// so that with 2 and 4 shards they sit on different shards), stream and service
// imports with subject mapping, forged response routes, JetStream per account with its
// limits, and what monitoring shows.
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

const char* kAccountsConfig = R"(
accounts {
  A {
    users: [{user: a, password: a}, {user: a2, password: a}]
    exports: [
      {stream: "events.>"}
      {service: "help.*", accounts: [B]}
    ]
    jetstream: {max_streams: 1, max_file: 4096}
  }
  B {
    users: [{user: b, password: b}, {user: b2, password: b}]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: fromA}
      {service: {account: A, subject: "help.*"}, to: "ask.*"}
    ]
  }
  C { users: [{user: c, password: c}], jetstream: enabled }
  SYS { users: [{user: sys, password: sys}] }
}
system_account: SYS
)";

std::unique_ptr<NatsConn> As(const ServerProcess& server, const char* user) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetUserInfo(opts, user, user[0] == 's' ? "sys" : std::string(1, user[0]).c_str());
  std::unique_ptr<NatsConn> conn;
  EXPECT_EQ(TryConnect(server, opts, &conn), NATS_OK) << user;
  return conn;
}

natsSubscription* Sub(NatsConn& conn, const char* subject, const char* queue = nullptr) {
  natsSubscription* sub = nullptr;
  if (queue != nullptr) {
    EXPECT_EQ(natsConnection_QueueSubscribeSync(&sub, conn.nc, subject, queue), NATS_OK);
  } else {
    EXPECT_EQ(natsConnection_SubscribeSync(&sub, conn.nc, subject), NATS_OK);
  }
  EXPECT_EQ(natsConnection_Flush(conn.nc), NATS_OK);
  return sub;
}

// Messages that arrive within the time, by payload.
std::vector<std::string> Drain(natsSubscription* sub, int timeout_ms = 300) {
  std::vector<std::string> got;
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, sub, timeout_ms) == NATS_OK) {
    got.push_back(std::string(natsMsg_GetSubject(msg)) + "=" + Payload(msg));
    natsMsg_Destroy(msg);
  }
  return got;
}

nlohmann::json Request(NatsConn& conn, const std::string& subject, const std::string& body) {
  natsMsg* reply = nullptr;
  const natsStatus s =
      natsConnection_RequestString(&reply, conn.nc, subject.c_str(), body.c_str(), 3000);
  if (s != NATS_OK) return {{"status", natsStatus_GetText(s)}};
  auto json = nlohmann::json::parse(Payload(reply), nullptr, false);
  natsMsg_Destroy(reply);
  return json;
}

TEST(Accounts, SubjectSpacesAreIsolatedAcrossShards) {
  auto server = ServerProcess::Start({"-c", WriteConfig(kAccountsConfig)});
  // Two connections per account: with several shards they are dealt to different ones.
  auto a1 = As(*server, "a"), a2 = As(*server, "a2"), b1 = As(*server, "b"), b2 = As(*server, "b2");
  natsSubscription* a_plain = Sub(*a2, "orders.>");
  natsSubscription* a_queue = Sub(*a1, "orders.*", "workers");
  natsSubscription* b_plain = Sub(*b1, "orders.>");
  natsSubscription* b_all = Sub(*b2, ">");
  natsSubscription* b_queue = Sub(*b2, "orders.*", "workers");
  for (NatsConn* from : {a1.get(), a2.get()}) {
    ASSERT_EQ(natsConnection_PublishString(from->nc, "orders.new", "from-a"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(from->nc), NATS_OK);
  }
  EXPECT_EQ(Drain(a_plain).size(), 2u);
  EXPECT_EQ(Drain(a_queue).size(), 2u);
  EXPECT_TRUE(Drain(b_plain, 100).empty());
  EXPECT_TRUE(Drain(b_all, 100).empty());
  EXPECT_TRUE(Drain(b_queue, 100).empty());
  // And the other way round.
  ASSERT_EQ(natsConnection_PublishString(b1->nc, "orders.new", "from-b"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(b1->nc), NATS_OK);
  EXPECT_EQ(Drain(b_plain), std::vector<std::string>{"orders.new=from-b"});
  EXPECT_TRUE(Drain(a_plain, 100).empty());
  natsSubscription* subs[] = {a_plain, a_queue, b_plain, b_all, b_queue};
  for (natsSubscription* s : subs) natsSubscription_Destroy(s);
}

TEST(Accounts, StreamImportWithAPrefixAndOnlyOneWay) {
  auto server = ServerProcess::Start({"-c", WriteConfig(kAccountsConfig)});
  auto a = As(*server, "a"), a2 = As(*server, "a2"), b = As(*server, "b"), b2 = As(*server, "b2");
  natsSubscription* imported = Sub(*b, "fromA.events.>");
  natsSubscription* unmapped = Sub(*b2, "events.>");
  natsSubscription* own = Sub(*a2, "events.>");
  for (NatsConn* from : {a.get(), a2.get()}) {
    ASSERT_EQ(natsConnection_PublishString(from->nc, "events.login", "x"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(from->nc), NATS_OK);
  }
  // Not exported: stays in A.
  ASSERT_EQ(natsConnection_PublishString(a->nc, "other.thing", "y"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(a->nc), NATS_OK);
  EXPECT_EQ(Drain(imported),
            (std::vector<std::string>{"fromA.events.login=x", "fromA.events.login=x"}));
  EXPECT_EQ(Drain(own).size(), 2u);
  EXPECT_TRUE(Drain(unmapped, 100).empty());
  // B publishing on the same subjects reaches nobody in A.
  ASSERT_EQ(natsConnection_PublishString(b->nc, "events.login", "from-b"), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(b->nc, "fromA.events.login", "from-b"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(b->nc), NATS_OK);
  EXPECT_TRUE(Drain(own, 150).empty());
  natsSubscription_Destroy(imported);
  natsSubscription_Destroy(unmapped);
  natsSubscription_Destroy(own);
}

TEST(Accounts, ServiceImportAnswersAcrossAccountsAndShards) {
  auto server = ServerProcess::Start({"-c", WriteConfig(kAccountsConfig)});
  auto responder = As(*server, "a");
  auto b = As(*server, "b"), b2 = As(*server, "b2");
  // No responder yet: the requester hears so at once rather than timing out.
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&reply, b->nc, "ask.time", "now", 2000),
            NATS_NO_RESPONDERS);

  natsSubscription* requests = Sub(*responder, "help.*");
  std::atomic<bool> stop{false};
  std::thread serve([&] {
    while (!stop) {
      natsMsg* msg = nullptr;
      if (natsSubscription_NextMsg(&msg, requests, 100) != NATS_OK) continue;
      const std::string answer = std::string("answer to ") + natsMsg_GetSubject(msg);
      natsConnection_PublishString(responder->nc, natsMsg_GetReply(msg), answer.c_str());
      natsConnection_Flush(responder->nc);
      natsMsg_Destroy(msg);
    }
  });
  for (NatsConn* requester : {b.get(), b2.get()}) {
    for (const char* topic : {"time", "weather"}) {
      const std::string subject = std::string("ask.") + topic;
      const natsStatus status =
          natsConnection_RequestString(&reply, requester->nc, subject.c_str(), "?", 3000);
      EXPECT_EQ(status, NATS_OK) << subject << ": " << natsStatus_GetText(status);
      if (status != NATS_OK) continue;  // the responder thread must still be joined
      EXPECT_EQ(Payload(reply), std::string("answer to help.") + topic);
      natsMsg_Destroy(reply);
    }
  }
  stop = true;
  serve.join();
  natsSubscription_Destroy(requests);
}

TEST(Accounts, AForgedResponseRouteReachesNobody) {
  auto server = ServerProcess::Start({"-c", WriteConfig(kAccountsConfig)});
  auto a = As(*server, "a"), b = As(*server, "b");
  natsSubscription* inbox = Sub(*b, "_INBOX.>");
  natsSubscription* target = Sub(*b, "secret");
  // A client of A guesses the response route format: account ids 0-4, a bad tag.
  for (int id = 0; id < 5; ++id) {
    for (const char* tag : {"AAAAAAAAAAAAAAAA", "x"}) {
      const std::string forged = "_R_." + std::to_string(id) + "." + tag + ".secret";
      ASSERT_EQ(natsConnection_PublishString(a->nc, forged.c_str(), "forged"), NATS_OK);
      const std::string inbox_forged = "_R_." + std::to_string(id) + "." + tag + "._INBOX.x";
      ASSERT_EQ(natsConnection_PublishString(a->nc, inbox_forged.c_str(), "forged"), NATS_OK);
    }
  }
  ASSERT_EQ(natsConnection_Flush(a->nc), NATS_OK);
  EXPECT_TRUE(Drain(target, 200).empty());
  EXPECT_TRUE(Drain(inbox, 100).empty());
  natsSubscription_Destroy(inbox);
  natsSubscription_Destroy(target);
}

TEST(Accounts, JetStreamPerAccountWithItsLimits) {
  const std::string store = MakeStoreDir();
  auto server = ServerProcess::Start({"-js", "-sd", store, "-c", WriteConfig(kAccountsConfig)});
  auto a = As(*server, "a"), b = As(*server, "b"), c = As(*server, "c");
  // B has no JetStream: its API says so.
  const auto b_info = Request(*b, "$JS.API.INFO", "");
  EXPECT_EQ(b_info["error"]["err_code"], 10039) << b_info.dump();
  // A may have one stream; C has its own, of the same name, with other subjects.
  const std::string config = R"({"name":"S","subjects":["s.>"],"storage":"file"})";
  EXPECT_FALSE(Request(*a, "$JS.API.STREAM.CREATE.S", config).contains("error"));
  const auto second = Request(*a, "$JS.API.STREAM.CREATE.T", R"({"name":"T","subjects":["t.>"]})");
  EXPECT_EQ(second["error"]["err_code"], 10027) << second.dump();
  EXPECT_FALSE(Request(*c, "$JS.API.STREAM.CREATE.S", config).contains("error"));
  const auto a_info = Request(*a, "$JS.API.INFO", "");
  EXPECT_EQ(a_info["limits"]["max_streams"], 1) << a_info.dump();
  EXPECT_EQ(a_info["limits"]["max_storage"], 4096);

  // Messages go to the publisher's account's stream only.
  const std::string kilobyte(1000, 'k');
  int stored = 0, refused = 0;
  for (int i = 0; i < 8; ++i) {
    const auto ack = Request(*a, "s.data", kilobyte);
    if (!ack.contains("error")) {
      EXPECT_GT(ack.value("seq", 0), 0) << ack.dump();
      ++stored;
    } else {
      EXPECT_EQ(ack["error"]["err_code"], 10002) << ack.dump();
      ++refused;
    }
  }
  EXPECT_GE(stored, 2);
  EXPECT_LE(stored, 4);  // 4096 bytes of account storage
  EXPECT_EQ(stored + refused, 8);
  const auto c_stream = Request(*c, "$JS.API.STREAM.INFO.S", "");
  EXPECT_EQ(c_stream["state"]["messages"], 0) << c_stream.dump();
  const auto a_stream = Request(*a, "$JS.API.STREAM.INFO.S", "");
  EXPECT_EQ(a_stream["state"]["messages"], stored);
  // Each account's streams live in their own directory.
  EXPECT_EQ(access((store + "/jetstream/A/streams/S").c_str(), F_OK), 0);
  EXPECT_EQ(access((store + "/jetstream/C/streams/S").c_str(), F_OK), 0);
}

TEST(Accounts, TheSystemAccountHearsClientsComeAndGo) {
  auto server = ServerProcess::Start({"-c", WriteConfig(kAccountsConfig)});
  auto sys = As(*server, "sys");
  natsSubscription* events = Sub(*sys, "$SYS.ACCOUNT.*.*");
  {
    auto a = As(*server, "a");
    ASSERT_EQ(natsConnection_PublishString(a->nc, "x", "1"), NATS_OK);
    ASSERT_EQ(natsConnection_PublishString(a->nc, "x", "2"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(a->nc), NATS_OK);
  }  // closed
  // Nobody else sees system events: B subscribing to the same subjects gets nothing.
  auto b = As(*server, "b");
  natsSubscription* b_events = Sub(*b, "$SYS.>");
  // Events of different shards may interleave: collect them by subject.
  std::map<std::string, nlohmann::json> seen;
  for (int i = 0; i < 3; ++i) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, events, 2000), NATS_OK) << i;
    seen[natsMsg_GetSubject(msg)] = nlohmann::json::parse(Payload(msg));
    natsMsg_Destroy(msg);
  }
  const nlohmann::json& connect = seen["$SYS.ACCOUNT.A.CONNECT"];
  EXPECT_EQ(connect["type"], "io.nats.server.advisory.v1.client_connect");
  EXPECT_EQ(connect["client"]["acc"], "A");
  EXPECT_EQ(connect["client"]["user"], "a");
  const nlohmann::json& disconnect = seen["$SYS.ACCOUNT.A.DISCONNECT"];
  EXPECT_EQ(disconnect["type"], "io.nats.server.advisory.v1.client_disconnect");
  EXPECT_EQ(disconnect["received"]["msgs"], 2) << disconnect.dump();
  EXPECT_EQ(disconnect["reason"], "Client Closed");
  EXPECT_EQ(disconnect["client"]["id"], connect["client"]["id"]);
  EXPECT_EQ(seen["$SYS.ACCOUNT.B.CONNECT"]["client"]["user"], "b");
  EXPECT_TRUE(Drain(b_events, 200).empty());
  natsSubscription_Destroy(events);
  natsSubscription_Destroy(b_events);
}

TEST(Accounts, TheSystemAccountAnswersServerPings) {
  auto server = ServerProcess::Start({"-c", WriteConfig(kAccountsConfig)});
  auto sys = As(*server, "sys"), a = As(*server, "a"), a2 = As(*server, "a2");
  natsMsg* reply = nullptr;
  ASSERT_EQ(natsConnection_RequestString(&reply, sys->nc, "$SYS.REQ.SERVER.PING", "", 2000),
            NATS_OK);
  const auto statsz = nlohmann::json::parse(Payload(reply));
  natsMsg_Destroy(reply);
  EXPECT_EQ(statsz["server"]["id"].get<std::string>().size(), 56u) << statsz.dump();
  EXPECT_EQ(statsz["statsz"]["connections"], 3);
  // Addressed to this server by its id, too.
  const std::string by_id =
      "$SYS.REQ.SERVER." + statsz["server"]["id"].get<std::string>() + ".STATSZ";
  ASSERT_EQ(natsConnection_RequestString(&reply, sys->nc, by_id.c_str(), "", 2000), NATS_OK);
  natsMsg_Destroy(reply);
  // Outside the system account nobody answers.
  EXPECT_EQ(natsConnection_RequestString(&reply, a->nc, "$SYS.REQ.SERVER.PING", "", 1000),
            NATS_NO_RESPONDERS);
}

TEST(Accounts, NoAuthUserPutsAnonymousClientsInItsAccount) {
  auto server = ServerProcess::Start(
      {"-m", "-1", "-c", WriteConfig(std::string(kAccountsConfig) + "no_auth_user: b2\n")});
  auto anonymous = Connect(*server);  // no credentials: becomes b2, in account B
  auto a = As(*server, "a");
  natsSubscription* imported = Sub(*anonymous, "fromA.events.>");
  natsSubscription* own = Sub(*anonymous, "events.>");
  ASSERT_EQ(natsConnection_PublishString(a->nc, "events.x", "1"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(a->nc), NATS_OK);
  EXPECT_EQ(Drain(imported), std::vector<std::string>{"fromA.events.x=1"});
  EXPECT_TRUE(Drain(own, 100).empty());
  const auto connz = nlohmann::json::parse(HttpGet(server->monitor_port(), "/connz?acc=B").body);
  ASSERT_EQ(connz["connections"].size(), 1u) << connz.dump();
  EXPECT_EQ(connz["connections"][0]["authorized_user"], "b2");
  natsSubscription_Destroy(imported);
  natsSubscription_Destroy(own);
}

TEST(Accounts, MonitoringListsAccountsAndWhoIsInThem) {
  auto server = ServerProcess::Start({"-m", "-1", "-c", WriteConfig(kAccountsConfig)});
  auto a = As(*server, "a"), b = As(*server, "b"), b2 = As(*server, "b2");
  natsSubscription* sub = Sub(*b, "x");
  const int port = server->monitor_port();
  const auto list = nlohmann::json::parse(HttpGet(port, "/accountz").body);
  EXPECT_EQ(list["system_account"], "SYS");
  EXPECT_EQ(nlohmann::json::parse(HttpGet(port, "/varz").body)["system_account"], "SYS");
  EXPECT_EQ(list["accounts"], nlohmann::json({"$G", "A", "B", "C", "SYS"}));
  const auto detail = nlohmann::json::parse(HttpGet(port, "/accountz?acc=B").body);
  const auto& account = detail["account_detail"];
  EXPECT_EQ(account["client_connections"], 2) << detail.dump();
  EXPECT_GE(account["subscriptions"], 1);
  ASSERT_EQ(account["imports"].size(), 2u);
  EXPECT_EQ(account["imports"][0]["local_subject"], "fromA.events.>");
  EXPECT_EQ(account["imports"][1]["type"], "service");
  EXPECT_EQ(HttpGet(port, "/accountz?acc=Nope").status, 404);
  const auto connz = nlohmann::json::parse(HttpGet(port, "/connz?acc=B").body);
  ASSERT_EQ(connz["connections"].size(), 2u) << connz.dump();
  EXPECT_EQ(connz["connections"][0]["account"], "B");
  natsSubscription_Destroy(sub);
}

}  // namespace
}  // namespace tern::e2e
