// Stream republish, deleted details and consumer filters through libnats, each checked
// against nats-server 2.9 with the same calls (the same expectations hold for both):
// republished messages carry the stream, subject, sequence and the subject's previous
// sequence (and, headers only, the size without the payload), on the destination the
// source's wildcards map to; invalid republish configs are refused with nats-server's
// error code and text; stream info lists deleted sequences when asked; a consumer filter
// that takes in several of the stream's subjects is accepted.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cluster_util.h"
#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

struct JsServer {
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<NatsConn> conn;
  jsCtx* js = nullptr;
  ~JsServer() {
    if (js != nullptr) jsCtx_Destroy(js);
  }
};

void StartJs(bool nats, JsServer* out) {
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-js", "-sd", MakeStoreDir()};
  out->server = nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  ASSERT_TRUE(out->server);
  out->conn = Connect(*out->server);
  ASSERT_EQ(natsConnection_JetStream(&out->js, out->conn->nc, nullptr), NATS_OK);
}

// Creates (or, with `update`, updates) a stream with a republish block; returns the
// error code (0 on success).
int StreamWithRePublish(jsCtx* js, const char* name, const std::vector<const char*>& subjects,
                        const char* src, const char* dest, bool headers_only, bool update = false) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name;
  std::vector<const char*> list = subjects;
  cfg.Subjects = list.data();
  cfg.SubjectsLen = static_cast<int>(list.size());
  jsRePublish rp;
  jsRePublish_Init(&rp);
  rp.Source = src;
  rp.Destination = dest;
  rp.HeadersOnly = headers_only;
  cfg.RePublish = &rp;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = update ? js_UpdateStream(&si, js, &cfg, nullptr, &jerr)
                              : js_AddStream(&si, js, &cfg, nullptr, &jerr);
  jsStreamInfo_Destroy(si);
  return s == NATS_OK ? 0 : static_cast<int>(jerr);
}

std::string Header(natsMsg* msg, const char* name) {
  const char* value = nullptr;
  return natsMsgHeader_Get(msg, name, &value) == NATS_OK && value != nullptr ? value : "";
}

void ExpectRePublish(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  JsServer s;
  ASSERT_NO_FATAL_FAILURE(StartJs(nats, &s));
  ASSERT_EQ(
      StreamWithRePublish(s.js, "ORDERS", {"orders.*"}, "orders.*", "copy.{{wildcard(1)}}", false),
      0);
  natsSubscription* copies = SubSync(s.conn->nc, "copy.>");
  ASSERT_EQ(natsConnection_Flush(s.conn->nc), NATS_OK);
  PublishOk(s.js, "orders.a", "first");
  PublishOk(s.js, "orders.b", "second");
  PublishOk(s.js, "orders.a", "third");
  const struct {
    const char* subject;
    const char* payload;
    const char* original;
    const char* seq;
    const char* last;
  } expected[] = {{"copy.a", "first", "orders.a", "1", "0"},
                  {"copy.b", "second", "orders.b", "2", "0"},
                  {"copy.a", "third", "orders.a", "3", "1"}};
  for (const auto& e : expected) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, copies, 5000), NATS_OK) << e.payload;
    EXPECT_STREQ(natsMsg_GetSubject(msg), e.subject);
    EXPECT_EQ(Payload(msg), e.payload);
    EXPECT_EQ(Header(msg, "Nats-Stream"), "ORDERS");
    EXPECT_EQ(Header(msg, "Nats-Subject"), e.original);
    EXPECT_EQ(Header(msg, "Nats-Sequence"), e.seq);
    EXPECT_EQ(Header(msg, "Nats-Last-Sequence"), e.last);
    natsMsg_Destroy(msg);
  }
  natsSubscription_Destroy(copies);

  // Headers only: the message's own headers kept, the size instead of the payload.
  ASSERT_EQ(StreamWithRePublish(s.js, "METRICS", {"metrics.>"}, "", "meta.>", true), 0);
  natsSubscription* meta = SubSync(s.conn->nc, "meta.>");
  ASSERT_EQ(natsConnection_Flush(s.conn->nc), NATS_OK);
  natsMsg* out = nullptr;
  ASSERT_EQ(natsMsg_Create(&out, "metrics.cpu.host1", nullptr, "12345", 5), NATS_OK);
  ASSERT_EQ(natsMsgHeader_Set(out, "Unit", "percent"), NATS_OK);
  jsPubAck* ack = nullptr;
  ASSERT_EQ(js_PublishMsg(&ack, s.js, out, nullptr, nullptr), NATS_OK);
  jsPubAck_Destroy(ack);
  natsMsg_Destroy(out);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, meta, 5000), NATS_OK);
  EXPECT_STREQ(natsMsg_GetSubject(msg), "meta.metrics.cpu.host1");
  EXPECT_EQ(natsMsg_GetDataLength(msg), 0);
  EXPECT_EQ(Header(msg, "Unit"), "percent");
  EXPECT_EQ(Header(msg, "Nats-Msg-Size"), "5");
  EXPECT_EQ(Header(msg, "Nats-Subject"), "metrics.cpu.host1");
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(meta);

  // Refused as nats-server refuses them: 10052 (stream configuration invalid).
  EXPECT_EQ(StreamWithRePublish(s.js, "BAD1", {"bad1.>"}, "other.>", "out.>", false), 10052)
      << "a source outside the stream's subjects";
  EXPECT_EQ(StreamWithRePublish(s.js, "BAD2", {"bad2.>"}, "bad2.>", "bad2.x.>", false), 10052)
      << "a destination inside the stream's subjects (a cycle)";
  EXPECT_EQ(StreamWithRePublish(s.js, "BAD3", {"bad3.*"}, "bad3.*", "out", false), 10052)
      << "a destination that drops the source's wildcard";
  EXPECT_EQ(StreamWithRePublish(s.js, "BAD4", {"bad4.>"}, "", "out.*", false), 10052)
      << "a wildcard destination";
  EXPECT_EQ(StreamWithRePublish(s.js, "ORDERS", {"orders.*"}, "orders.*", "moved.$1", false,
                                /*update=*/true),
            10052)
      << "republish changed by an update";
  EXPECT_EQ(StreamWithRePublish(s.js, "ORDERS", {"orders.*"}, "orders.*", "copy.{{wildcard(1)}}",
                                false, /*update=*/true),
            0)
      << "the same republish in an update";
}

