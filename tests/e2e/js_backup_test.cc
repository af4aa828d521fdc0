// Stream backups: STREAM.SNAPSHOT sends the stream in acked chunks that end with an empty
// message, as nats-server's exchange does (what `nats stream backup` speaks), and
// STREAM.RESTORE takes them back: messages with their sequences, times, headers and
// deletions, durable consumers with their progress, kept across a restart. Refusals are
// compared with nats-server's answers to the same requests.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

struct Backup {
  Json reply;         // the snapshot answer: config and state
  std::string bytes;  // the chunks, in order
  int chunks = 0;
  bool ended = false;  // the empty message came
};

// Takes a snapshot the way jsm.go does: an inbox, the request, an empty answer to every
// chunk that has a reply, until the empty message.
Backup TakeBackup(natsConnection* nc, const std::string& stream, const Json& request) {
  Backup backup;
  natsSubscription* sub = nullptr;
  const std::string inbox = "backup.inbox." + stream;
  EXPECT_EQ(natsConnection_SubscribeSync(&sub, nc, inbox.c_str()), NATS_OK);
  Json body = request;
  body["deliver_subject"] = inbox;
  backup.reply = JsApi(nc, "$JS.API.STREAM.SNAPSHOT." + stream, body);
  if (backup.reply.contains("error")) {
    natsSubscription_Destroy(sub);
    return backup;
  }
  natsMsg* msg = nullptr;
  while (natsSubscription_NextMsg(&msg, sub, 5000) == NATS_OK) {
    const int len = natsMsg_GetDataLength(msg);
    if (len == 0) {
      backup.ended = true;
      natsMsg_Destroy(msg);
      break;
    }
    backup.bytes.append(natsMsg_GetData(msg), static_cast<std::size_t>(len));
    ++backup.chunks;
    if (natsMsg_GetReply(msg) != nullptr)
      natsConnection_PublishString(nc, natsMsg_GetReply(msg), "");
    natsMsg_Destroy(msg);
  }
  natsSubscription_Destroy(sub);
  return backup;
}

// Restores the way jsm.go does: the request, the chunks (64 KiB) each as a request, then an
// empty request whose answer is the outcome.
Json Restore(natsConnection* nc, const std::string& stream, const Json& config,
             const std::string& bytes) {
  const Json started = JsApi(nc, "$JS.API.STREAM.RESTORE." + stream, Json{{"config", config}});
  if (started.contains("error")) return started;
  const std::string deliver = started.value("deliver_subject", "");
  for (std::size_t at = 0; at < bytes.size(); at += 65536) {
    const std::string chunk = bytes.substr(at, 65536);
    natsMsg* answer = nullptr;
    EXPECT_EQ(natsConnection_Request(&answer, nc, deliver.c_str(), chunk.data(),
                                     static_cast<int>(chunk.size()), 5000),
              NATS_OK);
    if (answer != nullptr) {
      EXPECT_EQ(natsMsg_GetDataLength(answer), 0) << Payload(answer);
    }
    natsMsg_Destroy(answer);
  }
  natsMsg* done = nullptr;
  if (natsConnection_Request(&done, nc, deliver.c_str(), "", 0, 10000) != NATS_OK) {
    return Json{{"no_reply", deliver}};
  }
  Json answer = Json::parse(Payload(done), nullptr, false);
  natsMsg_Destroy(done);
  return answer;
}

void PublishWithHeader(natsConnection* nc, const std::string& subject, const std::string& data) {
  natsMsg* msg = nullptr;
  ASSERT_EQ(
      natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size())),
      NATS_OK);
  natsMsgHeader_Set(msg, "X-Tag", data.c_str());
  natsMsg* ack = nullptr;
  ASSERT_EQ(natsConnection_RequestMsg(&ack, nc, msg, 5000), NATS_OK);
  natsMsg_Destroy(ack);
  natsMsg_Destroy(msg);
}

// The parts of StreamInfo a restore must bring back.
Json Essentials(const Json& info) {
  const Json state = info.value("state", Json::object());
  return {{"messages", state.value("messages", 0)},
          {"bytes", state.value("bytes", 0)},
          {"first_seq", state.value("first_seq", 0)},
          {"last_seq", state.value("last_seq", 0)},
          {"first_ts", state.value("first_ts", "")},
          {"last_ts", state.value("last_ts", "")},
          {"num_deleted", state.value("num_deleted", 0)},
          {"consumer_count", state.value("consumer_count", 0)},
          {"created", info.value("created", "")},
          {"subjects", info.value("config", Json::object()).value("subjects", Json())}};
}

class JsBackup : public JsFixture {};

