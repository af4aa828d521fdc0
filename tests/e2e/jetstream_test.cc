// JetStream through libnats' JetStream API against a real tern-server: streams, publish
// acknowledgements, de-duplication and expectations, pull and push consumers, acks and
// redelivery. Connections are dealt to different shards, so with 2 and 4 shards the
// streams' home shards differ from the publishers' and the consumers'.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

class JetStream : public JsFixture {};

TEST_F(JetStream, CreateIsIdempotentAndConflictsAreReported) {
  AddStream(js_, "ORDERS", {"orders.>"});
  // The same configuration again is fine; a different one is refused with 10058.
  AddStream(js_, "ORDERS", {"orders.>"});
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = "ORDERS";
  const char* other[] = {"other.>"};
  cfg.Subjects = other;
  cfg.SubjectsLen = 1;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  EXPECT_NE(js_AddStream(&si, js_, &cfg, nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10058);
  // Subjects overlapping another stream's: 10065.
  cfg.Name = "OVERLAP";
  const char* overlap[] = {"orders.eu.*"};
  cfg.Subjects = overlap;
  EXPECT_NE(js_AddStream(&si, js_, &cfg, nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10065);
  // Unknown stream: 10059.
  EXPECT_NE(js_GetStreamInfo(&si, js_, "NOPE", nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10059);
  // Invalid names never reach the store.
  cfg.Name = "bad.name";
  cfg.SubjectsLen = 0;
  EXPECT_NE(js_AddStream(&si, js_, &cfg, nullptr, &jerr), NATS_OK);
}

TEST_F(JetStream, PublishesFromManyConnectionsGetDistinctSequences) {
  AddStream(js_, "EVENTS", {"events.*"});
  constexpr int kConnections = 4, kEach = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> seqs(kConnections);
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      auto conn = Connect(*server_);
      jsCtx* js = nullptr;
      natsConnection_JetStream(&js, conn->nc, nullptr);
      for (int i = 0; i < kEach; ++i) {
        const std::string subject = "events." + std::to_string(c);
        seqs[c].push_back(PublishOk(js, subject, "payload-" + std::to_string(i)));
      }
      jsCtx_Destroy(js);
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& list : seqs) all.insert(list.begin(), list.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kConnections * kEach));
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kConnections * kEach));
  jsStreamInfo* si = StreamInfo(js_, "EVENTS");
  EXPECT_EQ(si->State.Msgs, static_cast<uint64_t>(kConnections * kEach));
  EXPECT_EQ(si->State.LastSeq, static_cast<uint64_t>(kConnections * kEach));
  jsStreamInfo_Destroy(si);
}

TEST_F(JetStream, PublishWithoutStreamGetsNoResponders) {
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MaxWait = 2000;
  EXPECT_EQ(js_Publish(&ack, js_, "nobody.home", "x", 1, &opts, &jerr), NATS_NO_RESPONDERS);
}

