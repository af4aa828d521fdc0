// Consumer and stream behaviours a user notices over time: ephemeral consumers reaped
// after inactivity, max_deliver, deliver policies, headers-only delivery, message expiry
// by max_age, rollups, idle heartbeats on push consumers, subject changes by update.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "js_util.h"

namespace tern::e2e {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

class JsConsumer : public JsFixture {
 protected:
  json Api(const std::string& subject, const std::string& body = "") {
    natsMsg* reply = nullptr;
    if (natsConnection_Request(&reply, conn_->nc, subject.c_str(), body.data(),
                               static_cast<int>(body.size()), 2000) != NATS_OK) {
      ADD_FAILURE() << "no reply to " << subject;
      return json();
    }
    json out = json::parse(Payload(reply), nullptr, false);
    natsMsg_Destroy(reply);
    return out;
  }
  void Create(const std::string& stream, const std::string& config_json) {
    json r = Api("$JS.API.STREAM.CREATE." + stream, config_json);
    ASSERT_FALSE(r.contains("error")) << r.dump();
  }
  json Consumer(const std::string& stream, const std::string& name, const std::string& config) {
    json r = Api("$JS.API.CONSUMER.CREATE." + stream + "." + name,
                 R"({"stream_name":")" + stream + R"(","config":)" + config + "}");
    EXPECT_FALSE(r.contains("error")) << r.dump();
    return r;
  }
  // Pulls up to n messages (waiting up to wait_ms) and returns their payloads.
  std::vector<std::string> Pull(const std::string& stream, const std::string& consumer, int n,
                                int wait_ms, std::vector<natsMsg*>* keep = nullptr) {
    natsSubscription* sub = nullptr;
    natsConnection_SubscribeSync(&sub, conn_->nc, "pull.inbox");
    natsConnection_Flush(conn_->nc);
    const std::string body = R"({"batch":)" + std::to_string(n) + R"(,"expires":)" +
                             std::to_string(int64_t{wait_ms} * 1'000'000) + "}";
    natsConnection_PublishRequest(conn_->nc,
                                  ("$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer).c_str(),
                                  "pull.inbox", body.data(), static_cast<int>(body.size()));
    std::vector<std::string> out;
    natsMsg* msg = nullptr;
    while (static_cast<int>(out.size()) < n &&
           natsSubscription_NextMsg(&msg, sub, wait_ms + 500) == NATS_OK) {
      if (natsMsg_GetReply(msg) == nullptr) {  // a status: the request ended
        natsMsg_Destroy(msg);
        break;
      }
      out.push_back(Payload(msg));
      if (keep != nullptr) {
        keep->push_back(msg);
      } else {
        natsMsg_Destroy(msg);
      }
    }
    natsSubscription_Destroy(sub);
    return out;
  }
};

TEST_F(JsConsumer, EphemeralConsumerIsRemovedAfterInactivity) {
  Create("EPH", R"({"name":"EPH","subjects":["eph"]})");
  json r = Api("$JS.API.CONSUMER.CREATE.EPH",
               R"({"stream_name":"EPH","config":{"inactive_threshold":300000000}})");
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const std::string name = r["name"];
  EXPECT_EQ(name.size(), 8u);
  EXPECT_FALSE(Api("$JS.API.CONSUMER.INFO.EPH." + name).contains("error"));
  std::this_thread::sleep_for(milliseconds(900));
  EXPECT_EQ(Api("$JS.API.CONSUMER.INFO.EPH." + name)["error"]["err_code"], 10014);
  // A durable stays.
  Consumer("EPH", "keep", R"({"durable_name":"keep"})");
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_FALSE(Api("$JS.API.CONSUMER.INFO.EPH.keep").contains("error"));
}

TEST_F(JsConsumer, MaxDeliverStopsRedelivery) {
  Create("MD", R"({"name":"MD","subjects":["md"]})");
  PublishOk(js_, "md", "once");
  Consumer("MD", "c",
           R"({"durable_name":"c","ack_policy":"explicit","ack_wait":200000000,"max_deliver":2})");
  EXPECT_EQ(Pull("MD", "c", 1, 500), std::vector<std::string>{"once"});
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(Pull("MD", "c", 1, 500), std::vector<std::string>{"once"});  // 2nd and last
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(Pull("MD", "c", 1, 400).empty());
  json info = Api("$JS.API.CONSUMER.INFO.MD.c");
  EXPECT_EQ(info["num_ack_pending"], 0);
  EXPECT_EQ(info["num_redelivered"], 1);
}

TEST_F(JsConsumer, DeliverPolicies) {
  Create("DP", R"({"name":"DP","subjects":["dp.*"]})");
  for (const char* s : {"dp.a", "dp.b", "dp.a", "dp.c", "dp.b"}) PublishOk(js_, s, s);
  Consumer("DP", "lps",
           R"({"durable_name":"lps","deliver_policy":"last_per_subject","filter_subject":"dp.*"})");
  // The last of each subject, in stream order: a@3, c@4, b@5.
  EXPECT_EQ(Api("$JS.API.CONSUMER.INFO.DP.lps")["num_pending"], 3);
  std::vector<natsMsg*> msgs;
  EXPECT_EQ(Pull("DP", "lps", 5, 400, &msgs), (std::vector<std::string>{"dp.a", "dp.c", "dp.b"}));
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(Deliveries(msgs[0]), 1u);
  jsMsgMetaData* meta = nullptr;
  ASSERT_EQ(natsMsg_GetMetaData(&meta, msgs[0]), NATS_OK);
  EXPECT_EQ(meta->Sequence.Stream, 3u);
  EXPECT_EQ(meta->NumPending, 2u);
  jsMsgMetaData_Destroy(meta);
  for (natsMsg* m : msgs) natsMsg_Destroy(m);

  Consumer("DP", "seq",
           R"({"durable_name":"seq","deliver_policy":"by_start_sequence","opt_start_seq":4})");
  EXPECT_EQ(Pull("DP", "seq", 5, 300), (std::vector<std::string>{"dp.c", "dp.b"}));
  Consumer("DP", "last", R"({"durable_name":"last","deliver_policy":"last"})");
  EXPECT_EQ(Pull("DP", "last", 5, 300), (std::vector<std::string>{"dp.b"}));
  Consumer("DP", "new", R"({"durable_name":"new","deliver_policy":"new"})");
  PublishOk(js_, "dp.z", "fresh");
  EXPECT_EQ(Pull("DP", "new", 5, 300), (std::vector<std::string>{"fresh"}));
  Consumer("DP", "filtered", R"({"durable_name":"filtered","filter_subject":"dp.b"})");
  EXPECT_EQ(Api("$JS.API.CONSUMER.INFO.DP.filtered")["num_pending"], 2);
}

TEST_F(JsConsumer, HeadersOnlyCarriesTheSize) {
  Create("HO", R"({"name":"HO","subjects":["ho"]})");
  PublishOk(js_, "ho", "twelve bytes");
  Consumer("HO", "h", R"({"durable_name":"h","headers_only":true})");
  std::vector<natsMsg*> msgs;
  ASSERT_EQ(Pull("HO", "h", 1, 300, &msgs).size(), 1u);
  EXPECT_EQ(natsMsg_GetDataLength(msgs[0]), 0);
  const char* size = nullptr;
  ASSERT_EQ(natsMsgHeader_Get(msgs[0], "Nats-Msg-Size", &size), NATS_OK);
  EXPECT_STREQ(size, "12");
  natsMsg_Destroy(msgs[0]);
}

TEST_F(JsConsumer, MaxAgeExpiresMessagesWithoutTraffic) {
  Create("AGE", R"({"name":"AGE","subjects":["age"],"max_age":300000000})");
  PublishOk(js_, "age", "short-lived");
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.AGE")["state"]["messages"], 1);
  std::this_thread::sleep_for(milliseconds(700));
  json state = Api("$JS.API.STREAM.INFO.AGE")["state"];
  EXPECT_EQ(state["messages"], 0);
  EXPECT_EQ(state["first_seq"], 2);
}

TEST_F(JsConsumer, RollupKeepsOnlyTheNewest) {
  Create("ROLL", R"({"name":"ROLL","subjects":["roll.*"],"allow_rollup_hdrs":true})");
  for (int i = 0; i < 3; ++i) PublishOk(js_, "roll.a", "old");
  PublishOk(js_, "roll.b", "other");
  natsMsg* msg = nullptr;
  natsMsg_Create(&msg, "roll.a", nullptr, "state", 5);
  natsMsgHeader_Set(msg, "Nats-Rollup", "sub");
  jsPubAck* ack = nullptr;
  ASSERT_EQ(js_PublishMsg(&ack, js_, msg, nullptr, nullptr), NATS_OK);
  EXPECT_EQ(ack->Sequence, 5u);
  jsPubAck_Destroy(ack);
  natsMsg_Destroy(msg);
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.ROLL")["state"]["messages"], 2);  // roll.b and the rollup
  // Without allow_rollup_hdrs the header is refused.
  Create("NOROLL", R"({"name":"NOROLL","subjects":["noroll"]})");
  natsMsg_Create(&msg, "noroll", nullptr, "x", 1);
  natsMsgHeader_Set(msg, "Nats-Rollup", "all");
  jsErrCode jerr = static_cast<jsErrCode>(0);
  EXPECT_NE(js_PublishMsg(&ack, js_, msg, nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10111);
  natsMsg_Destroy(msg);
}

TEST_F(JsConsumer, PushConsumerSendsIdleHeartbeats) {
  Create("HB", R"({"name":"HB","subjects":["hb"]})");
  RawConn raw(server_->port());
  raw.Send(
      "CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\nSUB hb.deliver "
      "1\r\nPING\r\n");
  raw.ReadUntil("PONG");
  Consumer("HB", "push",
           R"({"durable_name":"push","deliver_subject":"hb.deliver","idle_heartbeat":200000000})");
  const std::string got = raw.ReadUntil("Nats-Last-Stream", 2000);
  EXPECT_NE(got.find("100 Idle Heartbeat"), std::string::npos) << got;
  EXPECT_NE(got.find("Nats-Last-Consumer: 0"), std::string::npos) << got;
  EXPECT_TRUE(Api("$JS.API.CONSUMER.INFO.HB.push").value("push_bound", false));
}

TEST_F(JsConsumer, UpdateChangesTheCapturedSubjects) {
  Create("UPD", R"({"name":"UPD","subjects":["old.*"]})");
  PublishOk(js_, "old.x", "1");
  json r = Api("$JS.API.STREAM.UPDATE.UPD", R"({"name":"UPD","subjects":["new.*"]})");
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(PublishOk(js_, "new.x", "2"), 2u);
  jsPubAck* ack = nullptr;
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = 500;
  EXPECT_EQ(js_Publish(&ack, js_, "old.x", "3", 1, &opts, nullptr), NATS_NO_RESPONDERS);
}

}  // namespace
}  // namespace tern::e2e

namespace tern::e2e {
namespace {

TEST_F(JsConsumer, FlowControlStallsUntilAnswered) {
  Create("FC", R"({"name":"FC","subjects":["fc"]})");
  const std::string payload(64 * 1024, 'f');
  for (int i = 0; i < 100; ++i) PublishOk(js_, "fc", payload);  // 6.4 MiB
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, conn_->nc, "fc.deliver"), NATS_OK);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_Flush(conn_->nc);
  Consumer(
      "FC", "push",
      R"({"durable_name":"push","deliver_subject":"fc.deliver","flow_control":true,"idle_heartbeat":5000000000})");
  int data = 0;
  std::string fc_reply;
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, sub, 700) == NATS_OK) {
    if (natsMsg_GetDataLength(msg) > 0) {
      ++data;
    } else if (natsMsg_GetReply(msg) != nullptr) {
      fc_reply = natsMsg_GetReply(msg);  // "100 FlowControl Request"
    }
    natsMsg_Destroy(msg);
  }
  // Stalled after about one window (4 MiB), with a flow-control request to answer.
  EXPECT_GT(data, 30);
  EXPECT_LT(data, 100);
  ASSERT_EQ(fc_reply.rfind("$JS.FC.FC.push.", 0), 0u) << fc_reply;
  ASSERT_EQ(natsConnection_PublishString(conn_->nc, fc_reply.c_str(), ""), NATS_OK);
  while (data < 100 && natsSubscription_NextMsg(&msg, sub, 2000) == NATS_OK) {
    if (natsMsg_GetDataLength(msg) > 0) {
      ++data;
    } else if (natsMsg_GetReply(msg) != nullptr) {
      natsConnection_PublishString(conn_->nc, natsMsg_GetReply(msg), "");
    }
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(data, 100);
  natsSubscription_Destroy(sub);
}

