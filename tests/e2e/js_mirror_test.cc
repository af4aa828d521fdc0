// Mirrors and sources, each step run against Tern and nats-server 2.9 with the same API
// requests, and the outcomes compared: a mirror follows its origin with the origin's
// sequences (deleted ones stay deleted), its original subjects and headers, and keeps
// following; a source takes what its filter selects with a Nats-Stream-Source header;
// StreamInfo reports where they stand; invalid configurations get nats-server's errors.
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

// The error's code and err_code and description, or "ok".
Json Outcome(const Json& answer) {
  if (answer.contains("error")) return answer["error"];
  return answer.contains("no_reply") ? answer : Json("ok");
}

void Publish(natsConnection* nc, const std::string& subject, const std::string& data,
             const char* header = nullptr) {
  natsMsg* msg = nullptr;
  ASSERT_EQ(
      natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size())),
      NATS_OK);
  if (header != nullptr) natsMsgHeader_Set(msg, "X-Foo", header);
  natsMsg* ack = nullptr;
  ASSERT_EQ(natsConnection_RequestMsg(&ack, nc, msg, 5000), NATS_OK);
  EXPECT_NE(Payload(ack).find("\"seq\""), std::string::npos) << Payload(ack);
  natsMsg_Destroy(ack);
  natsMsg_Destroy(msg);
}