TEST(JsRePublish, StoredMessagesAreRepublishedWithTheirStreamHeaders) {
  ExpectRePublish(false);
  if (!NatsServerPath().empty()) ExpectRePublish(true);
}

// Stream info with deleted_details lists the deleted sequences (num_deleted without it).
void ExpectDeletedDetails(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  JsServer s;
  ASSERT_NO_FATAL_FAILURE(StartJs(nats, &s));
  AddStream(s.js, "GAPS", {"gaps.>"});
  for (int i = 1; i <= 6; ++i) PublishOk(s.js, "gaps.x", std::to_string(i));
  for (uint64_t seq : {2, 4}) {
    ASSERT_EQ(js_DeleteMsg(s.js, "GAPS", seq, nullptr, nullptr), NATS_OK) << seq;
  }
  auto info = [&](bool details) {
    natsMsg* reply = nullptr;
    const std::string body = details ? R"({"deleted_details":true})" : "{}";
    EXPECT_EQ(natsConnection_Request(&reply, s.conn->nc, "$JS.API.STREAM.INFO.GAPS", body.data(),
                                     static_cast<int>(body.size()), 5000),
              NATS_OK);
    nlohmann::json parsed = nlohmann::json::parse(Payload(reply), nullptr, false);
    natsMsg_Destroy(reply);
    return parsed;
  };
  const nlohmann::json plain = info(false);
  EXPECT_EQ(plain["state"].value("num_deleted", 0), 2) << plain.dump();
  EXPECT_FALSE(plain["state"].contains("deleted")) << plain.dump();
  const nlohmann::json detailed = info(true);
  EXPECT_EQ(detailed["state"]["deleted"], nlohmann::json({2, 4})) << detailed.dump();
}

TEST(JsStreamInfo, DeletedDetailsListTheDeletedSequences) {
  ExpectDeletedDetails(false);
  if (!NatsServerPath().empty()) ExpectDeletedDetails(true);
}

