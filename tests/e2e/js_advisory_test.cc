// JetStream's advisories and ack metrics, run against Tern and nats-server 2.9 with the same
// requests and compared event by event: stream and consumer actions, naks, terminations,
// max deliveries, sampled acks and the API audit, each on nats-server's subject with its
// JSON shape (ids and timestamps aside).
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

// Pulls one message from the consumer; returns its ack subject ("" if none came).
std::string FetchOne(natsConnection* nc, const std::string& stream, const std::string& consumer,
                     std::string* data = nullptr) {
  natsMsg* msg = nullptr;
  const std::string subject = "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer;
  const std::string body = R"({"batch":1,"expires":2000000000})";
  if (natsConnection_RequestString(&msg, nc, subject.c_str(), body.c_str(), 5000) != NATS_OK) {
    return "";
  }
  std::string reply = natsMsg_GetReply(msg) == nullptr ? "" : natsMsg_GetReply(msg);
  if (data != nullptr) *data = Payload(msg);
  natsMsg_Destroy(msg);
  return reply;
}

// Acknowledges synchronously (the server answers once the ack is processed).
void Ack(natsConnection* nc, const std::string& reply, const char* kind) {
  ASSERT_FALSE(reply.empty());
  natsMsg* answer = nullptr;
  ASSERT_EQ(natsConnection_RequestString(&answer, nc, reply.c_str(), kind, 5000), NATS_OK) << kind;
  natsMsg_Destroy(answer);
}

// An event as the test compares it: what may differ between runs is reduced to its kind.
Json Normalized(const std::string& subject, const std::string& payload) {
  Json body = Json::parse(payload, nullptr, false);
  if (!body.is_object()) return {{"on", subject}, {"payload", payload}};
  Json out = {{"on", subject}};
  for (auto& [key, value] : body.items()) {
    if (key == "id" || key == "timestamp") {
      out[key] = value.is_string() && !value.get<std::string>().empty();
    } else if (key == "ack_time") {
      out[key] = value.is_number_integer() && value.get<int64_t>() > 0;
    } else if (key == "server") {
      out[key] = value.is_string();
    } else if (key == "client") {
      out[key] = value.value("acc", "");
    } else if (key == "response") {
      const Json response = Json::parse(value.get<std::string>(), nullptr, false);
      out[key] = {{"type", response.value("type", "")},
                  {"error", response.value("error", Json::object()).value("err_code", 0)}};
    } else {
      out[key] = value;
    }
  }
  return out;
}

// The events one server publishes for the same requests, in order.
Json Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  auto server = StartJetStreamServer(nats);
  auto conn = Connect(*server);
  natsConnection* nc = conn->nc;
  natsSubscription* events = nullptr;
  EXPECT_EQ(natsConnection_SubscribeSync(&events, nc, "$JS.EVENT.>"), NATS_OK);
  natsConnection_Flush(nc);

  JsApi(nc, "$JS.API.STREAM.CREATE.TEST", Json{{"name", "TEST"}, {"subjects", {"test.>"}}});
  JsApi(nc, "$JS.API.STREAM.UPDATE.TEST",
        Json{{"name", "TEST"}, {"subjects", {"test.>"}}, {"max_msgs", 100}});
  JsApi(nc, "$JS.API.CONSUMER.DURABLE.CREATE.TEST.wq",
        Json{{"stream_name", "TEST"},
             {"config",
              {{"durable_name", "wq"},
               {"ack_policy", "explicit"},
               {"max_deliver", 2},
               {"sample_freq", "100%"}}}});
  for (int i = 1; i <= 4; ++i) {
    natsMsg* ack = nullptr;
    const std::string data = "m" + std::to_string(i);
    EXPECT_EQ(natsConnection_RequestString(&ack, nc, "test.a", data.c_str(), 5000), NATS_OK);
    natsMsg_Destroy(ack);
  }
  Ack(nc, FetchOne(nc, "TEST", "wq"), "+ACK");   // m1: an ack metric
  Ack(nc, FetchOne(nc, "TEST", "wq"), "-NAK");   // m2: a nak ...
  Ack(nc, FetchOne(nc, "TEST", "wq"), "+TERM");  // ... then terminated on its redelivery
  Ack(nc, FetchOne(nc, "TEST", "wq"), "-NAK");   // m3, twice: max_deliver 2
  Ack(nc, FetchOne(nc, "TEST", "wq"), "-NAK");
  std::string data;
  Ack(nc, FetchOne(nc, "TEST", "wq", &data), "+ACK");  // m4, after m3 is given up
  EXPECT_EQ(data, "m4");
  JsApi(nc, "$JS.API.CONSUMER.CREATE.TEST",
        Json{{"stream_name", "TEST"},
             {"config", {{"ack_policy", "explicit"}, {"sample_freq", "often"}}}});
  JsApi(nc, "$JS.API.STREAM.INFO.NOPE", nullptr);
  JsApi(nc, "$JS.API.CONSUMER.DELETE.TEST.wq", nullptr);
  JsApi(nc, "$JS.API.STREAM.DELETE.TEST", nullptr);

  Json seen = Json::array();
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, events, 1000) == NATS_OK) {
    seen.push_back(Normalized(natsMsg_GetSubject(msg), Payload(msg)));
    natsMsg_Destroy(msg);
  }
  natsSubscription_Destroy(events);
  return seen;
}

TEST(JsAdvisory, EventsAreNatsServers) {
  Json tern = Scenario(false);
  // What must hold whatever nats-server says.
  ASSERT_FALSE(tern.empty());
  EXPECT_EQ(tern[0]["on"], "$JS.EVENT.ADVISORY.STREAM.CREATED.TEST") << tern.dump(1);
  EXPECT_EQ(tern[0]["type"], "io.nats.jetstream.advisory.v1.stream_action");
  int naks = 0, terminated = 0, max_deliveries = 0, metrics = 0, audits = 0;
  for (const Json& event : tern) {
    const std::string subject = event["on"];
    naks += subject == "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.TEST.wq";
    terminated += subject == "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.TEST.wq";
    max_deliveries += subject == "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.TEST.wq";
    metrics += subject == "$JS.EVENT.METRIC.CONSUMER.ACK.TEST.wq";
    audits += subject == "$JS.EVENT.ADVISORY.API";
  }
  EXPECT_EQ(naks, 3) << tern.dump(1);
  EXPECT_EQ(terminated, 1);
  EXPECT_EQ(max_deliveries, 1);
  EXPECT_EQ(metrics, 2);
  EXPECT_EQ(audits, 7);  // create, update, consumer, bad sampling, NOPE, deletes
  if (NatsServerPath().empty()) return;
  Json nats = Scenario(true);
  // nats-server sends an API audit and a consumer advisory from different goroutines: their
  // order varies, so the two runs are compared as sets.
  auto by_text = [](const Json& a, const Json& b) { return a.dump() < b.dump(); };
  std::sort(tern.begin(), tern.end(), by_text);
  std::sort(nats.begin(), nats.end(), by_text);
  ASSERT_EQ(tern.size(), nats.size()) << "Tern:\n"
                                      << tern.dump(1) << "\nnats-server:\n"
                                      << nats.dump(1);
  for (std::size_t i = 0; i < nats.size(); ++i) EXPECT_EQ(tern[i], nats[i]) << i;
  if (::testing::Test::HasFailure()) ADD_FAILURE() << "nats-server:\n" << nats.dump(1);
}

}  // namespace
}  // namespace tern::e2e