// Stream info (with deleted details) once `done` holds for it, or the last one seen.
template <typename Done>
Json AwaitInfo(natsConnection* nc, const std::string& stream, Done done) {
  Json info;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    info = JsApi(nc, "$JS.API.STREAM.INFO." + stream, Json{{"deleted_details", true}});
    if (info.contains("state") && done(info)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return info;
}

// One stored message as MSG.GET shows it: subject, data, headers (decoded).
Json Stored(natsConnection* nc, const std::string& stream, uint64_t seq) {
  const Json answer = JsApi(nc, "$JS.API.STREAM.MSG.GET." + stream, Json{{"seq", seq}});
  if (!answer.contains("message")) return Outcome(answer);
  const Json& m = answer["message"];
  auto decode = [](const std::string& text) {
    std::string out;
    int value = 0, bits = -8;
    for (unsigned char c : text) {
      const std::string table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const auto at = table.find(static_cast<char>(c));
      if (at == std::string::npos) break;
      value = (value << 6) + static_cast<int>(at);
      bits += 6;
      if (bits >= 0) {
        out.push_back(static_cast<char>((value >> bits) & 0xFF));
        bits -= 8;
      }
    }
    return out;
  };
  return Json{{"subject", m.value("subject", "")},
              {"seq", m.value("seq", 0)},
              {"data", decode(m.value("data", ""))},
              {"hdrs", decode(m.value("hdrs", ""))}};
}

// What a user sees of mirrors and sources on one server, as comparable JSON.
Json Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  auto server = StartJetStreamServer(nats);
  auto conn = Connect(*server);
  natsConnection* nc = conn->nc;
  Json seen;
  seen["create origin"] = Outcome(
      JsApi(nc, "$JS.API.STREAM.CREATE.ORIG", Json{{"name", "ORIG"}, {"subjects", {"orig.>"}}}));
  Publish(nc, "orig.a", "m1", "bar");
  Publish(nc, "orig.b", "m2");
  Publish(nc, "orig.a", "m3");
  Publish(nc, "orig.c", "m4");
  Publish(nc, "orig.b", "m5");
  seen["delete 3"] = Outcome(JsApi(nc, "$JS.API.STREAM.MSG.DELETE.ORIG", Json{{"seq", 3}}));

  // The mirror: its config as echoed, no mirror state in the create response.
  const Json created =
      JsApi(nc, "$JS.API.STREAM.CREATE.M", Json{{"name", "M"}, {"mirror", {{"name", "ORIG"}}}});
  seen["create mirror"] = Outcome(created);
  Json config = created.value("config", Json::object());
  seen["mirror config"] = {{"subjects", config.contains("subjects")},
                           {"duplicate_window", config.contains("duplicate_window")},
                           {"mirror", config.value("mirror", Json())}};
  seen["create response has mirror"] = created.contains("mirror");

  Json info =
      AwaitInfo(nc, "M", [](const Json& i) { return i["state"].value("last_seq", 0) >= 5; });
  const Json& state = info["state"];
  seen["mirror state"] = {{"msgs", state.value("messages", 0)},
                          {"first_seq", state.value("first_seq", 0)},
                          {"last_seq", state.value("last_seq", 0)},
                          {"num_deleted", state.value("num_deleted", 0)},
                          {"deleted", state.value("deleted", Json::array())}};
  const Json mirror = info.value("mirror", Json::object());
  seen["mirror info"] = {{"name", mirror.value("name", "")},
                         {"lag", mirror.value("lag", -1)},
                         {"heard from", mirror.value("active", int64_t{-1}) >= 0}};
  seen["mirror seq 1"] = Stored(nc, "M", 1);
  seen["mirror seq 5"] = Stored(nc, "M", 5);

  // It keeps following.
  Publish(nc, "orig.a", "m6");
  Publish(nc, "orig.d", "m7");
  info = AwaitInfo(nc, "M", [](const Json& i) { return i["state"].value("last_seq", 0) >= 7; });
  seen["mirror after more"] = {{"msgs", info["state"].value("messages", 0)},
                               {"last_seq", info["state"].value("last_seq", 0)}};
  seen["mirror seq 7"] = Stored(nc, "M", 7);

  // A source with a filter, into a stream with its own subject too.
  seen["create source"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.S",
                    Json{{"name", "S"},
                         {"subjects", {"s.local"}},
                         {"sources", {{{"name", "ORIG"}, {"filter_subject", "orig.b"}}}}}));
  info = AwaitInfo(nc, "S", [](const Json& i) { return i["state"].value("messages", 0) >= 2; });
  seen["source state"] = {{"msgs", info["state"].value("messages", 0)},
                          {"last_seq", info["state"].value("last_seq", 0)}};
  const Json sources = info.value("sources", Json::array());
  seen["source info"] = {{"count", sources.size()},
                         {"name", sources.empty() ? "" : sources[0].value("name", "")}};
  // The origin's consumers for them are hidden from it, counted for the account.
  const Json origin = JsApi(nc, "$JS.API.STREAM.INFO.ORIG", Json::object());
  seen["origin consumer_count"] = origin["state"].value("consumer_count", -1);
  seen["origin consumer names"] =
      JsApi(nc, "$JS.API.CONSUMER.NAMES.ORIG", Json::object()).value("total", -1);
  seen["account consumers"] = JsApi(nc, "$JS.API.INFO", Json()).value("consumers", -1);
  seen["source seq 1"] = Stored(nc, "S", 1);
  seen["source seq 2"] = Stored(nc, "S", 2);

  // Publishing to a mirror reaches nothing (it subscribes to no subject).
  natsMsg* reply = nullptr;
  seen["publish to mirror"] =
      natsConnection_RequestString(&reply, nc, "M", "x", 2000) == NATS_NO_RESPONDERS;
  natsMsg_Destroy(reply);

  // Configurations nats-server refuses.
  seen["mirror with subjects"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.X",
                    Json{{"name", "X"}, {"subjects", {"x"}}, {"mirror", {{"name", "ORIG"}}}}));
  seen["mirror with sources"] = Outcome(
      JsApi(nc, "$JS.API.STREAM.CREATE.X",
            Json{{"name", "X"}, {"mirror", {{"name", "ORIG"}}}, {"sources", {{{"name", "S"}}}}}));
  seen["mirror changed"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.UPDATE.M",
                    Json{{"name", "M"}, {"mirror", {{"name", "ORIG"}, {"opt_start_seq", 2}}}}));
  seen["external api overlaps"] = Outcome(JsApi(
      nc, "$JS.API.STREAM.CREATE.X",
      Json{{"name", "X"}, {"mirror", {{"name", "ORIG"}, {"external", {{"api", "$JS.API"}}}}}}));
  seen["external deliver wildcard"] = Outcome(JsApi(
      nc, "$JS.API.STREAM.CREATE.X",
      Json{{"name", "X"},
           {"mirror", {{"name", "ORIG"}, {"external", {{"api", "JS.B"}, {"deliver", "dd.*"}}}}}}));

  // Checks against the origin's configuration.
  seen["mirror filter overlaps nothing"] = Outcome(
      JsApi(nc, "$JS.API.STREAM.CREATE.X",
            Json{{"name", "X"}, {"mirror", {{"name", "ORIG"}, {"filter_subject", "zzz"}}}}));
  seen["source filter overlaps nothing"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.X",
                    Json{{"name", "X"},
                         {"subjects", {"x"}},
                         {"sources", {{{"name", "ORIG"}, {"filter_subject", "zz"}}}}}));
  seen["create big origin"] = Outcome(JsApi(
      nc, "$JS.API.STREAM.CREATE.BIG",
      Json{
          {"name", "BIG"}, {"subjects", {"big"}}, {"max_msg_size", 1024}, {"allow_direct", true}}));
  seen["mirror smaller max_msg_size"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.X",
                    Json{{"name", "X"}, {"max_msg_size", 100}, {"mirror", {{"name", "BIG"}}}}));
  seen["source smaller max_msg_size"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.X",
                    Json{{"name", "X"}, {"max_msg_size", 100}, {"sources", {{{"name", "BIG"}}}}}));
  const Json direct = JsApi(nc, "$JS.API.STREAM.CREATE.BIGM",
                            Json{{"name", "BIGM"}, {"mirror", {{"name", "BIG"}}}});
  seen["mirror_direct follows the origin"] =
      direct.value("config", Json::object()).value("mirror_direct", false);
  seen["create A sourcing B"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.A",
                    Json{{"name", "A"}, {"subjects", {"a"}}, {"sources", {{{"name", "B"}}}}}));
  seen["create B sourcing A"] =
      Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.B",
                    Json{{"name", "B"}, {"subjects", {"b"}}, {"sources", {{{"name", "A"}}}}}));
  seen["create C mirroring A"] = Outcome(
      JsApi(nc, "$JS.API.STREAM.CREATE.C", Json{{"name", "C"}, {"mirror", {{"name", "A"}}}}));
  seen["update A to source C"] = Outcome(JsApi(
      nc, "$JS.API.STREAM.UPDATE.A",
      Json{{"name", "A"}, {"subjects", {"a"}}, {"sources", {{{"name", "B"}}, {{"name", "C"}}}}}));

  // An origin that does not exist: accepted, the error shows in StreamInfo.
  seen["create mirror of nothing"] = Outcome(
      JsApi(nc, "$JS.API.STREAM.CREATE.N", Json{{"name", "N"}, {"mirror", {{"name", "NOPE"}}}}));
  info = AwaitInfo(nc, "N", [](const Json& i) { return i["mirror"].contains("error"); });
  seen["mirror of nothing"] = info.value("mirror", Json::object()).value("error", Json());
  return seen;
}