TEST_F(JetStream, MsgIdDeduplicatesAndExpectationsAreEnforced) {
  AddStream(js_, "DEDUP", {"dedup.>"});
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MsgId = "order-1";
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_Publish(&ack, js_, "dedup.a", "one", 3, &opts, &jerr), NATS_OK);
  EXPECT_EQ(ack->Sequence, 1u);
  EXPECT_FALSE(ack->Duplicate);
  jsPubAck_Destroy(ack);
  ASSERT_EQ(js_Publish(&ack, js_, "dedup.a", "one again", 9, &opts, &jerr), NATS_OK);
  EXPECT_EQ(ack->Sequence, 1u);
  EXPECT_TRUE(ack->Duplicate);
  jsPubAck_Destroy(ack);

  jsPubOptions_Init(&opts);
  opts.ExpectLastSeq = 7;
  EXPECT_NE(js_Publish(&ack, js_, "dedup.b", "x", 1, &opts, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10071);
  jsPubOptions_Init(&opts);
  opts.ExpectStream = "ELSEWHERE";
  EXPECT_NE(js_Publish(&ack, js_, "dedup.b", "x", 1, &opts, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10060);
  jsPubOptions_Init(&opts);
  opts.ExpectLastSubjectSeq = 1;
  ASSERT_EQ(js_Publish(&ack, js_, "dedup.a", "second", 6, &opts, &jerr), NATS_OK);
  EXPECT_EQ(ack->Sequence, 2u);
  jsPubAck_Destroy(ack);
  jsPubOptions_Init(&opts);
  opts.ExpectLastMsgId = "wrong";
  EXPECT_NE(js_Publish(&ack, js_, "dedup.a", "x", 1, &opts, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10070);

  jsStreamInfo* si = StreamInfo(js_, "DEDUP");
  EXPECT_EQ(si->State.Msgs, 2u);
  jsStreamInfo_Destroy(si);
}

TEST_F(JetStream, DiscardNewLimitRefusesWithStoreError) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = "LIMITED";
  const char* subjects[] = {"limited"};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.MaxMsgs = 3;
  cfg.Discard = js_DiscardNew;
  jsStreamInfo* si = nullptr;
  ASSERT_EQ(js_AddStream(&si, js_, &cfg, nullptr, nullptr), NATS_OK);
  jsStreamInfo_Destroy(si);
  for (int i = 0; i < 3; ++i) PublishOk(js_, "limited", "m");
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  EXPECT_NE(js_Publish(&ack, js_, "limited", "m", 1, nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10077);
  EXPECT_NE(nats_GetLastError(nullptr), nullptr);
  EXPECT_NE(std::string(nats_GetLastError(nullptr)).find("maximum messages exceeded"),
            std::string::npos);
}

TEST_F(JetStream, GetDeleteAndPurgeMessages) {
  AddStream(js_, "STORE", {"store.>"});
  for (int i = 1; i <= 5; ++i)
    PublishOk(js_, i % 2 ? "store.odd" : "store.even", std::to_string(i));
  natsMsg* msg = nullptr;
  ASSERT_EQ(js_GetMsg(&msg, js_, "STORE", 3, nullptr, nullptr), NATS_OK);
  EXPECT_EQ(Payload(msg), "3");
  EXPECT_STREQ(natsMsg_GetSubject(msg), "store.odd");
  natsMsg_Destroy(msg);
  ASSERT_EQ(js_GetLastMsg(&msg, js_, "STORE", "store.even", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(Payload(msg), "4");
  natsMsg_Destroy(msg);
  ASSERT_EQ(js_DeleteMsg(js_, "STORE", 3, nullptr, nullptr), NATS_OK);
  jsErrCode jerr = static_cast<jsErrCode>(0);
  EXPECT_NE(js_GetMsg(&msg, js_, "STORE", 3, nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10037);
  EXPECT_NE(js_DeleteMsg(js_, "STORE", 3, nullptr, &jerr), NATS_OK);
  jsStreamInfo* si = StreamInfo(js_, "STORE");
  EXPECT_EQ(si->State.Msgs, 4u);
  jsStreamInfo_Destroy(si);
  ASSERT_EQ(js_PurgeStream(js_, "STORE", nullptr, nullptr), NATS_OK);
  si = StreamInfo(js_, "STORE");
  EXPECT_EQ(si->State.Msgs, 0u);
  EXPECT_EQ(si->State.FirstSeq, 6u);
  EXPECT_EQ(si->State.LastSeq, 5u);
  jsStreamInfo_Destroy(si);
  // Sequences are never reused after a purge.
  EXPECT_EQ(PublishOk(js_, "store.odd", "after"), 6u);
  ASSERT_EQ(js_DeleteStream(js_, "STORE", nullptr, nullptr), NATS_OK);
  EXPECT_NE(js_GetStreamInfo(&si, js_, "STORE", nullptr, &jerr), NATS_OK);
  EXPECT_EQ(static_cast<int>(jerr), 10059);
}

TEST_F(JetStream, PullConsumerFetchesAcksAndTimesOut) {
  AddStream(js_, "WORK", {"work.>"});
  for (int i = 0; i < 20; ++i) PublishOk(js_, "work.item", "job-" + std::to_string(i));
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_PullSubscribe(&sub, js_, "work.>", "workers", nullptr, nullptr, &jerr), NATS_OK);
  std::vector<std::string> got;
  while (got.size() < 20) {
    natsMsgList list = {nullptr, 0};
    ASSERT_EQ(natsSubscription_Fetch(&list, sub, 7, 2000, &jerr), NATS_OK);
    for (int i = 0; i < list.Count; ++i) {
      got.push_back(Payload(list.Msgs[i]));
      EXPECT_EQ(natsMsg_AckSync(list.Msgs[i], nullptr, nullptr), NATS_OK);
    }
    natsMsgList_Destroy(&list);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(got[i], "job-" + std::to_string(i));
  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&ci, js_, "WORK", "workers", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(ci->Delivered.Stream, 20u);
  EXPECT_EQ(ci->AckFloor.Stream, 20u);
  EXPECT_EQ(ci->NumAckPending, 0);
  EXPECT_EQ(ci->NumPending, 0u);
  jsConsumerInfo_Destroy(ci);
  // Nothing left: the fetch ends with a timeout, not with a stray message.
  natsMsgList list = {nullptr, 0};
  EXPECT_EQ(natsSubscription_Fetch(&list, sub, 5, 300, &jerr), NATS_TIMEOUT);
  natsSubscription_Destroy(sub);
}

TEST_F(JetStream, UnackedMessagesAreRedeliveredAndNakIsImmediate) {
  AddStream(js_, "RETRY", {"retry"});
  PublishOk(js_, "retry", "first");
  PublishOk(js_, "retry", "second");
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "r";
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = 400'000'000;  // 400 ms
  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_AddConsumer(&ci, js_, "RETRY", &cc, nullptr, nullptr), NATS_OK);
  jsConsumerInfo_Destroy(ci);
  jsSubOptions so;
  jsSubOptionsInit(&so, "RETRY", "r");
  natsSubscription* sub = nullptr;
  ASSERT_EQ(js_PullSubscribe(&sub, js_, "retry", "r", nullptr, &so, nullptr), NATS_OK);

  natsMsgList list = {nullptr, 0};
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 1, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 1);
  EXPECT_EQ(Payload(list.Msgs[0]), "first");
  EXPECT_EQ(natsMsg_Nak(list.Msgs[0], nullptr), NATS_OK);  // straight back
  natsMsgList_Destroy(&list);
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 1, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 1);
  EXPECT_EQ(Payload(list.Msgs[0]), "first");
  EXPECT_EQ(Deliveries(list.Msgs[0]), 2u);
  natsMsgList_Destroy(&list);  // not acked: comes back after ack_wait

  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 1, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 1);
  EXPECT_EQ(Payload(list.Msgs[0]), "first");
  EXPECT_EQ(Deliveries(list.Msgs[0]), 3u);
  EXPECT_EQ(natsMsg_Term(list.Msgs[0], nullptr), NATS_OK);
  natsMsgList_Destroy(&list);
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 1, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 1);
  EXPECT_EQ(Payload(list.Msgs[0]), "second");
  EXPECT_EQ(Deliveries(list.Msgs[0]), 1u);
  natsMsgList_Destroy(&list);
  natsSubscription_Destroy(sub);
}

