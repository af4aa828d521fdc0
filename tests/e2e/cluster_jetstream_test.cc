// JetStream through the routes: a Tern node (without JetStream of its own) in a cluster whose
// nats-server nodes run JetStream. Its clients use the other nodes' JetStream as if it were
// local: the API crosses as a system-account service (docs/CLUSTERING.md), the streams'
// subjects, acks and deliveries as ordinary routed messages.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Clock = std::chrono::steady_clock;

struct JsContext {
  explicit JsContext(natsConnection* nc) {
    EXPECT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
  }
  ~JsContext() { jsCtx_Destroy(js); }
  jsCtx* js = nullptr;
};

// Waits until the cluster's JetStream answers this client (its meta leader is elected and
// the routes are up): up to 30 s on a slow machine.
bool AwaitJetStream(jsCtx* js) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    jsAccountInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetAccountInfo(&info, js, nullptr, &jerr) == NATS_OK) {
      jsAccountInfo_Destroy(info);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

TEST(ClusterJetStream, TernClientsUseTheJetStreamOfNatsServerNodes) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  // Clustered JetStream wants its routes configured: every node names the other two.
  const std::vector<int> ports = {FreePort(), FreePort(), FreePort()};
  auto start = [&](bool nats, const std::string& name, std::size_t i,
                   std::vector<std::string> extra) {
    std::vector<std::string> routes;
    for (std::size_t j = 0; j < ports.size(); ++j) {
      if (j != i) routes.push_back("nats://127.0.0.1:" + std::to_string(ports[j]));
    }
    extra.push_back("--cluster");
    extra.push_back("nats://127.0.0.1:" + std::to_string(ports[i]));
    return StartNode(nats, name, routes, std::move(extra));
  };
  auto n1 = start(true, "N1", 0, {"-js", "-sd", MakeStoreDir()});
  auto n2 = start(true, "N2", 1, {"-js", "-sd", MakeStoreDir()});
  auto tern = start(false, "T3", 2, {});
  auto on_tern = Connect(*tern);
  auto on_nats = Connect(*n1);
  JsContext tern_js(on_tern->nc), nats_js(on_nats->nc);
  ASSERT_TRUE(AwaitJetStream(tern_js.js)) << "JetStream never answered the Tern node's client";

  // The stream is created, written and read from the Tern node; the nats-server node sees
  // the same stream, with what both nodes' clients stored in it.
  AddStream(tern_js.js, "ORDERS", {"orders.>"});
  constexpr int kMessages = 20;
  for (int i = 1; i <= kMessages; ++i) {
    jsCtx* js = i % 2 == 0 ? tern_js.js : nats_js.js;
    EXPECT_EQ(PublishOk(js, "orders." + std::to_string(i), "o" + std::to_string(i)),
              static_cast<uint64_t>(i));
  }
  jsStreamInfo* seen_from_nats = StreamInfo(nats_js.js, "ORDERS");
  ASSERT_NE(seen_from_nats, nullptr);
  EXPECT_EQ(seen_from_nats->State.Msgs, static_cast<uint64_t>(kMessages));
  jsStreamInfo_Destroy(seen_from_nats);

  // A pull consumer on the Tern node: every message once, in order, acked.
  natsSubscription* pull = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_PullSubscribe(&pull, tern_js.js, "orders.>", "puller", nullptr, nullptr, &jerr),
            NATS_OK)
      << jerr;
  std::vector<std::string> pulled;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (pulled.size() < kMessages && Clock::now() < deadline) {
    natsMsgList list{};
    if (natsSubscription_Fetch(&list, pull, kMessages, 2000, &jerr) != NATS_OK) continue;
    for (int i = 0; i < list.Count; ++i) {
      pulled.push_back(natsMsg_GetSubject(list.Msgs[i]) + std::string("=") + Payload(list.Msgs[i]));
      EXPECT_EQ(natsMsg_AckSync(list.Msgs[i], nullptr, &jerr), NATS_OK) << jerr;
    }
    natsMsgList_Destroy(&list);
  }
  ASSERT_EQ(pulled.size(), static_cast<std::size_t>(kMessages));
  for (int i = 1; i <= kMessages; ++i) {
    EXPECT_EQ(pulled[i - 1], "orders." + std::to_string(i) + "=o" + std::to_string(i));
  }
  jsConsumerInfo* info = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&info, nats_js.js, "ORDERS", "puller", nullptr, &jerr), NATS_OK);
  EXPECT_EQ(info->NumAckPending, 0) << "the acks from the Tern node reached the consumer";
  EXPECT_EQ(info->NumPending, 0u);
  jsConsumerInfo_Destroy(info);
  natsSubscription_Destroy(pull);

  // A push consumer on the Tern node: deliveries show the stream's subjects (the routed
  // reply@subject form unwrapped) and its acks count.
  natsSubscription* push = nullptr;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.Durable = "pusher";
  ASSERT_EQ(js_SubscribeSync(&push, tern_js.js, "orders.>", nullptr, &so, &jerr), NATS_OK) << jerr;
  std::set<std::string> pushed;
  for (int i = 0; i < kMessages; ++i) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, push, 5000), NATS_OK) << "delivery " << i;
    EXPECT_EQ(natsMsg_GetSubject(msg), "orders." + Payload(msg).substr(1));
    pushed.insert(Payload(msg));
    EXPECT_EQ(natsMsg_AckSync(msg, nullptr, &jerr), NATS_OK) << jerr;
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(pushed.size(), static_cast<std::size_t>(kMessages)) << "no message twice";
  ASSERT_EQ(js_GetConsumerInfo(&info, nats_js.js, "ORDERS", "pusher", nullptr, &jerr), NATS_OK);
  EXPECT_EQ(info->NumAckPending, 0);
  jsConsumerInfo_Destroy(info);
  natsSubscription_Unsubscribe(push);
  natsSubscription_Destroy(push);

  // A replicated stream (its leader on either nats-server node) takes the Tern node's
  // publishes the same way.
  jsStreamConfig replicated;
  jsStreamConfig_Init(&replicated);
  replicated.Name = "EVENTS";
  const char* events[] = {"events.>"};
  replicated.Subjects = events;
  replicated.SubjectsLen = 1;
  replicated.Replicas = 2;
  jsStreamInfo* created = nullptr;
  ASSERT_EQ(js_AddStream(&created, tern_js.js, &replicated, nullptr, &jerr), NATS_OK) << jerr;
  jsStreamInfo_Destroy(created);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(PublishOk(tern_js.js, "events.x", "e"), uint64_t(i));
  jsStreamInfo* events_info = StreamInfo(nats_js.js, "EVENTS");
  ASSERT_NE(events_info, nullptr);
  EXPECT_EQ(events_info->State.Msgs, 5u);
  jsStreamInfo_Destroy(events_info);

  // Deleting it from the Tern node deletes it for everybody.
  ASSERT_EQ(js_DeleteStream(tern_js.js, "ORDERS", nullptr, &jerr), NATS_OK) << jerr;
  jsStreamInfo* gone = nullptr;
  EXPECT_NE(js_GetStreamInfo(&gone, nats_js.js, "ORDERS", nullptr, &jerr), NATS_OK);
  EXPECT_EQ(jerr, JSStreamNotFoundErr);
}

// No node runs JetStream: the API request gets no-responders at once (clients say
// "JetStream not enabled"), as in a nats-server cluster without JetStream.
TEST(ClusterJetStream, NoJetStreamAnywhereMeansNoResponders) {
  auto a = StartNode(false, "A", {});
  auto b = StartNode(false, "B", {a->route_url()});
  auto on_b = Connect(*b);
  auto on_a = Connect(*a);
  AwaitRoute(on_b->nc, on_a->nc);
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&reply, on_b->nc, "$JS.API.INFO", "", 5000),
            NATS_NO_RESPONDERS);
}

}  // namespace
}  // namespace tern::e2e