TEST(JsMirror, MirrorsAndSourcesAreNatsServers) {
  const Json tern = Scenario(false);
  // What must hold whatever nats-server says.
  EXPECT_EQ(tern["mirror state"]["last_seq"], 5) << tern.dump(1);
  EXPECT_EQ(tern["mirror state"]["deleted"], Json::array({3})) << tern.dump(1);
  EXPECT_EQ(tern["mirror seq 1"]["hdrs"], "NATS/1.0\r\nX-Foo: bar\r\n\r\n") << tern.dump(1);
  EXPECT_EQ(tern["source seq 1"]["hdrs"], "NATS/1.0\r\nNats-Stream-Source: ORIG 2\r\n\r\n");
  EXPECT_EQ(tern["mirror after more"]["last_seq"], 7);
  if (NatsServerPath().empty()) return;
  const Json nats = Scenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

// After a restart (a clean stop, then a kill) a mirror and a source go on from where they
// were: nothing twice, nothing missed.
class JsMirrorRestart : public JsFixture {};

TEST_F(JsMirrorRestart, MirrorsAndSourcesResumeAfterARestart) {
  natsConnection* nc = conn_->nc;
  ASSERT_EQ(Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.ORIG",
                          Json{{"name", "ORIG"}, {"subjects", {"orig.>"}}})),
            "ok");
  ASSERT_EQ(Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.M",
                          Json{{"name", "M"}, {"mirror", {{"name", "ORIG"}}}})),
            "ok");
  ASSERT_EQ(Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.S",
                          Json{{"name", "S"}, {"sources", {{{"name", "ORIG"}}}}})),
            "ok");
  int published = 0;
  for (int sig : {SIGTERM, SIGKILL}) {
    for (int i = 0; i < 3; ++i) Publish(conn_->nc, "orig.x", "m" + std::to_string(++published));
    for (const char* stream : {"M", "S"}) {
      const Json info = AwaitInfo(conn_->nc, stream, [&](const Json& i) {
        return i["state"].value("messages", 0) >= published;
      });
      EXPECT_EQ(info["state"].value("messages", 0), published) << stream;
    }
    Restart(sig);
  }
  for (int i = 0; i < 3; ++i) Publish(conn_->nc, "orig.x", "m" + std::to_string(++published));
  for (const char* stream : {"M", "S"}) {
    const Json info = AwaitInfo(conn_->nc, stream, [&](const Json& i) {
      return i["state"].value("messages", 0) >= published;
    });
    EXPECT_EQ(info["state"].value("messages", 0), published) << stream;
    EXPECT_EQ(info["state"].value("last_seq", 0), published) << stream;
    for (int seq = 1; seq <= published; ++seq) {
      EXPECT_EQ(Stored(conn_->nc, stream, seq)["data"], "m" + std::to_string(seq)) << stream;
    }
  }
}