TEST_F(JsConsumer, ReplayOriginalKeepsTheGaps) {
  Create("RP", R"({"name":"RP","subjects":["rp"]})");
  PublishOk(js_, "rp", "first");
  std::this_thread::sleep_for(milliseconds(400));
  PublishOk(js_, "rp", "second");
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, conn_->nc, "rp.deliver"), NATS_OK);
  natsConnection_Flush(conn_->nc);
  Consumer("RP", "slow",
           R"({"durable_name":"slow","deliver_subject":"rp.deliver","replay_policy":"original"})");
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 2000), NATS_OK);
  const auto first = std::chrono::steady_clock::now();
  natsMsg_Destroy(msg);
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 2000), NATS_OK);
  const auto gap = std::chrono::steady_clock::now() - first;
  EXPECT_EQ(Payload(msg), "second");
  natsMsg_Destroy(msg);
  EXPECT_GE(gap, milliseconds(300));
  natsSubscription_Destroy(sub);
}

TEST_F(JsConsumer, SealedStreamRefusesChanges) {
  Create("SEAL", R"({"name":"SEAL","subjects":["seal"]})");
  PublishOk(js_, "seal", "kept");
  json r =
      Api("$JS.API.STREAM.UPDATE.SEAL", R"({"name":"SEAL","subjects":["seal"],"sealed":true})");
  ASSERT_FALSE(r.contains("error")) << r.dump();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsPubAck* ack = nullptr;
  EXPECT_NE(js_Publish(&ack, js_, "seal", "x", 1, nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10109);
  EXPECT_EQ(Api("$JS.API.STREAM.PURGE.SEAL")["error"]["err_code"], 10109);
  EXPECT_EQ(Api("$JS.API.STREAM.MSG.DELETE.SEAL", R"({"seq":1})")["error"]["err_code"], 10109);
  EXPECT_EQ(Api("$JS.API.STREAM.UPDATE.SEAL",
                R"({"name":"SEAL","subjects":["seal"]})")["error"]["err_code"],
            10052);  // cannot unseal
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.SEAL")["state"]["messages"], 1);
}

}  // namespace
}  // namespace tern::e2e