// A consumer filter is accepted when it lies within one of the stream's subjects or, with
// wildcards, takes one in whole; one that only overlaps is refused (10093).
void ExpectConsumerFilters(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  JsServer s;
  ASSERT_NO_FATAL_FAILURE(StartJs(nats, &s));
  AddStream(s.js, "PARTS", {"parts.a", "parts.b"});
  AddStream(s.js, "WIDE", {"w.*.b"});
  auto create = [&](const char* stream, const char* filter) {
    jsConsumerConfig cfg;
    jsConsumerConfig_Init(&cfg);
    cfg.AckPolicy = js_AckExplicit;
    cfg.FilterSubject = filter;
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus status = js_AddConsumer(&ci, s.js, stream, &cfg, nullptr, &jerr);
    jsConsumerInfo_Destroy(ci);
    return status == NATS_OK ? 0 : static_cast<int>(jerr);
  };
  EXPECT_EQ(create("PARTS", "parts.*"), 0);
  EXPECT_EQ(create("PARTS", ">"), 0);
  EXPECT_EQ(create("PARTS", "parts.a"), 0);
  EXPECT_EQ(create("PARTS", "other"), 10093);
  EXPECT_EQ(create("WIDE", "w.>"), 0);
  EXPECT_EQ(create("WIDE", "w.a.b"), 0);
  EXPECT_EQ(create("WIDE", "w.a.*"), 10093);
}

TEST(JsConsumerFilter, FiltersThatTakeInStreamSubjectsAreAccepted) {
  ExpectConsumerFilters(false);
  if (!NatsServerPath().empty()) ExpectConsumerFilters(true);
}

