// NATS Streaming (STAN) clients on a real tern-server (docs/STAN.md): libnats' STAN API
// connects and publishes, each PubAck'd message is in its channel's JetStream stream, and the
// server's answers to bad or stale requests are nats-streaming-server's (its texts, read from
// its source: nats-streaming-server is not packaged for Debian, so it is not run beside).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/stan/protocol.h"
#include "js_util.h"
#include "stan_util.h"

namespace tern::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::string ConnectBody(const std::string& client_id, const std::string& heartbeat_inbox,
                        const std::string& conn_id) {
  std::string body;
  core::stan::Encode(core::stan::ConnectRequest{.client_id = client_id,
                                                .heartbeat_inbox = heartbeat_inbox,
                                                .protocol = core::stan::kProtocolOne,
                                                .conn_id = conn_id,
                                                .ping_interval = 5,
                                                .ping_max_out = 88},
                     &body);
  return body;
}

std::string ConnectError(const std::string& answer) {
  core::stan::ConnectResponse response;
  if (!core::stan::Decode(answer, &response)) return "<unreadable>";
  return std::string(response.error);
}

std::string PingError(natsConnection* nc, const std::string& conn_id) {
  std::string body;
  core::stan::Encode(core::stan::Ping{.conn_id = conn_id}, &body);
  const std::string answer = Request(nc, "_STAN.discover.test-cluster.pings", body);
  core::stan::PingResponse response;
  if (!core::stan::Decode(answer, &response)) return "<unreadable>";
  return std::string(response.error);
}

TEST(Stan, PublishesAreAcknowledgedOnceStoredAndReadWithJetStream) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "publisher-1", &stan), NATS_OK);
  for (int i = 1; i <= 20; ++i) {
    const std::string data = "order " + std::to_string(i);
    ASSERT_EQ(
        stanConnection_Publish(stan.sc, "orders.eu", data.data(), static_cast<int>(data.size())),
        NATS_OK)
        << i;
  }
  // A second channel: a stream of its own.
  ASSERT_EQ(stanConnection_Publish(stan.sc, "audit", "a", 1), NATS_OK);

  // Every acknowledged message is in the channel's stream, in order, readable by JetStream.
  auto nats = Connect(*server);
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, nats->nc, nullptr), NATS_OK);
  jsStreamInfo* info = nullptr;
  ASSERT_EQ(js_GetStreamInfo(&info, js, "STAN_orders_eu", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(info->State.Msgs, 20u);
  ASSERT_EQ(info->Config->SubjectsLen, 1);
  EXPECT_STREQ(info->Config->Subjects[0], "_STAN.ch.orders.eu");
  jsStreamInfo_Destroy(info);
  natsMsg* stored = nullptr;
  ASSERT_EQ(js_GetMsg(&stored, js, "STAN_orders_eu", 7, nullptr, nullptr), NATS_OK);
  EXPECT_EQ(Payload(stored), "order 7");
  EXPECT_STREQ(natsMsg_GetSubject(stored), "_STAN.ch.orders.eu");
  natsMsg_Destroy(stored);
  ASSERT_EQ(js_GetStreamInfo(&info, js, "STAN_audit", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(info->State.Msgs, 1u);
  jsStreamInfo_Destroy(info);
  jsCtx_Destroy(js);

  // Bad channel names are refused at the publish, with nats-streaming-server's error.
  EXPECT_NE(stanConnection_Publish(stan.sc, "orders.*", "x", 1), NATS_OK);
  EXPECT_NE(std::string(nats_GetLastError(nullptr)).find("stan: invalid publish request"),
            std::string::npos)
      << nats_GetLastError(nullptr);
}

// The channel's stream answers a publish itself (core/stan/pub_ack_reply.h): a refusal by the
// stream reaches the client as the PubAck's error, and the next publish is stored.
TEST(Stan, AStreamsRefusalIsThePubAcksError) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  StanConn stan;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "sender", &stan), NATS_OK);
  PublishAll(stan.sc, "small", 1, 1);
  // An operator caps the channel's messages at 8 bytes through JetStream.
  auto nats = Connect(*server);
  nlohmann::json config =
      JsApi(nats->nc, "$JS.API.STREAM.INFO.STAN_small", nullptr).value("config", nlohmann::json());
  ASSERT_TRUE(config.is_object());
  config["max_msg_size"] = 8;
  const nlohmann::json updated = JsApi(nats->nc, "$JS.API.STREAM.UPDATE.STAN_small", config);
  ASSERT_FALSE(updated.contains("error")) << updated.dump();
  const std::string big = "far more than eight bytes";
  EXPECT_NE(stanConnection_Publish(stan.sc, "small", big.data(), static_cast<int>(big.size())),
            NATS_OK);
  EXPECT_NE(std::string(nats_GetLastError(nullptr)).find("message size exceeds maximum allowed"),
            std::string::npos)
      << nats_GetLastError(nullptr);
  PublishAll(stan.sc, "small", 2, 2);  // "m2" fits
  EXPECT_EQ(JsApi(nats->nc, "$JS.API.STREAM.INFO.STAN_small", nullptr)["state"]["messages"], 2);

  // Its stream deleted behind the service's back: the publish is refused, not left unanswered.
  JsApi(nats->nc, "$JS.API.STREAM.DELETE.STAN_small", nullptr);
  EXPECT_NE(stanConnection_Publish(stan.sc, "small", "x", 1), NATS_OK);
  EXPECT_NE(std::string(nats_GetLastError(nullptr)).find("the channel's stream is missing"),
            std::string::npos)
      << nats_GetLastError(nullptr);
}

