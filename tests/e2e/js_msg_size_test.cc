// A stream's max_msg_size counts a message's header and payload, never its subject: the same
// publishes against Debian's nats-server 2.9.10 and Tern get the same answers.
#include <gtest/gtest.h>

#include <string>

#include "js_util.h"

namespace tern::e2e {
namespace {

// The JSON answer to a publish of `payload` (with headers when `header` is set) on `subject`.
nlohmann::json PublishAnswer(natsConnection* nc, const std::string& subject,
                             const std::string& payload, const char* header = nullptr) {
  natsMsg* msg = nullptr;
  natsMsg_Create(&msg, subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
  if (header != nullptr) natsMsgHeader_Set(msg, "K", header);
  natsMsg* reply = nullptr;
  const natsStatus s = natsConnection_RequestMsg(&reply, nc, msg, 5000);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) return {{"no_reply", subject}};
  nlohmann::json answer = nlohmann::json::parse(Payload(reply), nullptr, false);
  natsMsg_Destroy(reply);
  return answer;
}

void CheckMaxMsgSize(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  auto server = StartJetStreamServer(nats);
  ASSERT_TRUE(server);
  auto conn = Connect(*server);
  const std::string subject = "a.rather.long.subject.name.for.eight.bytes";
  const nlohmann::json created =
      JsApi(conn->nc, "$JS.API.STREAM.CREATE.SZ",
            {{"name", "SZ"}, {"subjects", {subject}}, {"max_msg_size", 8}});
  ASSERT_FALSE(created.contains("error")) << created.dump();
  // Eight payload bytes fit under a subject five times as long.
  EXPECT_EQ(PublishAnswer(conn->nc, subject, "12345678").value("seq", 0), 1);
  const nlohmann::json nine = PublishAnswer(conn->nc, subject, "123456789");
  EXPECT_EQ(nine["error"].value("err_code", 0), 10054) << nine.dump();
  // A header counts: "NATS/1.0\r\nK: v\r\n\r\n" and one payload byte are over eight.
  const nlohmann::json with_header = PublishAnswer(conn->nc, subject, "1", "v");
  EXPECT_EQ(with_header["error"].value("err_code", 0), 10054) << with_header.dump();
}

TEST(JsMsgSize, MaxMsgSizeCountsHeaderAndPayloadNotTheSubject) {
  CheckMaxMsgSize(false);
  if (!NatsServerPath().empty()) CheckMaxMsgSize(true);
}

}  // namespace
}  // namespace tern::e2e