namespace tern::e2e {
namespace {

// Sends an ack-family payload for a delivered message and waits for the server's reply.
void AckWith(natsConnection* nc, natsMsg* msg, const std::string& payload) {
  natsMsg* reply = nullptr;
  ASSERT_EQ(natsConnection_Request(&reply, nc, natsMsg_GetReply(msg), payload.data(),
                                   static_cast<int>(payload.size()), 2000),
            NATS_OK)
      << payload;
  natsMsg_Destroy(reply);
}

TEST_F(JsConsumer, AckAllNakDelayProgressAndNext) {
  Create("ACK", R"({"name":"ACK","subjects":["ack"]})");
  for (int i = 1; i <= 6; ++i) PublishOk(js_, "ack", "m" + std::to_string(i));
  // ack_policy all: acking the third acks the first two as well.
  Consumer("ACK", "all", R"({"durable_name":"all","ack_policy":"all"})");
  std::vector<natsMsg*> msgs;
  ASSERT_EQ(Pull("ACK", "all", 3, 300, &msgs).size(), 3u);
  AckWith(conn_->nc, msgs[2], "+ACK");
  for (natsMsg* m : msgs) natsMsg_Destroy(m);
  json info = Api("$JS.API.CONSUMER.INFO.ACK.all");
  EXPECT_EQ(info["num_ack_pending"], 0);
  EXPECT_EQ(info["ack_floor"]["stream_seq"], 3);

  // -NAK with a delay: not redelivered before it.
  Consumer("ACK", "nak",
           R"({"durable_name":"nak","ack_policy":"explicit","ack_wait":10000000000})");
  msgs.clear();
  ASSERT_EQ(Pull("ACK", "nak", 1, 300, &msgs), std::vector<std::string>{"m1"});
  AckWith(conn_->nc, msgs[0], R"(-NAK {"delay":600000000})");
  natsMsg_Destroy(msgs[0]);
  EXPECT_EQ(Pull("ACK", "nak", 1, 200), std::vector<std::string>{"m2"});  // m1 still waits
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(Pull("ACK", "nak", 1, 300), std::vector<std::string>{"m1"});

  // +WPI pushes the redelivery deadline back.
  Consumer("ACK", "wpi", R"({"durable_name":"wpi","ack_policy":"explicit","ack_wait":500000000})");
  msgs.clear();
  ASSERT_EQ(Pull("ACK", "wpi", 1, 300, &msgs), std::vector<std::string>{"m1"});
  std::this_thread::sleep_for(milliseconds(350));
  AckWith(conn_->nc, msgs[0], "+WPI");
  std::this_thread::sleep_for(milliseconds(350));  // 700 ms after delivery, 350 after +WPI
  EXPECT_EQ(Pull("ACK", "wpi", 1, 100), std::vector<std::string>{"m2"});
  natsMsg_Destroy(msgs[0]);

  // +NXT acks and asks for the next message in one go.
  Consumer("ACK", "nxt", R"({"durable_name":"nxt","ack_policy":"explicit"})");
  msgs.clear();
  ASSERT_EQ(Pull("ACK", "nxt", 1, 300, &msgs), std::vector<std::string>{"m1"});
  natsMsg* next = nullptr;
  ASSERT_EQ(natsConnection_RequestString(&next, conn_->nc, natsMsg_GetReply(msgs[0]), "+NXT", 2000),
            NATS_OK);
  EXPECT_EQ(Payload(next), "m2");
  natsMsg_Destroy(next);
  natsMsg_Destroy(msgs[0]);
  EXPECT_EQ(Api("$JS.API.CONSUMER.INFO.ACK.nxt")["ack_floor"]["stream_seq"], 1);
}

TEST_F(JsConsumer, MaxAckPendingAndBackoff) {
  Create("MAP", R"({"name":"MAP","subjects":["map"]})");
  for (int i = 1; i <= 5; ++i) PublishOk(js_, "map", "m" + std::to_string(i));
  Consumer("MAP", "c", R"({"durable_name":"c","ack_policy":"explicit","max_ack_pending":2})");
  EXPECT_EQ(Pull("MAP", "c", 5, 300).size(), 2u);  // no more until something is acked
  // Backoff through a real client, with wide margins so that a loaded machine cannot
  // tell it apart; the exact instants are checked under a hand-moved clock
  // (tests/unit/consumer_clock_test.cc, BackoffSpacesRedeliveries).
  Consumer(
      "MAP", "b",
      R"({"durable_name":"b","ack_policy":"explicit","backoff":[500000000,8000000000],"max_deliver":4})");
  EXPECT_EQ(Pull("MAP", "b", 1, 2000), std::vector<std::string>{"m1"});
  std::this_thread::sleep_for(milliseconds(800));  // first backoff: 500 ms
  EXPECT_EQ(Pull("MAP", "b", 1, 2000), std::vector<std::string>{"m1"});
  // The second backoff is 8 s: m1 is not due again, the next message comes first.
  EXPECT_EQ(Pull("MAP", "b", 1, 2000), std::vector<std::string>{"m2"});
}

TEST_F(JsConsumer, PullMaxBytesAndStartTime) {
  Create("MB", R"({"name":"MB","subjects":["mb"]})");
  for (int i = 1; i <= 3; ++i) PublishOk(js_, "mb", std::string(100, 'x'));
  std::this_thread::sleep_for(milliseconds(50));
  const std::string mark = Api("$JS.API.STREAM.INFO.MB")["state"]["last_ts"];
  std::this_thread::sleep_for(milliseconds(50));
  PublishOk(js_, "mb", "after");
  Consumer("MB", "c", R"({"durable_name":"c"})");
  // max_bytes 250 fits two 100-byte messages (plus subjects), not three.
  natsSubscription* sub = nullptr;
  natsConnection_SubscribeSync(&sub, conn_->nc, "mb.inbox");
  natsConnection_Flush(conn_->nc);
  const std::string body = R"({"batch":10,"max_bytes":250,"expires":500000000})";
  natsConnection_PublishRequest(conn_->nc, "$JS.API.CONSUMER.MSG.NEXT.MB.c", "mb.inbox",
                                body.data(), static_cast<int>(body.size()));
  int data = 0;
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, sub, 800) == NATS_OK) {
    data += natsMsg_GetReply(msg) != nullptr;
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(data, 2);
  natsSubscription_Destroy(sub);
  // by_start_time: from the first message stored after the mark.
  Consumer("MB", "t",
           R"({"durable_name":"t","deliver_policy":"by_start_time","opt_start_time":")" + mark +
               R"("})");
  EXPECT_EQ(Pull("MB", "t", 5, 300).size(), 2u);  // the last 100-byte one and "after"
}