TEST_F(JsBackup, BackupRestoresMessagesConsumersAndDeletions) {
  natsConnection* nc = conn_->nc;
  ASSERT_FALSE(JsApi(nc, "$JS.API.STREAM.CREATE.ORDERS",
                     Json{{"name", "ORDERS"}, {"subjects", {"orders.>"}}})
                   .contains("error"));
  // Enough to span several archive files and many chunks (~3 MiB).
  const std::string big(4000, 'x');
  for (int i = 1; i <= 800; ++i) {
    PublishWithHeader(nc, "orders." + std::to_string(i % 7), std::to_string(i) + big);
  }
  JsApi(nc, "$JS.API.STREAM.MSG.DELETE.ORDERS", Json{{"seq", 1}});
  JsApi(nc, "$JS.API.STREAM.MSG.DELETE.ORDERS", Json{{"seq", 400}});
  JsApi(nc, "$JS.API.STREAM.MSG.DELETE.ORDERS", Json{{"seq", 800}});
  ASSERT_FALSE(JsApi(nc, "$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.DUR",
                     Json{{"stream_name", "ORDERS"},
                          {"config", {{"durable_name", "DUR"}, {"ack_policy", "explicit"}}}})
                   .contains("error"));
  for (int i = 0; i < 3; ++i) {  // three delivered, two acked
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsConnection_RequestString(&msg, nc, "$JS.API.CONSUMER.MSG.NEXT.ORDERS.DUR",
                                           "{\"batch\":1}", 5000),
              NATS_OK);
    if (i < 2) {
      natsMsg* answer = nullptr;
      ASSERT_EQ(natsConnection_RequestString(&answer, nc, natsMsg_GetReply(msg), "+ACK", 5000),
                NATS_OK);
      natsMsg_Destroy(answer);
    }
    natsMsg_Destroy(msg);
  }
  const Json before = JsApi(nc, "$JS.API.STREAM.INFO.ORDERS", nullptr);
  const Json consumer_before = JsApi(nc, "$JS.API.CONSUMER.INFO.ORDERS.DUR", nullptr);

  const Backup backup = TakeBackup(nc, "ORDERS", Json{{"chunk_size", 65536}});
  ASSERT_FALSE(backup.reply.contains("error")) << backup.reply.dump();
  EXPECT_EQ(backup.reply["type"], "io.nats.jetstream.api.v1.stream_snapshot_response");
  EXPECT_EQ(backup.reply["state"]["messages"], 797);
  EXPECT_TRUE(backup.ended);
  EXPECT_GT(backup.chunks, 10);  // 8 MiB window: flow control ran with our acks
  // An s2 stream (what jsm.go reads it with): the stream identifier first.
  EXPECT_EQ(backup.bytes.substr(0, 10), std::string("\xff\x06\x00\x00S2sTwO", 10));

  // Restoring over an existing stream is refused.
  const Json over = Restore(nc, "ORDERS", backup.reply["config"], backup.bytes);
  EXPECT_EQ(over["error"]["err_code"], 10130) << over.dump();

  ASSERT_EQ(JsApi(nc, "$JS.API.STREAM.DELETE.ORDERS", nullptr).value("success", false), true);
  const Json restored = Restore(nc, "ORDERS", backup.reply["config"], backup.bytes);
  ASSERT_FALSE(restored.contains("error")) << restored.dump();
  EXPECT_EQ(restored["type"], "io.nats.jetstream.api.v1.stream_create_response");
  EXPECT_EQ(Essentials(restored), Essentials(before));

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    const Json info = JsApi(nc, "$JS.API.STREAM.INFO.ORDERS", Json{{"deleted_details", true}});
    EXPECT_EQ(Essentials(info), Essentials(before)) << info.dump();
    EXPECT_EQ(info["state"]["deleted"], Json::array({400, 800}));  // 1 moved the first
    const Json m = JsApi(nc, "$JS.API.STREAM.MSG.GET.ORDERS", Json{{"seq", 2}});
    EXPECT_EQ(m["message"]["subject"], "orders.2");
    EXPECT_FALSE(m["message"].value("hdrs", "").empty());
    const Json consumer = JsApi(nc, "$JS.API.CONSUMER.INFO.ORDERS.DUR", nullptr);
    for (const char* field : {"delivered", "ack_floor"}) {
      for (const char* seq : {"consumer_seq", "stream_seq"}) {
        EXPECT_EQ(consumer[field][seq], consumer_before[field][seq]) << field << consumer.dump();
      }
    }
    EXPECT_EQ(consumer["num_ack_pending"], 1);
    // The consumer goes on from where it was: the next new message is stream seq 5.
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsConnection_RequestString(&msg, nc, "$JS.API.CONSUMER.MSG.NEXT.ORDERS.DUR",
                                           "{\"batch\":1,\"expires\":1000000000}", 5000),
              NATS_OK);
    EXPECT_NE(std::string(natsMsg_GetReply(msg)).find(".DUR.1.5."), std::string::npos)
        << natsMsg_GetReply(msg);
    natsMsg_Destroy(msg);
  };
  check("restored");
  // New messages continue after the restored ones.
  natsMsg* ack = nullptr;
  ASSERT_EQ(natsConnection_RequestString(&ack, nc, "orders.new", "after", 5000), NATS_OK);
  EXPECT_NE(Payload(ack).find("\"seq\":801"), std::string::npos) << Payload(ack);
  natsMsg_Destroy(ack);
  Restart(SIGTERM);
  nc = conn_->nc;
  const Json info = JsApi(nc, "$JS.API.STREAM.INFO.ORDERS", nullptr);
  EXPECT_EQ(info["state"]["last_seq"], 801) << info.dump();
  EXPECT_EQ(info["state"]["messages"], 798);
}