// Requests nats-server 2.9 refuses, sent to both servers as raw API requests: Tern's
// error (code, err_code, description) must be nats-server's.
TEST(JsValidation, InvalidRequestsGetNatsServersErrors) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  JsServer tern, nats;
  ASSERT_NO_FATAL_FAILURE(StartJs(false, &tern));
  ASSERT_NO_FATAL_FAILURE(StartJs(true, &nats));
  auto ask = [](JsServer& s, const std::string& subject, const std::string& body) {
    natsMsg* reply = nullptr;
    EXPECT_EQ(natsConnection_Request(&reply, s.conn->nc, subject.c_str(), body.data(),
                                     static_cast<int>(body.size()), 5000),
              NATS_OK)
        << subject;
    nlohmann::json parsed =
        reply == nullptr ? nlohmann::json() : nlohmann::json::parse(Payload(reply), nullptr, false);
    natsMsg_Destroy(reply);
    return parsed;
  };
  const std::string long_text(4097, 'd');
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"$JS.API.STREAM.CREATE.V", R"({"name":"V","subjects":["v.>"]})"},
      {"$JS.API.STREAM.CREATE.SEALED",
       R"({"name":"SEALED","subjects":["sealed.>"],"deny_delete":true,"deny_purge":true})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","description":")" + long_text +
           R"("}})"},
      {"$JS.API.CONSUMER.DURABLE.CREATE.V.b",
       R"({"stream_name":"V","config":{"durable_name":"b","ack_policy":"explicit","max_deliver":2,"backoff":[1000000000,2000000000]}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"durable_name":"c","ack_policy":"explicit"}})"},
      {"$JS.API.STREAM.UPDATE.SEALED",
       R"({"name":"SEALED","subjects":["sealed.>"],"deny_delete":false,"deny_purge":true})"},
      {"$JS.API.STREAM.UPDATE.SEALED",
       R"({"name":"SEALED","subjects":["sealed.>"],"deny_delete":true,"deny_purge":false})"},
      {"$JS.API.STREAM.UPDATE.V", R"({"name":"V","subjects":["v.>"],"storage":"memory"})"},
      {"$JS.API.STREAM.UPDATE.V", R"({"name":"V","subjects":["v.>"],"retention":"interest"})"},
      {"$JS.API.STREAM.UPDATE.V", R"({"name":"V","subjects":["v.>"],"max_consumers":5})"},
      {"$JS.API.STREAM.CREATE.S2", R"({"name":"S2","subjects":["s2.>"],"sealed":true})"},
      {"$JS.API.STREAM.UPDATE.S2", R"({"name":"S2","subjects":["s2.>"],"sealed":false})"},
      {"$JS.API.STREAM.CREATE.D",
       R"({"name":"D","subjects":["d.>"],"description":")" + long_text + R"("})"},
      {"$JS.API.STREAM.CREATE.E1", R"({"name":"E1","subjects":["e1.>"],"max_age":-1})"},
      {"$JS.API.STREAM.CREATE.E2", R"({"name":"E2","subjects":["e2..x"]})"},
      {"$JS.API.STREAM.CREATE.E3",
       R"({"name":"E3","subjects":["e3.>"],"max_age":1000000000,"duplicate_window":2000000000})"},
      {"$JS.API.STREAM.CREATE.E4",
       R"({"name":"E4","subjects":["e4.>"],"discard_new_per_subject":true})"},
      {"$JS.API.STREAM.CREATE.E5", R"({"name":"E5","subjects":["v.x"]})"},
      {"$JS.API.STREAM.CREATE.E6", R"({"name":"E6","subjects":["e6.>"],"retention":"bogus"})"},
      {"$JS.API.STREAM.CREATE.E7", R"({"name":"E7","subjects":["e7.>"],"max_msg_size":-5})"},
      {"$JS.API.STREAM.CREATE.E8", R"({"name":"E8","subjects":["e8.>"],"num_replicas":3})"},
      {"$JS.API.STREAM.CREATE.E9", R"({"name":"E9x","subjects":["e9.>"]})"},
      {"$JS.API.STREAM.CREATE.E10", R"({"name":"E10","subjects":["e10.>","e10.a"]})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_subject":"v.in"}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","idle_heartbeat":1000000000}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_subject":"out","flow_control":true}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_subject":"out","max_waiting":5}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"none","deliver_subject":"out","max_ack_pending":5}})"},
      {"$JS.API.CONSUMER.CREATE.V", R"({"stream_name":"V","config":{"ack_policy":"none"}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_policy":"by_start_sequence"}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_policy":"all","opt_start_seq":5}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_policy":"by_start_time"}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","rate_limit_bps":1000}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","max_batch":-3}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_subject":"out","max_batch":3}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","max_expires":-1}})"},
      {"$JS.API.CONSUMER.CREATE.V",
       R"({"stream_name":"V","config":{"ack_policy":"explicit","deliver_subject":"out","headers_only":true,"replay_policy":"bogus"}})"},
      {"$JS.API.CONSUMER.CREATE.NOPE",
       R"({"stream_name":"NOPE","config":{"ack_policy":"explicit"}})"},
      {"$JS.API.CONSUMER.CREATE.V", R"({"stream_name":"X","config":{"ack_policy":"explicit"}})"},
      {"$JS.API.CONSUMER.CREATE.V", R"({"stream_name":"V"})"},
      {"$JS.API.CONSUMER.CREATE.V", R"(not json)"},
      {"$JS.API.STREAM.MSG.GET.V", R"({"seq":0})"},
      {"$JS.API.STREAM.MSG.GET.V", R"({"last_by_subj":"v.none"})"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":99})"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":1})"},
      {"v.x", "one"},
      {"v.x", "two"},
      {"v.x", "three"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":2})"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":2})"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":3})"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":3})"},
      {"$JS.API.STREAM.MSG.DELETE.V", R"({"seq":4})"},
      {"$JS.API.STREAM.MSG.GET.V", R"({"seq":2})"},
      {"$JS.API.STREAM.MSG.GET.V", R"({"next_by_subj":"v.x","seq":2})"},
      {"$JS.API.STREAM.MSG.GET.V", R"({"next_by_subj":"v.none","seq":1})"},
      {"$JS.API.STREAM.MSG.GET.V", R"({"seq":1,"last_by_subj":"v.x"})"},
      {"$JS.API.STREAM.MSG.GET.V", R"({})"},
      {"$JS.API.STREAM.PURGE.V", R"({"seq":0,"keep":0,"filter":"v.>"})"},
      {"$JS.API.STREAM.INFO.NOPE", ""},
      {"$JS.API.STREAM.DELETE.NOPE", ""},
      {"$JS.API.CONSUMER.INFO.V.nope", ""},
      {"$JS.API.CONSUMER.DELETE.V.nope", ""},
      {"$JS.API.CONSUMER.INFO.NOPE.nope", ""},
      {"$JS.API.CONSUMER.DURABLE.CREATE.V.d1",
       R"({"stream_name":"V","config":{"durable_name":"d2","ack_policy":"explicit"}})"},
      {"$JS.API.CONSUMER.DURABLE.CREATE.V.d1",
       R"({"stream_name":"V","config":{"durable_name":"d1","ack_policy":"explicit"}})"},
      {"$JS.API.CONSUMER.DURABLE.CREATE.V.d1",
       R"({"stream_name":"V","config":{"durable_name":"d1","ack_policy":"none"}})"},
      {"$JS.API.CONSUMER.DURABLE.CREATE.V.d1",
       R"({"stream_name":"V","config":{"durable_name":"d1","ack_policy":"explicit","deliver_subject":"push.here"}})"},
      {"$JS.API.CONSUMER.DURABLE.CREATE.V.d1",
       R"({"stream_name":"V","config":{"durable_name":"d1","ack_policy":"explicit","filter_subject":"v.y"}})"},
      {"$JS.API.CONSUMER.CREATE.V.d3.v.x",
       R"({"stream_name":"V","config":{"name":"d3","ack_policy":"explicit","filter_subject":"v.y"}})"},
      {"$JS.API.CONSUMER.CREATE.V.d4",
       R"({"stream_name":"V","config":{"name":"d5","ack_policy":"explicit"}})"},
      {"$JS.API.STREAM.NAMES", R"({"subject":"v.*"})"},
      {"$JS.API.CONSUMER.NAMES.NOPE", ""},
      {"$JS.API.STREAM.CREATE.KV_x",
       R"({"name":"KV_x","subjects":["$KV.x.>"],"max_msgs_per_subject":1,"allow_rollup_hdrs":true,"deny_delete":true,"allow_direct":true,"discard":"new"})"},
      {"$JS.API.DIRECT.GET.KV_x", R"({"last_by_subj":"$KV.x.none"})"},

      {"$JS.API.STREAM.PURGE.V", R"({"filter":"other.>"})"},
      {"$JS.API.STREAM.PURGE.V", R"({"keep":1,"seq":5})"},
  };
  for (const auto& [subject_binding, body_binding] : requests) {
    const std::string& subject = subject_binding;  // bindings can not be captured (clang)
    const std::string& body = body_binding;
    const nlohmann::json from_tern = ask(tern, subject, body);
    const nlohmann::json from_nats = ask(nats, subject, body);
    // Direct gets answer with a raw message (no JSON): compared as "none".
    auto error_of = [](const nlohmann::json& answer) {
      return answer.is_object() ? answer.value("error", nlohmann::json()) : nlohmann::json("none");
    };
    EXPECT_EQ(error_of(from_tern), error_of(from_nats))
        << subject << " " << body.substr(0, 160) << "\nTern: " << from_tern.dump().substr(0, 300)
        << "\nnats-server: " << from_nats.dump().substr(0, 300);
  }
  // The account's API counters and stream count after the same requests (consumer counts
  // are left out: ephemeral ones expire on each server's own clock).
  const nlohmann::json tern_info = ask(tern, "$JS.API.INFO", "");
  const nlohmann::json nats_info = ask(nats, "$JS.API.INFO", "");
  EXPECT_EQ(tern_info["api"], nats_info["api"]) << tern_info.dump() << "\n" << nats_info.dump();
  EXPECT_EQ(tern_info["streams"], nats_info["streams"]);
  // Without allow_direct a direct get has no responder: both leave it unanswered.
  for (JsServer* s : {&tern, &nats}) {
    natsMsg* reply = nullptr;
    EXPECT_EQ(natsConnection_RequestString(&reply, s->conn->nc, "$JS.API.DIRECT.GET.V",
                                           R"({"seq":1})", 300),
              NATS_TIMEOUT);
    natsMsg_Destroy(reply);
  }
}

