// Streams and consumers declared in the config file: created at start if absent, updated
// if changed, kept (and reported) if the change is not allowed; a malformed declaration
// stops the server with a message naming the file and line.
#include <gtest/gtest.h>

#include <string>

#include "js_util.h"

namespace tern::e2e {
namespace {

std::string Config(const std::string& store, const std::string& max_age,
                   const std::string& ack_policy) {
  return "jetstream {\n"
         "  store_dir: \"" +
         store +
         "\"\n"
         "  streams: [\n"
         "    {\n"
         "      name: ORDERS\n"
         "      subjects: [\"orders.>\"]\n"
         "      max_age: \"" +
         max_age +
         "\"\n"
         "      max_bytes: 1MB\n"
         "      consumers: [ { durable_name: processor, ack_policy: " +
         ack_policy +
         ", ack_wait: \"10s\" } ]\n"
         "    }\n"
         "  ]\n"
         "}\n";
}

struct Running {
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<NatsConn> conn;
  jsCtx* js = nullptr;
  explicit Running(const std::string& config_path) {
    server = ServerProcess::Start({"-c", config_path});
    conn = Connect(*server);
    natsConnection_JetStream(&js, conn->nc, nullptr);
  }
  ~Running() { jsCtx_Destroy(js); }
};

TEST(JsDeclared, CreatedThenUpdatedOrReported) {
  const std::string store = MakeStoreDir();
  {
    Running r(WriteConfig(Config(store, "24h", "explicit")));
    jsStreamInfo* si = StreamInfo(r.js, "ORDERS");
    ASSERT_NE(si, nullptr);
    EXPECT_EQ(si->Config->MaxAge, int64_t{24} * 3600 * 1'000'000'000);
    EXPECT_EQ(si->Config->MaxBytes, 1 << 20);
    jsStreamInfo_Destroy(si);
    jsConsumerInfo* ci = nullptr;
    ASSERT_EQ(js_GetConsumerInfo(&ci, r.js, "ORDERS", "processor", nullptr, nullptr), NATS_OK);
    EXPECT_EQ(ci->Config->AckWait, int64_t{10} * 1'000'000'000);
    EXPECT_EQ(ci->Config->AckPolicy, js_AckExplicit);
    jsConsumerInfo_Destroy(ci);
    EXPECT_EQ(PublishOk(r.js, "orders.new", "kept"), 1u);
  }
  {
    // max_age may change; a consumer's ack policy may not: reported, stored one kept.
    Running r(WriteConfig(Config(store, "48h", "all")));
    jsStreamInfo* si = StreamInfo(r.js, "ORDERS");
    ASSERT_NE(si, nullptr);
    EXPECT_EQ(si->Config->MaxAge, int64_t{48} * 3600 * 1'000'000'000);
    EXPECT_EQ(si->State.Msgs, 1u);
    jsStreamInfo_Destroy(si);
    jsConsumerInfo* ci = nullptr;
    ASSERT_EQ(js_GetConsumerInfo(&ci, r.js, "ORDERS", "processor", nullptr, nullptr), NATS_OK);
    EXPECT_EQ(ci->Config->AckPolicy, js_AckExplicit);
    jsConsumerInfo_Destroy(ci);
    EXPECT_NE(r.server->Log().find("ack policy can not be updated"), std::string::npos);
  }
}

TEST(JsDeclared, MalformedDeclarationStopsTheServer) {
  const std::string store = MakeStoreDir();
  const std::string path = WriteConfig("jetstream {\n  store_dir: \"" + store +
                                       "\"\n  streams: [ { name: BAD, max_age: \"soon\" } ]\n}\n");
  try {
    ServerProcess::Start({"-c", path});
    FAIL() << "the server started with a malformed stream declaration";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("server.conf:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("max_age"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tern::e2e