TEST(Stan, ConnectRefusalsAreNatsStreamingServers) {
  auto server = StartStreaming({"-cid", "orders-cluster"});
  ASSERT_TRUE(server);
  StanConn first;
  ASSERT_EQ(StanConnect(*server, "orders-cluster", "worker-1", &first), NATS_OK);

  // The id is taken while its client answers heartbeats.
  StanConn second;
  std::string error;
  EXPECT_NE(StanConnect(*server, "orders-cluster", "worker-1", &second, &error), NATS_OK);
  EXPECT_NE(error.find("stan: clientID already registered"), std::string::npos) << error;

  StanConn bad;
  EXPECT_NE(StanConnect(*server, "orders-cluster", "not valid!", &bad, &error), NATS_OK);
  EXPECT_NE(error.find("stan: invalid clientID"), std::string::npos) << error;

  // Another cluster id: nobody answers the connect request.
  StanConn elsewhere;
  EXPECT_NE(StanConnect(*server, "test-cluster", "worker-2", &elsewhere, &error), NATS_OK);

  // No heartbeat inbox: an invalid request.
  auto nats = Connect(*server);
  EXPECT_EQ(ConnectError(Request(nats->nc, "_STAN.discover.orders-cluster",
                                 ConnectBody("worker-3", "", "c3"))),
            "stan: invalid connection request");
}

