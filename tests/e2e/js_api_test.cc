// The $JS.API contract, request by request, as the clients parse it: JSON shapes,
// defaults filled in by the server, error codes and descriptions, and the status
// messages (not JSON) of pull requests and direct gets.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "js_util.h"

namespace tern::e2e {
namespace {

using nlohmann::json;

class JsApi : public JsFixture {
 protected:
  json Api(const std::string& subject, const std::string& body = "") {
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_Request(&reply, conn_->nc, subject.c_str(), body.data(),
                                          static_cast<int>(body.size()), 2000);
    EXPECT_EQ(s, NATS_OK) << subject;
    if (s != NATS_OK) return json();
    json out = json::parse(Payload(reply), nullptr, false);
    natsMsg_Destroy(reply);
    EXPECT_TRUE(out.is_object()) << subject;
    return out;
  }
  // The err_code of a failed request (0 if it succeeded).
  int ErrCode(const std::string& subject, const std::string& body = "") {
    json r = Api(subject, body);
    if (!r.contains("error")) return 0;
    EXPECT_TRUE(r["error"].contains("code"));
    EXPECT_TRUE(r["error"].contains("description"));
    return r["error"]["err_code"].get<int>();
  }
  // Sends a request over the raw protocol and returns the reply frame(s) as text.
  std::string RawRequest(const std::string& subject, const std::string& body,
                         const std::string& until, int timeout_ms = 3000) {
    RawConn raw(server_->port());
    raw.Send(
        "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\n"
        "SUB raw.reply 1\r\nPING\r\n");
    raw.ReadUntil("PONG");
    raw.Send("PUB " + subject + " raw.reply " + std::to_string(body.size()) + "\r\n" + body +
             "\r\n");
    return raw.ReadUntil(until, timeout_ms);
  }
};

TEST_F(JsApi, AccountInfoShape) {
  json r = Api("$JS.API.INFO");
  EXPECT_EQ(r["type"], "io.nats.jetstream.api.v1.account_info_response");
  for (const char* key : {"memory", "storage", "streams", "consumers", "limits", "api"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
  EXPECT_EQ(r["limits"]["max_streams"], -1);
  // The count before this request (nats-server's): a second INFO sees the first.
  EXPECT_EQ(Api("$JS.API.INFO")["api"]["total"], r["api"]["total"].get<int>() + 1);
}

TEST_F(JsApi, StreamCreateFillsNatsServerDefaults) {
  json r = Api("$JS.API.STREAM.CREATE.DEFAULTS", R"({"name":"DEFAULTS"})");
  ASSERT_FALSE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["did_create"], true);
  const json& c = r["config"];
  EXPECT_EQ(c["subjects"], json::array({"DEFAULTS"}));
  EXPECT_EQ(c["retention"], "limits");
  EXPECT_EQ(c["storage"], "file");
  EXPECT_EQ(c["discard"], "old");
  for (const char* key :
       {"max_consumers", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size"}) {
    EXPECT_EQ(c[key], -1) << key;
  }
  EXPECT_EQ(c["max_age"], 0);
  EXPECT_EQ(c["num_replicas"], 1);
  EXPECT_EQ(c["duplicate_window"], 120000000000LL);
  for (const char* key : {"sealed", "deny_delete", "deny_purge", "allow_rollup_hdrs",
                          "allow_direct", "mirror_direct"}) {
    EXPECT_EQ(c[key], false) << key;
  }
  EXPECT_EQ(r["state"]["messages"], 0);
  EXPECT_EQ(r["state"]["first_seq"], 0);
  // A max_age below two minutes caps the duplicate window.
  r = Api("$JS.API.STREAM.CREATE.SHORT", R"({"name":"SHORT","max_age":1000000000})");
  EXPECT_EQ(r["config"]["duplicate_window"], 1000000000);
  // Unknown fields are kept and echoed (clients compare configs field by field).
  r = Api("$JS.API.STREAM.CREATE.META", R"({"name":"META","metadata":{"team":"a"}})");
  EXPECT_EQ(r["config"]["metadata"]["team"], "a");
}

TEST_F(JsApi, StreamErrors) {
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"B"})"), 10056);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", "{not json"), 10025);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"A","num_replicas":3})"), 10074);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"A","sealed":true})"), 10052);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"A","subjects":["$JS.API.>"]})"), 10052);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"A","subjects":["a","a"]})"), 10052);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"A","retention":"sometimes"})"), 10025);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.A",
                    R"({"name":"A","max_age":1000000000,"duplicate_window":2000000000})"),
            10052);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.INFO.A"), 10059);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.DELETE.A"), 10059);
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.A", R"({"name":"A","subjects":["a.>"]})"), 0);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.B", R"({"name":"B","subjects":["a.b"]})"), 10065);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.UPDATE.A", R"({"name":"A","storage":"memory"})"), 10052);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.PURGE.A", R"({"seq":5,"keep":1})"), 10003);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.MSG.GET.A", R"({"seq":1})"), 10037);
  EXPECT_EQ(ErrCode("$JS.API.STREAM.MSG.DELETE.A", R"({"seq":1})"), 10057);  // past the end
  json r = Api("$JS.API.STREAM.MSG.GET.A", R"({"seq":1})");
  EXPECT_EQ(r["error"]["code"], 404);
  EXPECT_EQ(r["error"]["description"], "no message found");
}