TEST_F(JsConsumer, InterestRetentionKeepsOnlyWhatConsumersStillNeed) {
  Create("INT", R"({"name":"INT","subjects":["int"],"retention":"interest"})");
  PublishOk(js_, "int", "nobody listens");  // no consumers: acked, not kept
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.INT")["state"]["messages"], 0);
  Consumer("INT", "a", R"({"durable_name":"a","ack_policy":"explicit"})");
  Consumer("INT", "b", R"({"durable_name":"b","ack_policy":"explicit"})");
  PublishOk(js_, "int", "for both");
  std::vector<natsMsg*> msgs;
  ASSERT_EQ(Pull("INT", "a", 1, 300, &msgs).size(), 1u);
  AckWith(conn_->nc, msgs[0], "+ACK");
  natsMsg_Destroy(msgs[0]);
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.INT")["state"]["messages"], 1);  // b has not acked
  msgs.clear();
  ASSERT_EQ(Pull("INT", "b", 1, 300, &msgs).size(), 1u);
  AckWith(conn_->nc, msgs[0], "+ACK");
  natsMsg_Destroy(msgs[0]);
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.INT")["state"]["messages"], 0);
}

TEST_F(JsConsumer, MemoryStreamsWorkAndAreNotKeptAcrossRestart) {
  Create("MEM", R"({"name":"MEM","subjects":["mem"],"storage":"memory"})");
  for (int i = 0; i < 10; ++i) PublishOk(js_, "mem", "m");
  Consumer("MEM", "c", R"({"durable_name":"c"})");
  EXPECT_EQ(Pull("MEM", "c", 10, 300).size(), 10u);
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.MEM")["config"]["storage"], "memory");
  EXPECT_GT(Api("$JS.API.INFO")["memory"].get<int>(), 0);
  Restart(SIGTERM);
  EXPECT_EQ(Api("$JS.API.STREAM.INFO.MEM")["error"]["err_code"], 10059);
}