// A client whose heartbeat inbox nobody answers is gone: a newcomer with its id takes its
// place (after a half-second probe), and the old connection's pings then say so.
TEST(Stan, ADeadClientsIdIsTakenOverAndItsPingsSaySo) {
  auto server = StartStreaming();
  ASSERT_TRUE(server);
  auto nats = Connect(*server);
  EXPECT_EQ(ConnectError(Request(nats->nc, "_STAN.discover.test-cluster",
                                 ConnectBody("gone", "_INBOX.nobody.1", "old-conn"))),
            "");
  EXPECT_EQ(PingError(nats->nc, "old-conn"), "");
  EXPECT_EQ(ConnectError(Request(nats->nc, "_STAN.discover.test-cluster",
                                 ConnectBody("gone", "_INBOX.nobody.2", "new-conn"))),
            "");
  EXPECT_EQ(PingError(nats->nc, "old-conn"), "client has been replaced or is no longer registered");
  EXPECT_EQ(PingError(nats->nc, "new-conn"), "");

  // A publish carrying the replaced connection's id is refused.
  std::string pub;
  core::stan::Encode(core::stan::PubMsg{.client_id = "gone",
                                        .guid = "g1",
                                        .subject = "events",
                                        .data = "x",
                                        .conn_id = "old-conn"},
                     &pub);
  core::stan::PubAck ack;
  const std::string ack_bytes = Request(nats->nc, "_STAN.pub.test-cluster.events", pub);
  ASSERT_TRUE(core::stan::Decode(ack_bytes, &ack));
  EXPECT_EQ(ack.guid, "g1");
  EXPECT_EQ(ack.error, "stan: invalid publish request");
  // The new connection's is stored. A guid that cannot ride in a subject token (a dot, a
  // space, bytes that are not text) rides hex-encoded in the store's reply: the same PubAck.
  for (const std::string guid : {"g2", "odd.guid with space", "\xff\x01"}) {
    pub.clear();
    core::stan::Encode(core::stan::PubMsg{.client_id = "gone",
                                          .guid = guid,
                                          .subject = "events",
                                          .data = "y",
                                          .conn_id = "new-conn"},
                       &pub);
    const std::string stored = Request(nats->nc, "_STAN.pub.test-cluster.events", pub);
    ASSERT_TRUE(core::stan::Decode(stored, &ack)) << guid;
    EXPECT_EQ(ack.guid, guid);
    EXPECT_EQ(ack.error, "") << guid;
  }

  // Closing: once, then the id is unknown.
  std::string close;
  core::stan::Encode(core::stan::CloseRequest{.client_id = "gone"}, &close);
  core::stan::CloseResponse closed;
  const std::string first_close = Request(nats->nc, "_STAN.close.test-cluster", close);
  ASSERT_TRUE(core::stan::Decode(first_close, &closed));
  EXPECT_EQ(closed.error, "");
  const std::string second_close = Request(nats->nc, "_STAN.close.test-cluster", close);
  ASSERT_TRUE(core::stan::Decode(second_close, &closed));
  EXPECT_EQ(closed.error, "stan: unknown clientID");
  EXPECT_EQ(PingError(nats->nc, "new-conn"), "client has been replaced or is no longer registered");
}

// The server heartbeats each client; one that misses more than hb_fail_count in a row is
// closed, while a live libnats client (which answers them) stays.
TEST(Stan, AClientThatStopsAnsweringHeartbeatsIsClosed) {
  auto server = StartStreaming({"-hbi", "100ms", "-hbt", "100ms", "-hbf", "2"});
  ASSERT_TRUE(server);
  StanConn live;
  ASSERT_EQ(StanConnect(*server, "test-cluster", "alive", &live), NATS_OK);
  auto nats = Connect(*server);
  EXPECT_EQ(ConnectError(Request(nats->nc, "_STAN.discover.test-cluster",
                                 ConnectBody("silent", "_INBOX.nobody.3", "silent-conn"))),
            "");
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (PingError(nats->nc, "silent-conn").empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(PingError(nats->nc, "silent-conn"),
            "client has been replaced or is no longer registered");
  EXPECT_NE(server->Log().find("client \"silent\" closed"), std::string::npos) << server->Log();
  // Well past the silent one's end, the live client still publishes.
  EXPECT_EQ(stanConnection_Publish(live.sc, "still.here", "x", 1), NATS_OK)
      << nats_GetLastError(nullptr);
  EXPECT_EQ(server->Log().find("client \"alive\" closed"), std::string::npos) << server->Log();
}

TEST(Stan, BadStreamingSettingsStopTheServerWithAReason) {
  auto [code, out] = RunServerOnce("-cid 'no spaces'");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("invalid cluster id"), std::string::npos) << out;
  std::tie(code, out) = RunServerOnce("--streaming -hbi soon");
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("invalid duration \"soon\""), std::string::npos) << out;
  const std::string config = WriteConfig("streaming { cluster_id: prod, flavour: x }\n");
  std::tie(code, out) = RunServerOnce("-c " + config);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("unknown field \"flavour\" in streaming"), std::string::npos) << out;
}

}  // namespace
}  // namespace tern::e2e