// Pending counts after naks and redeliveries, as a pull consumer with explicit acks sees
// them (the ack subject's delivered count and pending, ConsumerInfo's figures): the same
// steps on Tern and nats-server give the same numbers.
std::vector<std::string> PendingCountsTrace(bool nats) {
  JsServer s;
  StartJs(nats, &s);
  std::vector<std::string> trace;
  if (s.js == nullptr) return trace;
  AddStream(s.js, "P", {"p.>"});
  for (int i = 0; i < 5; ++i) PublishOk(s.js, "p.x", std::to_string(i));
  natsConnection* nc = s.conn->nc;
  auto api = [&](const std::string& subject, const std::string& body) {
    natsMsg* reply = nullptr;
    natsConnection_Request(&reply, nc, subject.c_str(), body.data(), static_cast<int>(body.size()),
                           5000);
    nlohmann::json parsed =
        reply == nullptr ? nlohmann::json() : nlohmann::json::parse(Payload(reply), nullptr, false);
    natsMsg_Destroy(reply);
    return parsed;
  };
  api("$JS.API.CONSUMER.DURABLE.CREATE.P.c",
      R"({"stream_name":"P","config":{"durable_name":"c","ack_policy":"explicit","ack_wait":30000000000}})");
  natsSubscription* inbox = SubSync(nc, "pull.inbox");
  auto fetch = [&](int batch) {
    std::vector<std::string> acks;
    const std::string body = R"({"batch":)" + std::to_string(batch) + R"(,"expires":500000000})";
    natsConnection_PublishRequest(nc, "$JS.API.CONSUMER.MSG.NEXT.P.c", "pull.inbox", body.data(),
                                  static_cast<int>(body.size()));
    for (int i = 0; i < batch; ++i) {
      natsMsg* msg = nullptr;
      if (natsSubscription_NextMsg(&msg, inbox, 2000) != NATS_OK) break;
      if (natsMsg_GetReply(msg) != nullptr) {
        std::string reply = natsMsg_GetReply(msg);
        // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>: drop ts.
        std::vector<std::string> tokens;
        for (std::size_t at = 0, dot; at <= reply.size(); at = dot + 1) {
          dot = reply.find('.', at);
          if (dot == std::string::npos) dot = reply.size();
          tokens.push_back(reply.substr(at, dot - at));
        }
        if (tokens.size() >= 9) tokens[7] = "ts";
        std::string line;
        for (const std::string& t : tokens) line += t + ".";
        trace.push_back("msg " + Payload(msg) + " " + line);
        acks.push_back(reply);
      }
      natsMsg_Destroy(msg);
    }
    return acks;
  };
  auto info = [&] {
    nlohmann::json i = api("$JS.API.CONSUMER.INFO.P.c", "");
    // The times differ; whether they are there does not.
    for (const char* part : {"delivered", "ack_floor"}) {
      if (i.contains(part) && i[part].contains("last_active")) i[part]["last_active"] = "set";
    }
    trace.push_back("info pending " + i.value("num_pending", nlohmann::json()).dump() +
                    " ack_pending " + i.value("num_ack_pending", nlohmann::json()).dump() +
                    " redelivered " + i.value("num_redelivered", nlohmann::json()).dump() +
                    " delivered " + i.value("delivered", nlohmann::json()).dump() + " ack_floor " +
                    i.value("ack_floor", nlohmann::json()).dump());
  };
  // Acks as requests: both servers answer once the ack is applied, so the next
  // ConsumerInfo sees it (a plain publish may be applied after it on nats-server).
  auto ack = [&](const std::string& subject, const char* what) {
    natsMsg* reply = nullptr;
    natsConnection_RequestString(&reply, nc, subject.c_str(), what, 2000);
    natsMsg_Destroy(reply);
  };
  std::vector<std::string> got = fetch(2);
  info();
  if (got.size() == 2) {
    ack(got[0], "-NAK");
    ack(got[1], "+ACK");
  }
  info();
  got = fetch(2);  // the nak'd message first, then the next
  info();
  for (const std::string& a : got) ack(a, "+ACK");
  info();
  got = fetch(3);
  for (const std::string& a : got) ack(a, "+ACK");
  info();
  natsSubscription_Destroy(inbox);
  return trace;
}

TEST(JsConsumerCounts, PendingCountsAfterNaksAreNatsServers) {
  if (NatsServerPath().empty()) GTEST_SKIP() << "nats-server is not installed";
  const std::vector<std::string> tern = PendingCountsTrace(false);
  const std::vector<std::string> nats = PendingCountsTrace(true);
  ASSERT_FALSE(nats.empty());
  for (std::size_t i = 0; i < std::max(tern.size(), nats.size()); ++i) {
    EXPECT_EQ(i < tern.size() ? tern[i] : "", i < nats.size() ? nats[i] : "") << "step " << i;
  }
}

}  // namespace
}  // namespace tern::e2e