TEST_F(JsApi, NamesFilterBySubjectAndListPages) {
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.S1", R"({"name":"S1","subjects":["one.>"]})"), 0);
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.S2", R"({"name":"S2","subjects":["two.*"]})"), 0);
  json r = Api("$JS.API.STREAM.NAMES", R"({"subject":"two.x"})");
  EXPECT_EQ(r["streams"], json::array({"S2"}));
  EXPECT_EQ(r["total"], 1);
  r = Api("$JS.API.STREAM.NAMES");
  EXPECT_EQ(r["streams"], json::array({"S1", "S2"}));
  EXPECT_EQ(r["limit"], 1024);
  r = Api("$JS.API.STREAM.LIST", R"({"offset":1})");
  EXPECT_EQ(r["total"], 2);
  ASSERT_EQ(r["streams"].size(), 1u);
  EXPECT_EQ(r["streams"][0]["config"]["name"], "S2");
  EXPECT_TRUE(r["streams"][0].contains("state"));
  // Listings and account figures follow the streams (published by each home shard).
  for (int i = 0; i < 3; ++i) PublishOk(js_, "two.x", "payload");
  json account;
  for (int tries = 0; tries < 50; ++tries) {
    r = Api("$JS.API.STREAM.LIST", R"({"offset":1})");
    account = Api("$JS.API.INFO");
    if (r["streams"][0]["state"]["messages"] == 3 && account["storage"].get<int>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(r["streams"][0]["state"]["messages"], 3);
  EXPECT_EQ(r["streams"][0]["state"]["last_seq"], 3);
  EXPECT_GT(account["storage"].get<int>(), 0);
  EXPECT_EQ(account["streams"], 2);
}

TEST_F(JsApi, ConsumerCreateRulesAndDefaults) {
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.C", R"({"name":"C","subjects":["c.>"]})"), 0);
  json r = Api("$JS.API.CONSUMER.CREATE.C.pull",
               R"({"stream_name":"C","config":{"durable_name":"pull","ack_policy":"explicit"}})");
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const json& c = r["config"];
  EXPECT_FALSE(c.contains("deliver_subject"));  // nats.js rejects pull consumers that have it
  EXPECT_EQ(c["ack_wait"], 30000000000LL);
  EXPECT_EQ(c["max_ack_pending"], 1000);
  EXPECT_EQ(c["max_waiting"], 512);
  EXPECT_EQ(c["max_deliver"], -1);
  EXPECT_EQ(c["deliver_policy"], "all");
  EXPECT_EQ(c["replay_policy"], "instant");
  EXPECT_EQ(r["num_pending"], 0);
  EXPECT_EQ(r["delivered"]["consumer_seq"], 0);

  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.x",
                    R"({"stream_name":"C","config":{"durable_name":"y"}})"),
            10017);
  EXPECT_EQ(
      ErrCode("$JS.API.CONSUMER.CREATE.C", R"({"stream_name":"C","config":{"durable_name":"y"}})"),
      10020);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.DURABLE.CREATE.C.d", R"({"stream_name":"C","config":{}})"),
            10018);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.f.c.a",
                    R"({"stream_name":"C","config":{"filter_subject":"c.b"}})"),
            10131);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.f",
                    R"({"stream_name":"C","config":{"filter_subject":"other"}})"),
            10093);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.f",
                    R"({"stream_name":"C","config":{"deliver_policy":"by_start_sequence"}})"),
            10094);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.f", R"({"stream_name":"X","config":{}})"), 10056);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.f",
                    R"({"stream_name":"C","config":{"deliver_subject":"c.loop"}})"),
            10081);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.f",
                    R"({"stream_name":"C","config":{"idle_heartbeat":1000000000}})"),
            10088);
  EXPECT_EQ(
      ErrCode(
          "$JS.API.CONSUMER.CREATE.C.pull",
          R"({"stream_name":"C","action":"create","config":{"durable_name":"pull","ack_policy":"none"}})"),
      10148);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.C.new",
                    R"({"stream_name":"C","action":"update","config":{}})"),
            10149);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.INFO.C.absent"), 10014);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.DELETE.C.absent"), 10014);
  EXPECT_EQ(ErrCode("$JS.API.CONSUMER.INFO.NOSTREAM.x"), 10059);
  r = Api("$JS.API.CONSUMER.NAMES.C");
  EXPECT_EQ(r["consumers"], json::array({"pull"}));
}