TEST_F(JsBackup, DamagedOrForeignBackupsAreRefused) {
  natsConnection* nc = conn_->nc;
  JsApi(nc, "$JS.API.STREAM.CREATE.S", Json{{"name", "S"}, {"subjects", {"s.>"}}});
  for (int i = 0; i < 20; ++i) PublishWithHeader(nc, "s.x", "m" + std::to_string(i));
  const Backup backup = TakeBackup(nc, "S", Json::object());
  ASSERT_TRUE(backup.ended);
  JsApi(nc, "$JS.API.STREAM.DELETE.S", nullptr);

  std::string damaged = backup.bytes;
  damaged[damaged.size() / 2] ^= 0x55;
  Json answer = Restore(nc, "S", backup.reply["config"], damaged);
  EXPECT_EQ(answer["error"]["err_code"], 10062) << answer.dump();
  EXPECT_EQ(answer["type"], "io.nats.jetstream.api.v1.stream_create_response");
  // Cut short.
  answer =
      Restore(nc, "S", backup.reply["config"], backup.bytes.substr(0, backup.bytes.size() / 2));
  EXPECT_EQ(answer["error"]["err_code"], 10062) << answer.dump();
  // Into another name.
  Json renamed = backup.reply["config"];
  renamed["name"] = "OTHER";
  answer = Restore(nc, "OTHER", renamed, backup.bytes);
  EXPECT_EQ(answer["error"]["description"], "restore failed: stream names do not match");
  // Nothing of the failed attempts is left; the good backup still restores.
  EXPECT_EQ(JsApi(nc, "$JS.API.STREAM.INFO.S", nullptr)["error"]["err_code"], 10059);
  answer = Restore(nc, "S", backup.reply["config"], backup.bytes);
  EXPECT_EQ(answer["state"]["messages"], 20) << answer.dump();
}

// A restore cut short by a server stop leaves nothing behind, and can be done again.
TEST_F(JsBackup, RestoreCutShortByARestartLeavesNothing) {
  natsConnection* nc = conn_->nc;
  JsApi(nc, "$JS.API.STREAM.CREATE.S", Json{{"name", "S"}, {"subjects", {"s.>"}}});
  const std::string data(20000, 'd');
  for (int i = 0; i < 50; ++i) PublishWithHeader(nc, "s.x", data);
  const Backup backup = TakeBackup(nc, "S", Json{{"chunk_size", 4096}});
  ASSERT_TRUE(backup.ended);
  JsApi(nc, "$JS.API.STREAM.DELETE.S", nullptr);

  const Json started =
      JsApi(nc, "$JS.API.STREAM.RESTORE.S", Json{{"config", backup.reply["config"]}});
  const std::string deliver = started.value("deliver_subject", "");
  ASSERT_FALSE(deliver.empty()) << started.dump();
  natsMsg* answer = nullptr;
  ASSERT_EQ(natsConnection_Request(&answer, nc, deliver.c_str(), backup.bytes.data(), 65536, 5000),
            NATS_OK);
  natsMsg_Destroy(answer);
  const std::string staging = store_ + "/jetstream/$G/restore-S";
  EXPECT_TRUE(std::filesystem::exists(staging));
  Restart(SIGKILL);
  nc = conn_->nc;
  EXPECT_FALSE(std::filesystem::exists(staging));
  EXPECT_EQ(JsApi(nc, "$JS.API.STREAM.INFO.S", nullptr)["error"]["err_code"], 10059);
  EXPECT_EQ(JsApi(nc, "$JS.API.STREAM.NAMES", nullptr)["total"], 0);
  const Json restored = Restore(nc, "S", backup.reply["config"], backup.bytes);
  EXPECT_EQ(restored["state"]["messages"], 50) << restored.dump();
}

