// A push consumer's rate_limit_bps, on Tern and on nats-server 2.9 with the same requests:
// deliveries keep to the rate once the burst (one maximum message) is spent. The bound is
// a lower one only, so a slow machine cannot fail it.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

std::string Request(natsConnection* nc, const std::string& subject, const Json& body) {
  natsMsg* reply = nullptr;
  const std::string text = body.dump();
  if (natsConnection_Request(&reply, nc, subject.c_str(), text.data(),
                             static_cast<int>(text.size()), 5000) != NATS_OK) {
    return "no reply";
  }
  std::string answer = Payload(reply);
  natsMsg_Destroy(reply);
  return answer;
}

// Seconds taken to push 20 messages of 1,000 bytes at 80,000 bits/s (10,000 bytes/s)
// with a 2,000-byte burst; without a limit it takes milliseconds.
double SecondsToDeliver(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  auto server = StartJetStreamServer(nats);
  auto conn = Connect(*server);
  natsConnection* nc = conn->nc;
  EXPECT_EQ(Request(nc, "$JS.API.STREAM.CREATE.R",
                    Json{{"name", "R"}, {"subjects", {"r"}}, {"max_msg_size", 2000}})
                .find("error"),
            std::string::npos);
  const std::string payload(1000, 'x');
  for (int i = 0; i < 20; ++i) {
    natsMsg* ack = nullptr;
    EXPECT_EQ(natsConnection_Request(&ack, nc, "r", payload.data(),
                                     static_cast<int>(payload.size()), 5000),
              NATS_OK);
    natsMsg_Destroy(ack);
  }
  natsSubscription* in = SubSync(nc, "rl.in");
  EXPECT_EQ(natsConnection_Flush(nc), NATS_OK);
  const auto start = std::chrono::steady_clock::now();
  const std::string created = Request(
      nc, "$JS.API.CONSUMER.CREATE.R",
      Json{{"stream_name", "R"},
           {"config",
            {{"deliver_subject", "rl.in"}, {"ack_policy", "none"}, {"rate_limit_bps", 80000}}}});
  EXPECT_EQ(created.find("error"), std::string::npos) << created;
  EXPECT_NE(created.find("\"rate_limit_bps\":80000"), std::string::npos) << created;
  int received = 0;
  for (; received < 20; ++received) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, in, 10000) != NATS_OK) break;
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(received, 20);
  natsSubscription_Destroy(in);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(JsRateLimit, PushDeliveriesKeepToRateLimitBps) {
  EXPECT_GE(SecondsToDeliver(false), 1.2) << "18,000 bytes past the burst at 10,000 bytes/s";
  if (NatsServerPath().empty()) return;
  EXPECT_GE(SecondsToDeliver(true), 1.2) << "nats-server keeps to the same rate";
}

}  // namespace
}  // namespace tern::e2e