TEST_F(JetStream, PushConsumerDeliversStoredAndNewMessages) {
  AddStream(js_, "FEED", {"feed.*"});
  PublishOk(js_, "feed.a", "old");
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_SubscribeSync(&sub, js_, "feed.*", nullptr, nullptr, &jerr), NATS_OK);
  PublishOk(js_, "feed.b", "new");
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 3000), NATS_OK);
  EXPECT_EQ(Payload(msg), "old");
  EXPECT_STREQ(natsMsg_GetSubject(msg), "feed.a");  // the stored subject, not the inbox
  natsMsg_Ack(msg, nullptr);
  natsMsg_Destroy(msg);
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 3000), NATS_OK);
  EXPECT_EQ(Payload(msg), "new");
  EXPECT_STREQ(natsMsg_GetSubject(msg), "feed.b");
  natsMsg_Ack(msg, nullptr);
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(sub);
}

TEST_F(JetStream, WorkQueueRemovesAckedMessages) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = "JOBS";
  const char* subjects[] = {"jobs.>"};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Retention = js_WorkQueuePolicy;
  jsStreamInfo* si = nullptr;
  ASSERT_EQ(js_AddStream(&si, js_, &cfg, nullptr, nullptr), NATS_OK);
  jsStreamInfo_Destroy(si);
  for (int i = 0; i < 5; ++i) PublishOk(js_, "jobs.x", "j");
  natsSubscription* sub = nullptr;
  ASSERT_EQ(js_PullSubscribe(&sub, js_, "jobs.>", "w", nullptr, nullptr, nullptr), NATS_OK);
  natsMsgList list = {nullptr, 0};
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 3, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 3);
  for (int i = 0; i < list.Count; ++i) natsMsg_AckSync(list.Msgs[i], nullptr, nullptr);
  natsMsgList_Destroy(&list);
  si = StreamInfo(js_, "JOBS");
  EXPECT_EQ(si->State.Msgs, 2u);
  EXPECT_EQ(si->State.FirstSeq, 4u);
  jsStreamInfo_Destroy(si);
  natsSubscription_Destroy(sub);
}

}  // namespace
}  // namespace tern::e2e