// A server killed while it sends a snapshot: the stream is whole after the restart and a
// new snapshot of it completes.
TEST_F(JsBackup, SnapshotCutShortByAKillLeavesTheStreamWhole) {
  natsConnection* nc = conn_->nc;
  JsApi(nc, "$JS.API.STREAM.CREATE.S", Json{{"name", "S"}, {"subjects", {"s.>"}}});
  const std::string data(8000, 'd');
  for (int i = 0; i < 2000; ++i) PublishWithHeader(nc, "s.x", data);  // ~16 MiB: two windows
  {
    // The receiver is a plain socket that reads the first chunk and stops reading (no acks).
    RawConn receiver(server_->port());
    receiver.Send("CONNECT {\"verbose\":false}\r\nSUB backup.cut 1\r\nPING\r\n");
    ASSERT_NE(receiver.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
    const Json reply =
        JsApi(nc, "$JS.API.STREAM.SNAPSHOT.S", Json{{"deliver_subject", "backup.cut"}});
    ASSERT_FALSE(reply.contains("error")) << reply.dump();
    EXPECT_NE(receiver.ReadUntil("MSG backup.cut 1 $JS.SNAPSHOT.ACK.S.").find("MSG backup.cut"),
              std::string::npos);
    Restart(SIGKILL);
  }
  nc = conn_->nc;
  const Json info = JsApi(nc, "$JS.API.STREAM.INFO.S", nullptr);
  EXPECT_EQ(info["state"]["messages"], 2000) << info.dump();
  const Backup backup = TakeBackup(nc, "S", Json::object());
  EXPECT_TRUE(backup.ended);
  EXPECT_EQ(backup.reply["state"]["messages"], 2000);
}

// The same refusals as nats-server, request for request.
Json Refusals(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  auto server = StartJetStreamServer(nats);
  auto conn = Connect(*server);
  natsConnection* nc = conn->nc;
  JsApi(nc, "$JS.API.STREAM.CREATE.S", Json{{"name", "S"}, {"subjects", {"s.>"}}});
  JsApi(nc, "$JS.API.STREAM.CREATE.MEM",
        Json{{"name", "MEM"}, {"subjects", {"mem.>"}}, {"storage", "memory"}});
  Json seen;
  auto outcome = [](const Json& answer) {
    return Json{{"type", answer.value("type", "")}, {"error", answer.value("error", Json())}};
  };
  seen["snapshot empty body"] = outcome(JsApi(nc, "$JS.API.STREAM.SNAPSHOT.S", nullptr));
  seen["snapshot no deliver subject"] =
      outcome(JsApi(nc, "$JS.API.STREAM.SNAPSHOT.S", Json{{"deliver_subject", ""}}));
  seen["snapshot unknown stream"] =
      outcome(JsApi(nc, "$JS.API.STREAM.SNAPSHOT.NOPE", Json{{"deliver_subject", "x.y"}}));
  seen["snapshot memory stream"] =
      outcome(JsApi(nc, "$JS.API.STREAM.SNAPSHOT.MEM", Json{{"deliver_subject", "x.y"}}));
  seen["restore empty body"] = outcome(JsApi(nc, "$JS.API.STREAM.RESTORE.S", nullptr));
  const Json existing = JsApi(nc, "$JS.API.STREAM.RESTORE.S",
                              Json{{"config", {{"name", "S"}, {"subjects", {"s.>"}}}}});
  seen["restore existing"] = outcome(existing);
  seen["restore existing deliver"] = existing.value("deliver_subject", "absent");
  const Json fresh = JsApi(nc, "$JS.API.STREAM.RESTORE.NEW",
                           Json{{"config", {{"name", "NEW"}, {"subjects", {"new.>"}}}}});
  seen["restore new"] = outcome(fresh);
  seen["restore new deliver"] =
      fresh.value("deliver_subject", "").rfind("$JS.SNAPSHOT.RESTORE.NEW.", 0) == 0;
  return seen;
}

TEST(JsBackupRefusals, AreNatsServers) {
  const Json tern = Refusals(false);
  EXPECT_EQ(tern["snapshot no deliver subject"]["error"]["err_code"], 10015) << tern.dump(1);
  EXPECT_EQ(tern["restore existing"]["error"]["err_code"], 10130);
  if (NatsServerPath().empty()) return;
  const Json nats = Refusals(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

}  // namespace
}  // namespace tern::e2e