// A kill while a new mirror and a new source are still catching up: after the restart
// both finish with everything, once each (the source's Nats-Stream-Source sequences run
// 1..N without a repeat), whichever point the kill hit.
TEST_F(JsMirrorRestart, CatchUpSurvivesAKillMidway) {
  natsConnection* nc = conn_->nc;
  ASSERT_EQ(Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.ORIG",
                          Json{{"name", "ORIG"}, {"subjects", {"orig.>"}}})),
            "ok");
  constexpr int kTotal = 60000;
  jsPubOptions po;
  jsPubOptions_Init(&po);
  for (int i = 1; i <= kTotal; ++i) {
    const std::string data = "m" + std::to_string(i);
    ASSERT_EQ(js_PublishAsync(js_, "orig.x", data.data(), static_cast<int>(data.size()), &po),
              NATS_OK);
  }
  jsPubOptions complete;
  jsPubOptions_Init(&complete);
  complete.MaxWait = 30000;
  ASSERT_EQ(js_PublishAsyncComplete(js_, &complete), NATS_OK);
  ASSERT_EQ(Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.M",
                          Json{{"name", "M"}, {"mirror", {{"name", "ORIG"}}}})),
            "ok");
  ASSERT_EQ(Outcome(JsApi(nc, "$JS.API.STREAM.CREATE.S",
                          Json{{"name", "S"}, {"sources", {{{"name", "ORIG"}}}}})),
            "ok");
  // 5 ms in, the two hold roughly a third of it (about 20 k of 60 k here, either shard count).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Restart(SIGKILL);
  for (const char* stream : {"M", "S"}) {
    const Json info = AwaitInfo(conn_->nc, stream, [&](const Json& i) {
      return i["state"].value("messages", 0) >= kTotal;
    });
    EXPECT_EQ(info["state"].value("messages", 0), kTotal) << stream << info.dump();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // nothing more arrives
  const Json mirror = JsApi(conn_->nc, "$JS.API.STREAM.INFO.M", nullptr);
  EXPECT_EQ(mirror["state"]["messages"], kTotal);
  EXPECT_EQ(mirror["state"]["last_seq"], kTotal);
  const Json source = JsApi(conn_->nc, "$JS.API.STREAM.INFO.S", nullptr);
  EXPECT_EQ(source["state"]["messages"], kTotal) << source.dump();
  for (int seq : {1, kTotal / 2, kTotal}) {
    EXPECT_EQ(Stored(conn_->nc, "M", seq)["data"], "m" + std::to_string(seq));
    const Json sourced = Stored(conn_->nc, "S", seq);
    EXPECT_EQ(sourced["data"], "m" + std::to_string(seq));
    EXPECT_NE(sourced["hdrs"].get<std::string>().find("ORIG " + std::to_string(seq) + "\r\n"),
              std::string::npos)
        << sourced.dump();
  }
}

}  // namespace
}  // namespace tern::e2e