// A pull request whose reply subject the consumer's own stream stores: the delivery is
// stored again, and with max_msgs 1 that evicts the message being delivered, the last live
// one of its (full) segment, so the segment goes while the message is still being routed.
// Every receiver must still get the message intact.
TEST_F(JsConsumer, PullDeliveryIntoItsOwnStreamArrivesIntact) {
  Create("CYC", R"({"name":"CYC","subjects":["cyc.>"],"max_msgs":1,"storage":"file"})");
  // 1,000,000 bytes each: sixteen fill the first 16 MiB segment, a seventeenth would not fit.
  constexpr int kMessages = 16;
  std::string last;
  for (int i = 1; i <= kMessages; ++i) {
    last.assign(1'000'000, static_cast<char>('a' + i % 26));
    ASSERT_GT(PublishOk(js_, "cyc.data." + std::to_string(i), last), 0u) << i;
  }
  Consumer("CYC", "C", R"({"durable_name":"C","ack_policy":"none","filter_subject":"cyc.data.>"})");
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, conn_->nc, "cyc.inbox"), NATS_OK);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  ASSERT_EQ(natsConnection_Flush(conn_->nc), NATS_OK);
  ASSERT_EQ(natsConnection_PublishRequestString(conn_->nc, "$JS.API.CONSUMER.MSG.NEXT.CYC.C",
                                                "cyc.inbox", R"({"batch":1})"),
            NATS_OK);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 5000), NATS_OK);
  EXPECT_STREQ(natsMsg_GetSubject(msg), "cyc.data.16");
  EXPECT_TRUE(Payload(msg) == last) << "payload damaged in delivery";
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(sub);
  // The server is alive and stored the delivery as the stream's newest message.
  const json info = Api("$JS.API.STREAM.INFO.CYC");
  EXPECT_EQ(info["state"]["last_seq"], kMessages + 1) << info.dump();
  EXPECT_EQ(info["state"]["messages"], 1) << info.dump();
}

}  // namespace
}  // namespace tern::e2e