TEST_F(JsApi, PullRequestStatuses) {
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.P", R"({"name":"P","subjects":["p"]})"), 0);
  ASSERT_EQ(
      ErrCode(
          "$JS.API.CONSUMER.CREATE.P.w",
          R"({"stream_name":"P","config":{"durable_name":"w","ack_policy":"explicit","max_batch":10}})"),
      0);
  EXPECT_NE(RawRequest("$JS.API.CONSUMER.MSG.NEXT.P.w", R"({"batch":1,"no_wait":true})",
                       "404 No Messages")
                .find("404 No Messages"),
            std::string::npos);
  const std::string timeout = RawRequest(
      "$JS.API.CONSUMER.MSG.NEXT.P.w", R"({"batch":3,"expires":200000000})", "Nats-Pending-Bytes");
  EXPECT_NE(timeout.find("408 Request Timeout"), std::string::npos) << timeout;
  EXPECT_NE(timeout.find("Nats-Pending-Messages: 3"), std::string::npos) << timeout;
  EXPECT_NE(RawRequest("$JS.API.CONSUMER.MSG.NEXT.P.w", R"({"batch":50})", "409")
                .find("409 Exceeded MaxRequestBatch of 10"),
            std::string::npos);
  EXPECT_NE(RawRequest("$JS.API.CONSUMER.MSG.NEXT.P.w",
                       R"({"batch":1,"expires":100000000,"idle_heartbeat":90000000})", "400")
                .find("400 Bad Request"),
            std::string::npos);
  // A missing consumer, like a missing responder.
  EXPECT_NE(RawRequest("$JS.API.CONSUMER.MSG.NEXT.P.absent", "", "503").find("NATS/1.0 503"),
            std::string::npos);
  // Direct get needs allow_direct: without it nobody answers (nats-server has no direct
  // get responder on such a stream; clients time out).
  EXPECT_EQ(RawRequest("$JS.API.DIRECT.GET.P", R"({"seq":1})", "raw.reply", 500).find("raw.reply"),
            std::string::npos);
}

// Hostile request bodies get an error and the server carries on (found by fuzz_js_api):
// a start time past 2262, a negative backoff, a float batch, JSON nested 100,000 deep.
TEST_F(JsApi, HostileBodiesGetErrorsNotCrashes) {
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.H", R"({"name":"H","subjects":["h"]})"), 0);
  EXPECT_NE(ErrCode("$JS.API.CONSUMER.CREATE.H",
                    R"({"stream_name":"H","config":{"deliver_policy":"by_start_time",)"
                    R"("opt_start_time":"9999-01-01T00:00:00Z"}})"),
            0);
  EXPECT_NE(ErrCode("$JS.API.CONSUMER.CREATE.H.b",
                    R"({"stream_name":"H","config":{"durable_name":"b","ack_policy":"explicit",)"
                    R"("backoff":[-1]}})"),
            0);
  ASSERT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.H.w",
                    R"({"stream_name":"H","config":{"durable_name":"w","ack_policy":"explicit"}})"),
            0);
  EXPECT_NE(RawRequest("$JS.API.CONSUMER.MSG.NEXT.H.w", R"({"batch":1e300})", "400")
                .find("400 Bad Request"),
            std::string::npos);
  const std::string deep =
      R"({"name":"D","metadata":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(ErrCode("$JS.API.STREAM.CREATE.D", deep), 10025);  // invalid JSON
  EXPECT_EQ(ErrCode("$JS.API.STREAM.INFO.H"), 0);              // still serving
}

