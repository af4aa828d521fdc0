// JetStream used from another account through imports, on Tern and nats-server 2.9 with
// the same configuration and calls: a KV bucket of account JS used by account APP through
// an API prefix (`$JS.API.>` and `$KV.>` imported under `JS.js.API`), and a push
// consumer's delivery subject imported as a stream.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <string>
#include <vector>

#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

std::string Config(const std::string& store) {
  return "jetstream { store_dir: \"" + store +
         "\" }\n"
         "accounts {\n"
         "  JS: {\n"
         "    jetstream: enabled\n"
         "    users: [ { user: js, password: js } ]\n"
         "    exports: [ { service: \"$JS.API.>\" }, { service: \"$KV.>\" },\n"
         "               { service: \"$JS.ACK.>\" }, { stream: \"deliver.>\" } ]\n"
         "  }\n"
         "  APP: {\n"
         "    users: [ { user: app, password: app } ]\n"
         "    imports: [\n"
         "      { service: { account: JS, subject: \"$JS.API.>\" }, to: \"JS.js.API.>\" }\n"
         "      { service: { account: JS, subject: \"$KV.>\" }, to: \"JS.js.API.$KV.>\" }\n"
         "      { service: { account: JS, subject: \"$JS.ACK.>\" } }\n"
         "      { stream: { account: JS, subject: \"deliver.>\" } }\n"
         "    ]\n"
         "  }\n"
         "}\n";
}

natsConnection* ConnectUser(const ServerProcess& server, const char* user) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  const std::string url = "nats://127.0.0.1:" + std::to_string(server.port());
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetUserInfo(opts, user, user);
  natsConnection* nc = nullptr;
  EXPECT_EQ(natsConnection_Connect(&nc, opts), NATS_OK) << user;
  natsOptions_Destroy(opts);
  return nc;
}

void ExpectJetStreamAcrossAccounts(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c",
                                         WriteConfig(Config(MakeStoreDir()))};
  auto server = nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  ASSERT_TRUE(server);
  natsConnection* owner = ConnectUser(*server, "js");
  natsConnection* app = ConnectUser(*server, "app");
  ASSERT_TRUE(owner && app);
  jsCtx* owner_js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&owner_js, owner, nullptr), NATS_OK);
  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = "settings";
  kc.History = 3;
  kvStore* owner_kv = nullptr;
  ASSERT_EQ(js_CreateKeyValue(&owner_kv, owner_js, &kc), NATS_OK) << nats_GetLastError(nullptr);

  // The other account's KV, through the prefix.
  jsOptions options;
  jsOptions_Init(&options);
  options.Prefix = "JS.js.API";
  jsCtx* app_js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&app_js, app, &options), NATS_OK);
  kvStore* kv = nullptr;
  ASSERT_EQ(js_KeyValue(&kv, app_js, "settings"), NATS_OK) << nats_GetLastError(nullptr);
  uint64_t rev = 0;
  EXPECT_EQ(kvStore_PutString(&rev, kv, "color", "blue"), NATS_OK) << nats_GetLastError(nullptr);
  EXPECT_EQ(rev, 1u);
  kvEntry* entry = nullptr;
  ASSERT_EQ(kvStore_Get(&entry, kv, "color"), NATS_OK) << nats_GetLastError(nullptr);
  EXPECT_STREQ(kvEntry_ValueString(entry), "blue");
  kvEntry_Destroy(entry);
  ASSERT_EQ(kvStore_Get(&entry, owner_kv, "color"), NATS_OK) << "the owner sees the put";
  EXPECT_STREQ(kvEntry_ValueString(entry), "blue");
  kvEntry_Destroy(entry);

  // A push consumer of the owner's, delivering where the other account imports it.
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = "EVENTS";
  const char* subjects[] = {"events.>"};
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  jsStreamInfo* si = nullptr;
  ASSERT_EQ(js_AddStream(&si, owner_js, &sc, nullptr, nullptr), NATS_OK);
  jsStreamInfo_Destroy(si);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(js_Publish(nullptr, owner_js, "events.x", "e", 1, nullptr, nullptr), NATS_OK);
  }
  natsSubscription* imported = SubSync(app, "deliver.app");
  ASSERT_EQ(natsConnection_Flush(app), NATS_OK);
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "to-app";
  cc.DeliverSubject = "deliver.app";
  cc.AckPolicy = js_AckExplicit;
  jsConsumerInfo* ci = nullptr;
  ASSERT_EQ(js_AddConsumer(&ci, owner_js, "EVENTS", &cc, nullptr, nullptr), NATS_OK);
  jsConsumerInfo_Destroy(ci);
  int received = 0;
  for (; received < 3; ++received) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, imported, 5000) != NATS_OK) break;
    EXPECT_STREQ(natsMsg_GetSubject(msg), "events.x");
    // The ack crosses back by the `$JS.ACK.>` service import.
    EXPECT_EQ(natsConnection_PublishString(app, natsMsg_GetReply(msg), "+ACK"), NATS_OK);
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(received, 3) << "deliveries reach the importing account";
  ASSERT_EQ(natsConnection_Flush(app), NATS_OK);
  int64_t ack_pending = -1;
  for (int attempt = 0; attempt < 50 && ack_pending != 0; ++attempt) {
    jsConsumerInfo* info = nullptr;
    if (js_GetConsumerInfo(&info, owner_js, "EVENTS", "to-app", nullptr, nullptr) == NATS_OK) {
      ack_pending = info->NumAckPending;
      jsConsumerInfo_Destroy(info);
    }
    if (ack_pending != 0) nats_Sleep(100);
  }
  EXPECT_EQ(ack_pending, 0) << "the other account's acks reach the consumer";
  natsSubscription_Destroy(imported);
  kvStore_Destroy(kv);
  kvStore_Destroy(owner_kv);
  jsCtx_Destroy(app_js);
  jsCtx_Destroy(owner_js);
  natsConnection_Destroy(app);
  natsConnection_Destroy(owner);
}

TEST(JsAccounts, JetStreamUsedFromAnotherAccountThroughImports) {
  ExpectJetStreamAcrossAccounts(false);
  if (NatsServerPath().empty()) return;
  ExpectJetStreamAcrossAccounts(true);
}

}  // namespace
}  // namespace tern::e2e
