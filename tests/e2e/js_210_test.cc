// The nats-server 2.10 JetStream features Tern serves (it announces 2.10 so that clients
// use them): consumers with several filter subjects, a stream's subject_transform,
// first_seq, subject_transforms on sources and mirrors, metadata; with 2.10's refusals.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

int ErrCode(const Json& answer) {
  return answer.value("error", Json::object()).value("err_code", 0);
}

uint64_t Publish(natsConnection* nc, const std::string& subject, const std::string& data) {
  natsMsg* ack = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&ack, nc, subject.c_str(), data.c_str(), 5000), NATS_OK);
  if (ack == nullptr) return 0;
  const Json answer = Json::parse(Payload(ack), nullptr, false);
  natsMsg_Destroy(ack);
  return answer.value("seq", uint64_t{0});
}

// Pulls up to n messages: "<subject> <data>" each.
std::vector<std::string> Pull(natsConnection* nc, const std::string& stream,
                              const std::string& consumer, int n) {
  natsInbox* inbox = nullptr;
  natsInbox_Create(&inbox);
  natsSubscription* sub = nullptr;
  natsConnection_SubscribeSync(&sub, nc, inbox);
  const std::string body =
      "{\"batch\":" + std::to_string(n) + ",\"expires\":500000000,\"no_wait\":true}";
  const std::string subject = "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer;
  natsConnection_PublishRequestString(nc, subject.c_str(), inbox, body.c_str());
  std::vector<std::string> got;
  natsMsg* msg = nullptr;
  while (static_cast<int>(got.size()) < n && natsSubscription_NextMsg(&msg, sub, 1000) == NATS_OK) {
    if (natsMsg_GetDataLength(msg) > 0) {
      got.push_back(std::string(natsMsg_GetSubject(msg)) + " " + Payload(msg));
    } else {
      natsMsg_Destroy(msg);
      break;  // a status: nothing more
    }
    natsMsg_Destroy(msg);
  }
  natsSubscription_Destroy(sub);
  natsInbox_Destroy(inbox);
  return got;
}

class Js210 : public JsFixture {};

TEST_F(Js210, ConsumersTakeSeveralFilterSubjects) {
  natsConnection* nc = conn_->nc;
  JsApi(nc, "$JS.API.STREAM.CREATE.EV", Json{{"name", "EV"}, {"subjects", {"ev.>"}}});
  for (const char* s : {"ev.a", "ev.b", "ev.c", "ev.a", "ev.c", "ev.b"}) Publish(nc, s, s);
  const Json created = JsApi(
      nc, "$JS.API.CONSUMER.CREATE.EV.two",
      Json{{"stream_name", "EV"},
           {"config",
            {{"name", "two"}, {"ack_policy", "explicit"}, {"filter_subjects", {"ev.a", "ev.c"}}}}});
  ASSERT_EQ(ErrCode(created), 0) << created.dump();
  EXPECT_EQ(created["config"]["filter_subjects"], Json::array({"ev.a", "ev.c"}));
  EXPECT_EQ(created["num_pending"], 4);
  EXPECT_EQ(Pull(nc, "EV", "two", 10),
            (std::vector<std::string>{"ev.a ev.a", "ev.c ev.c", "ev.a ev.a", "ev.c ev.c"}));
  Publish(nc, "ev.b", "x");
  Publish(nc, "ev.c", "y");
  EXPECT_EQ(Pull(nc, "EV", "two", 10), (std::vector<std::string>{"ev.c y"}));

  auto refusal = [&](const Json& config,
                     const std::string& subject = "$JS.API.CONSUMER.CREATE.EV.bad") {
    return ErrCode(JsApi(nc, subject, Json{{"stream_name", "EV"}, {"config", config}}));
  };
  EXPECT_EQ(
      refusal({{"name", "bad"}, {"filter_subject", "ev.a"}, {"filter_subjects", {"ev.b", "ev.c"}}}),
      10136);
  EXPECT_EQ(refusal({{"name", "bad"}, {"filter_subjects", {"ev.a", "ev.*"}}}), 10138);
  EXPECT_EQ(refusal({{"name", "bad"}, {"filter_subjects", {"ev.a", ""}}}), 10139);
  EXPECT_EQ(refusal({{"name", "bad"}, {"filter_subjects", {"ev.a", "ev.b"}}},
                    "$JS.API.CONSUMER.CREATE.EV.bad.ev.a"),
            10137);
  // Work queues: filters must not overlap another consumer's.
  JsApi(nc, "$JS.API.STREAM.CREATE.WQ",
        Json{{"name", "WQ"}, {"subjects", {"wq.>"}}, {"retention", "workqueue"}});
  EXPECT_EQ(ErrCode(JsApi(nc, "$JS.API.CONSUMER.CREATE.WQ.w1",
                          Json{{"stream_name", "WQ"},
                               {"config",
                                {{"name", "w1"},
                                 {"ack_policy", "explicit"},
                                 {"filter_subjects", {"wq.a", "wq.b"}}}}})),
            0);
  EXPECT_EQ(ErrCode(JsApi(nc, "$JS.API.CONSUMER.CREATE.WQ.w2",
                          Json{{"stream_name", "WQ"},
                               {"config",
                                {{"name", "w2"},
                                 {"ack_policy", "explicit"},
                                 {"filter_subjects", {"wq.c", "wq.b"}}}}})),
            10100);
}