TEST_F(JsApi, DirectGetReturnsRawMessageWithHeaders) {
  ASSERT_EQ(
      ErrCode("$JS.API.STREAM.CREATE.D", R"({"name":"D","subjects":["d.*"],"allow_direct":true})"),
      0);
  PublishOk(js_, "d.k", "value-1");
  const std::string got = RawRequest("$JS.API.DIRECT.GET.D.d.k", "", "value-1");
  EXPECT_NE(got.find("Nats-Stream: D"), std::string::npos) << got;
  EXPECT_NE(got.find("Nats-Subject: d.k"), std::string::npos) << got;
  EXPECT_NE(got.find("Nats-Sequence: 1"), std::string::npos) << got;
  EXPECT_NE(got.find("Nats-Time-Stamp: "), std::string::npos) << got;
  EXPECT_NE(RawRequest("$JS.API.DIRECT.GET.D.d.none", "", "404").find("404 Message Not Found"),
            std::string::npos);
}

TEST(JsDisabled, ApiHasNoResponders) {
  auto server = ServerProcess::Start();
  auto conn = Connect(*server);
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&reply, conn->nc, "$JS.API.INFO", "", 2000),
            NATS_NO_RESPONDERS);
}

}  // namespace
}  // namespace tern::e2e

namespace tern::e2e {
namespace {

// Subjects and header values are client bytes, not always UTF-8: the JSON the server
// writes about them must still come out (nlohmann would throw on them by default).
TEST_F(JsApi, NonUtf8SubjectsAndHeadersNeverBreakReplies) {
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.U", R"({"name":"U","subjects":["u.>"]})"), 0);
  RawConn raw(server_->port());
  raw.Send(
      "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\n"
      "SUB ack 1\r\nPUB u.\xff\xfe ack 1\r\nx\r\n");
  EXPECT_NE(raw.ReadUntil("\"seq\":1").find("\"seq\":1"), std::string::npos);
  const std::string header = "NATS/1.0\r\nNats-Rollup: \xff\r\n\r\n";
  raw.Send("HPUB u.a ack " + std::to_string(header.size()) + " " +
           std::to_string(header.size() + 1) + "\r\n" + header + "y\r\n");
  EXPECT_NE(raw.ReadUntil("10111").find("10111"), std::string::npos);
  json r = Api("$JS.API.STREAM.MSG.GET.U", R"({"seq":1})");
  ASSERT_TRUE(r.contains("message")) << r.dump();
  EXPECT_EQ(r["message"]["seq"], 1);
  r = Api("$JS.API.STREAM.INFO.U", R"({"subjects_filter":">"})");
  EXPECT_EQ(r["state"]["subjects"].size(), 1u);
}

TEST_F(JsApi, CorruptConsumerStateStartsOverInsteadOfCrashing) {
  ASSERT_EQ(ErrCode("$JS.API.STREAM.CREATE.CS", R"({"name":"CS","subjects":["cs"]})"), 0);
  PublishOk(js_, "cs", "m");
  ASSERT_EQ(ErrCode("$JS.API.CONSUMER.CREATE.CS.d",
                    R"({"stream_name":"CS","config":{"durable_name":"d"}})"),
            0);
  Restart(SIGTERM);
  const std::string state = store_ + "/jetstream/$G/streams/CS/obs/d/state.json";
  std::ofstream(state) << R"({"next_seq":"seven","pending":[[1,"x",3]]})";
  Restart(SIGTERM);
  json info = Api("$JS.API.CONSUMER.INFO.CS.d");
  ASSERT_FALSE(info.contains("error")) << info.dump();
  EXPECT_EQ(info["num_pending"], 1);
}

}  // namespace
}  // namespace tern::e2e
