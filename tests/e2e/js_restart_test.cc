// JetStream across restarts of a real tern-server on the same store: after a clean stop
// and after kill -9, streams, messages, consumers and their ack state come back, and no
// acknowledged message is lost or duplicated.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "js_util.h"

namespace tern::e2e {
namespace {

class JsRestart : public JsFixture {};

TEST_F(JsRestart, StreamsMessagesAndConsumerStateSurviveACleanStop) {
  AddStream(js_, "KEEP", {"keep.>"});
  for (int i = 1; i <= 30; ++i) PublishOk(js_, "keep.x", "m" + std::to_string(i));
  natsSubscription* sub = nullptr;
  ASSERT_EQ(js_PullSubscribe(&sub, js_, "keep.>", "reader", nullptr, nullptr, nullptr), NATS_OK);
  natsMsgList list = {nullptr, 0};
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 10, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 10);
  for (int i = 0; i < list.Count; ++i) natsMsg_AckSync(list.Msgs[i], nullptr, nullptr);
  natsMsgList_Destroy(&list);
  natsSubscription_Destroy(sub);

  Restart(SIGTERM);

  jsStreamInfo* si = StreamInfo(js_, "KEEP");
  ASSERT_NE(si, nullptr);
  EXPECT_EQ(si->State.Msgs, 30u);
  EXPECT_EQ(si->State.LastSeq, 30u);
  jsStreamInfo_Destroy(si);
  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&ci, js_, "KEEP", "reader", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(ci->AckFloor.Stream, 10u);
  EXPECT_EQ(ci->NumPending, 20u);
  jsConsumerInfo_Destroy(ci);
  // The consumer continues where it left off; publishing continues the sequence.
  ASSERT_EQ(js_PullSubscribe(&sub, js_, "keep.>", "reader", nullptr, nullptr, nullptr), NATS_OK);
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 1, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 1);
  EXPECT_EQ(Payload(list.Msgs[0]), "m11");
  natsMsgList_Destroy(&list);
  natsSubscription_Destroy(sub);
  EXPECT_EQ(PublishOk(js_, "keep.x", "after restart"), 31u);
}

TEST_F(JsRestart, ConsumerAckStateSurvivesKill9) {
  AddStream(js_, "ACKS", {"acks"});
  for (int i = 1; i <= 20; ++i) PublishOk(js_, "acks", "m" + std::to_string(i));
  natsSubscription* sub = nullptr;
  ASSERT_EQ(js_PullSubscribe(&sub, js_, "acks", "reader", nullptr, nullptr, nullptr), NATS_OK);
  natsMsgList list = {nullptr, 0};
  ASSERT_EQ(natsSubscription_Fetch(&list, sub, 12, 2000, nullptr), NATS_OK);
  ASSERT_EQ(list.Count, 12);
  for (int i = 0; i < 10; ++i) natsMsg_AckSync(list.Msgs[i], nullptr, nullptr);  // 11, 12 not
  natsMsgList_Destroy(&list);
  natsSubscription_Destroy(sub);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the save interval

  Restart(SIGKILL);

  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_GetConsumerInfo(&ci, js_, "ACKS", "reader", nullptr, nullptr), NATS_OK);
  EXPECT_EQ(ci->AckFloor.Stream, 10u);
  EXPECT_EQ(ci->Delivered.Stream, 12u);
  EXPECT_EQ(ci->NumAckPending, 2);
  jsConsumerInfo_Destroy(ci);
}

TEST_F(JsRestart, EveryAcknowledgedPublishSurvivesKill9) {
  AddStream(js_, "DURABLE", {"durable.*"});
  std::mutex mutex;
  std::set<std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> publishers;
  for (int p = 0; p < 3; ++p) {
    publishers.emplace_back([&, p] {
      auto conn = Connect(*server_);
      jsCtx* js = nullptr;
      natsConnection_JetStream(&js, conn->nc, nullptr);
      for (int i = 0; !stop.load(); ++i) {
        const std::string payload = std::to_string(p) + "-" + std::to_string(i);
        jsPubAck* ack = nullptr;
        jsPubOptions opts;
        jsPubOptions_Init(&opts);
        opts.MaxWait = 1000;
        if (js_Publish(&ack, js, "durable.p", payload.data(), static_cast<int>(payload.size()),
                       &opts, nullptr) != NATS_OK) {
          break;  // the server is gone
        }
        jsPubAck_Destroy(ack);
        std::lock_guard<std::mutex> lock(mutex);
        acked.insert(payload);
      }
      jsCtx_Destroy(js);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(server_->pid(), SIGKILL);  // mid-stream, with publishes in flight
  stop = true;
  for (auto& t : publishers) t.join();
  ASSERT_GT(acked.size(), 50u);

  Restart(SIGKILL);  // already dead: just reaps it and starts again

  jsStreamInfo* si = StreamInfo(js_, "DURABLE");
  ASSERT_NE(si, nullptr);
  const uint64_t last = si->State.LastSeq;
  EXPECT_GE(si->State.Msgs, acked.size());
  jsStreamInfo_Destroy(si);
  std::multiset<std::string> stored;
  for (uint64_t seq = 1; seq <= last; ++seq) {
    natsMsg* msg = nullptr;
    if (js_GetMsg(&msg, js_, "DURABLE", seq, nullptr, nullptr) == NATS_OK) {
      stored.insert(Payload(msg));
      natsMsg_Destroy(msg);
    }
  }
  for (const std::string& payload : acked) {
    EXPECT_EQ(stored.count(payload), 1u) << "acknowledged message " << payload;
  }
}

}  // namespace
}  // namespace tern::e2e