TEST_F(Js210, StreamTransformFirstSeqMetadata) {
  natsConnection* nc = conn_->nc;
  const Json created =
      JsApi(nc, "$JS.API.STREAM.CREATE.T",
            Json{{"name", "T"},
                 {"subjects", {"in.>"}},
                 {"subject_transform", {{"src", "in.*.*"}, {"dest", "stored.$2.$1"}}},
                 {"first_seq", 100},
                 {"metadata", {{"owner", "team-a"}}},
                 {"compression", "none"}});
  ASSERT_EQ(ErrCode(created), 0) << created.dump();
  EXPECT_EQ(created["config"]["metadata"]["owner"], "team-a");
  EXPECT_EQ(created["config"]["first_seq"], 100);
  EXPECT_EQ(created["config"]["subject_transform"]["dest"], "stored.$2.$1");
  EXPECT_EQ(Publish(nc, "in.eu.temp", "21"), 100u);
  EXPECT_EQ(Publish(nc, "in.us.temp", "25"), 101u);
  const Json m = JsApi(nc, "$JS.API.STREAM.MSG.GET.T", Json{{"seq", 100}});
  EXPECT_EQ(m["message"]["subject"], "stored.temp.eu") << m.dump();
  EXPECT_EQ(JsApi(nc, "$JS.API.STREAM.INFO.T", nullptr)["state"]["first_seq"], 100);
  // Survives a restart.
  Restart(SIGTERM);
  nc = conn_->nc;
  EXPECT_EQ(Publish(nc, "in.eu.rain", "0"), 102u);
  EXPECT_EQ(JsApi(nc, "$JS.API.STREAM.MSG.GET.T", Json{{"seq", 102}})["message"]["subject"],
            "stored.rain.eu");

  auto refusal = [&](const std::string& name, Json config) {
    config["name"] = name;
    return ErrCode(JsApi(nc, "$JS.API.STREAM.CREATE." + name, config));
  };
  EXPECT_EQ(refusal("B1", {{"subjects", {"b1.>"}},
                           {"subject_transform", {{"src", "b1.*"}, {"dest", "x.$3"}}}}),
            10156);
  EXPECT_EQ(refusal("B2", {{"subjects", {"b2.>"}},
                           {"subject_transform", {{"src", "b2..x"}, {"dest", "x"}}}}),
            10155);
  EXPECT_EQ(refusal("B3", {{"mirror", {{"name", "T"}}}, {"first_seq", 5}}), 10143);
  EXPECT_EQ(refusal("B4", {{"subjects", {"b4.>"}}, {"compression", "zip"}}), 10025);
  const std::string big(130 * 1024, 'm');
  EXPECT_EQ(ErrCode(JsApi(nc, "$JS.API.CONSUMER.CREATE.T.meta",
                          Json{{"stream_name", "T"},
                               {"config", {{"name", "meta"}, {"metadata", {{"k", big}}}}}})),
            10135);
}

TEST_F(Js210, SourcesTransformSubjects) {
  natsConnection* nc = conn_->nc;
  JsApi(nc, "$JS.API.STREAM.CREATE.ORIG", Json{{"name", "ORIG"}, {"subjects", {"orig.>"}}});
  for (const char* s : {"orig.a.1", "orig.b.1", "orig.a.2", "orig.c.1"}) Publish(nc, s, s);
  const Json created = JsApi(nc, "$JS.API.STREAM.CREATE.COPY",
                             Json{{"name", "COPY"},
                                  {"sources",
                                   {{{"name", "ORIG"},
                                     {"subject_transforms",
                                      {{{"src", "orig.a.*"}, {"dest", "copy.a.$1"}},
                                       {{"src", "orig.c.>"}, {"dest", ""}}}}}}}});
  ASSERT_EQ(ErrCode(created), 0) << created.dump();
  Json info;
  for (int i = 0; i < 100; ++i) {
    info = JsApi(nc, "$JS.API.STREAM.INFO.COPY", nullptr);
    if (info["state"].value("messages", 0) >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(info["state"]["messages"], 3) << info.dump();
  std::vector<std::string> subjects;
  for (int seq = 1; seq <= 3; ++seq) {
    subjects.push_back(
        JsApi(nc, "$JS.API.STREAM.MSG.GET.COPY", Json{{"seq", seq}})["message"].value("subject",
                                                                                      ""));
  }
  EXPECT_EQ(subjects, (std::vector<std::string>{"copy.a.1", "copy.a.2", "orig.c.1"}));
  const Json overlapping = JsApi(
      nc, "$JS.API.STREAM.CREATE.C2",
      Json{
          {"name", "C2"},
          {"sources",
           {{{"name", "ORIG"},
             {"subject_transforms",
              {{{"src", "orig.>"}, {"dest", "x.>"}}, {{"src", "orig.a.*"}, {"dest", "y.$1"}}}}}}}});
  EXPECT_EQ(ErrCode(overlapping), 10147) << overlapping.dump();
  const Json both =
      JsApi(nc, "$JS.API.STREAM.CREATE.C3",
            Json{{"name", "C3"},
                 {"sources",
                  {{{"name", "ORIG"},
                    {"filter_subject", "orig.a.>"},
                    {"subject_transforms", {{{"src", "orig.b.>"}, {"dest", "b.>"}}}}}}}});
  EXPECT_EQ(ErrCode(both), 10144) << both.dump();
}

}  // namespace
}  // namespace tern::e2e
