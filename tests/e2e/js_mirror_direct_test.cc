// Direct gets answered by mirrors (`mirror_direct`, set when the origin allows direct
// gets): a request for the origin is answered exactly once, by the origin or a caught-up
// mirror, each naming itself in Nats-Stream; a mirror's own name is only served with its
// own allow_direct. Run against Tern and nats-server 2.9 and compared.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

// Every answer to one direct get within 400 ms: "<Nats-Stream> <Nats-Sequence> <data>" or
// the status, so that a second answer would show.
std::vector<std::string> DirectGet(natsConnection* nc, const std::string& subject,
                                   const std::string& body) {
  natsInbox* inbox = nullptr;
  natsInbox_Create(&inbox);
  natsSubscription* sub = nullptr;
  EXPECT_EQ(natsConnection_SubscribeSync(&sub, nc, inbox), NATS_OK);
  natsConnection_PublishRequest(nc, subject.c_str(), inbox, body.data(),
                                static_cast<int>(body.size()));
  std::vector<std::string> answers;
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, sub, 400) == NATS_OK) {
    const char* stream = nullptr;
    const char* seq = nullptr;
    const char* status = nullptr;
    natsMsgHeader_Get(msg, "Nats-Stream", &stream);
    natsMsgHeader_Get(msg, "Nats-Sequence", &seq);
    natsMsgHeader_Get(msg, "Status", &status);
    if (status != nullptr) {
      answers.push_back(std::string("status ") + status);
    } else {
      answers.push_back(std::string(stream ? stream : "?") + " " + (seq ? seq : "?") + " " +
                        Payload(msg));
    }
    natsMsg_Destroy(msg);
  }
  natsSubscription_Destroy(sub);
  natsInbox_Destroy(inbox);
  return answers;
}

Json Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  auto server = StartJetStreamServer(nats);
  auto conn = Connect(*server);
  natsConnection* nc = conn->nc;
  Json seen;
  JsApi(nc, "$JS.API.STREAM.CREATE.ORIG",
        Json{{"name", "ORIG"}, {"subjects", {"orig.>"}}, {"allow_direct", true}});
  for (int i = 1; i <= 5; ++i) {
    natsMsg* ack = nullptr;
    const std::string data = "m" + std::to_string(i);
    EXPECT_EQ(natsConnection_RequestString(&ack, nc, ("orig." + std::to_string(i % 2)).c_str(),
                                           data.c_str(), 5000),
              NATS_OK);
    natsMsg_Destroy(ack);
  }
  const Json created =
      JsApi(nc, "$JS.API.STREAM.CREATE.M", Json{{"name", "M"}, {"mirror", {{"name", "ORIG"}}}});
  seen["mirror_direct"] = created["config"].value("mirror_direct", false);
  // Caught up: the mirror holds all five.
  for (int i = 0; i < 100; ++i) {
    if (JsApi(nc, "$JS.API.STREAM.INFO.M", nullptr)["state"].value("messages", 0) == 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a heartbeat or two

  // For the origin: one answer, from either, with the right message.
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::string> answers =
        DirectGet(nc, "$JS.API.DIRECT.GET.ORIG", R"({"seq":3})");
    EXPECT_EQ(answers.size(), 1u);
    if (answers.size() == 1) {
      EXPECT_TRUE(answers[0] == "ORIG 3 m3" || answers[0] == "M 3 m3") << answers[0];
    }
  }
  seen["by subject, one answer"] = DirectGet(nc, "$JS.API.DIRECT.GET.ORIG.orig.1", "").size() == 1;
  // The mirror's own name: not served (no allow_direct of its own).
  seen["mirror's own name"] = DirectGet(nc, "$JS.API.DIRECT.GET.M", R"({"seq":3})");
  // The origin gone: the mirror still answers for it.
  JsApi(nc, "$JS.API.STREAM.DELETE.ORIG", nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  seen["origin deleted"] = DirectGet(nc, "$JS.API.DIRECT.GET.ORIG", R"({"seq":4})");
  seen["origin deleted, missing seq"] = DirectGet(nc, "$JS.API.DIRECT.GET.ORIG", R"({"seq":40})");
  return seen;
}

TEST(JsMirrorDirect, MirrorsAnswerDirectGetsForTheirOrigin) {
  const Json tern = Scenario(false);
  EXPECT_EQ(tern["mirror_direct"], true) << tern.dump(1);
  EXPECT_EQ(tern["origin deleted"], Json::array({"M 4 m4"})) << tern.dump(1);
  if (NatsServerPath().empty()) return;
  const Json nats = Scenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

}  // namespace
}  // namespace tern::e2e
