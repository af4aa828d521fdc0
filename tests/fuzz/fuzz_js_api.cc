// libFuzzer target: JSON bodies of $JS.API requests through the parsers and validators that
// run without a server. The first byte picks what the rest is: (0) a STREAM.CREATE/UPDATE
// body; (1) a CONSUMER.CREATE body, validated against one of three streams (first byte / 6
// picks which); (2) any other request body (names/list paging, purge, msg get/delete, pull
// requests), read with the typed readers the handlers use; (3) an RFC 3339 time
// (opt_start_time); (4) a header block and a header to look up or add; (5) an error
// detail. Nothing here may throw: no call is wrapped in a try.
//
// Checked beyond "no crash, no UB": a config that validates keeps the validator's promises,
// and echoed as JSON (what the client sees and what meta.json stores) parses back to the
// same config, which may replace the first as an update; the typed readers keep their
// documented contract; parsed times print and parse back to the same instant.
//
// The handlers' own reads (Consumer::OnPullRequest, Stream::FindMessage / ApiPurge /
// ApiMsgDelete, JsShard::StreamNamesOrList, Stream::ApiConsumerNamesOrList) are inline in
// member functions that need a stream, a log or a shard: they are not reachable from here.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/jetstream/api_error.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/consumer_config.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/stream_config.h"
#include "core/subject.h"

namespace {

using namespace tern::core::js;
using tern::core::IsLiteral;
using tern::core::IsValidLiteralSubject;
using tern::core::IsValidSubject;
using tern::core::SubjectIsSubsetOf;
using tern::core::SubjectMatches;
using tern::core::SubjectsOverlap;

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_js_api: broken promise: %s\n", what);
  std::abort();
}

// A refusal is a well-formed API error.
void CheckError(const ApiError& error) {
  Require(!error.ok() && error.code >= 400 && error.code < 600, "an error has a status code");
  Require(!error.description.empty(), "an error has a description");
  nlohmann::json echoed;
  Require(ParseRequestBody(Dump(error.ToJson()), &echoed), "an error serialises to JSON");
  Require(echoed["err_code"] == error.err_code, "the error code survives serialisation");
}

// --------------------------------------------------------------------- streams

void CheckStreamPromises(const StreamConfig& c) {
  Require(IsValidName(c.name), "stream: valid name");
  Require(c.description.size() <= 4096, "stream: description length");
  Require(!c.kept.contains("mirror") && !c.kept.contains("sources"), "stream: no mirrors");
  Require(c.num_replicas == 1, "stream: one replica");
  Require(!c.subjects.empty(), "stream: has subjects");
  for (std::size_t i = 0; i < c.subjects.size(); ++i) {
    Require(IsValidSubject(c.subjects[i]), "stream: valid subjects");
    Require(!SubjectsOverlap(c.subjects[i], "$JS.API.>"), "stream: subjects clear of the API");
    for (std::size_t j = 0; j < i; ++j) {
      Require(c.subjects[i] != c.subjects[j], "stream: no duplicate subjects");
    }
  }
  for (int64_t limit :
       {c.max_consumers, c.max_msgs, c.max_bytes, c.max_msgs_per_subject, c.max_msg_size}) {
    Require(limit != 0, "stream: unset limits read as unlimited (-1)");
  }
  Require(c.max_age_ns == 0 || c.max_age_ns >= 100'000'000, "stream: max_age 0 or >= 100ms");
  Require(c.duplicate_window_ns >= 100'000'000, "stream: duplicate window >= 100ms");
  Require(c.max_age_ns == 0 || c.duplicate_window_ns <= c.max_age_ns,
          "stream: duplicate window within max_age");
  Require(!c.discard_new_per_subject || (c.discard_new && c.max_msgs_per_subject > 0),
          "stream: discard new per subject needs discard new and a per-subject limit");
  Require(!(c.allow_rollup && c.deny_purge), "stream: roll-ups need purges");
}

// Parses a create/update body the way JsShard::ParseRequestConfig does (the name in the
// request subject fills a missing one). Returns true with *out when it validates.
bool ParseStream(const std::string& text, StreamConfig* out) {
  nlohmann::json body;
  if (!ParseRequestBody(text, &body)) return false;
  Require(body.is_object(), "a request body that parses is an object");
  if (!body.contains("name") || body["name"].is_null()) body["name"] = "FUZZ";
  const ApiError error = ParseStreamConfig(body, out);
  if (!error.ok()) CheckError(error);
  return error.ok();
}

void FuzzStream(const std::string& text) {
  StreamConfig config;
  if (!ParseStream(text, &config)) return;
  CheckStreamPromises(config);
  // The echo (info responses, meta.json) parses back to the same config.
  const nlohmann::json echoed = config.ToJson();
  nlohmann::json reparsed;
  Require(ParseRequestBody(Dump(echoed), &reparsed), "stream: the echo is a JSON object");
  StreamConfig again;
  const ApiError error = ParseStreamConfig(reparsed, &again);
  Require(error.ok(), "stream: the echoed config validates again");
  Require(again.ToJson() == echoed, "stream: the echoed config parses to the same config");
  Require(CheckStreamUpdate(config, again).ok(), "stream: an unchanged config is a valid update");
  // Updates between whatever validated and a plain stream: any answer, no crash.
  static const StreamConfig plain = [] {
    StreamConfig c;
    Require(ParseStreamConfig({{"name", "FUZZ"}}, &c).ok(), "the plain stream validates");
    return c;
  }();
  if (ApiError e = CheckStreamUpdate(plain, config); !e.ok()) CheckError(e);
  if (ApiError e = CheckStreamUpdate(config, plain); !e.ok()) CheckError(e);
}

// --------------------------------------------------------------------- consumers

const StreamConfig& StreamNumber(int which) {
  static const std::array<StreamConfig, 3> streams = [] {
    const char* bodies[3] = {R"({"name":"ORDERS","subjects":["orders.>","events.*"]})",
                             R"({"name":"JOBS","subjects":["jobs.>"],"retention":"workqueue"})",
                             R"({"name":"ONE"})"};
    std::array<StreamConfig, 3> out;
    for (int i = 0; i < 3; ++i) Require(ParseStream(bodies[i], &out[i]), "fixed streams validate");
    return out;
  }();
  return streams[which];
}

void CheckConsumerPromises(const ConsumerConfig& c, const StreamConfig& stream) {
  Require(c.durable_name.empty() || IsValidName(c.durable_name), "consumer: durable name");
  Require(c.name.empty() || IsValidName(c.name), "consumer: name");
  Require(c.description.size() <= 4096, "consumer: description length");
  if (!c.filter_subject.empty()) {
    Require(IsValidSubject(c.filter_subject), "consumer: valid filter");
    bool subset = false;
    for (const std::string& s : stream.subjects) subset |= SubjectIsSubsetOf(c.filter_subject, s);
    Require(subset, "consumer: filter within the stream's subjects");
  }
  if (!c.is_pull()) {
    Require(IsValidLiteralSubject(c.deliver_subject), "push: literal deliver subject");
    for (const std::string& s : stream.subjects) {
      Require(!SubjectsOverlap(c.deliver_subject, s), "push: no delivery cycle");
    }
    Require(c.max_waiting == 0, "push: no max_waiting");
  } else {
    Require(c.idle_heartbeat_ns == 0 && !c.flow_control && c.deliver_group.empty(),
            "pull: no heartbeats, flow control or deliver group");
    Require(c.max_waiting != 0, "pull: max_waiting defaults");
  }
  Require(!c.flow_control || c.idle_heartbeat_ns != 0, "flow control needs heartbeats");
  Require(c.idle_heartbeat_ns == 0 || c.idle_heartbeat_ns >= 100'000'000, "heartbeat >= 100ms");
  const bool has_seq = c.opt_start_seq != 0, has_time = !c.opt_start_time.empty();
  switch (c.deliver_policy) {
    case DeliverPolicy::kByStartSequence:
      Require(has_seq && !has_time, "by_start_sequence: a sequence and no time");
      break;
    case DeliverPolicy::kByStartTime:
      Require(!has_seq && has_time, "by_start_time: a time and no sequence");
      break;
    default:
      Require(!has_seq && !has_time, "other deliver policies: no start");
      break;
  }
  if (c.ack_policy != AckPolicy::kNone) {
    Require(c.max_ack_pending != 0, "acks: max_ack_pending defaults");
    Require(c.backoff_ns.empty() ? c.ack_wait_ns > 0 : c.ack_wait_ns == c.backoff_ns.front(),
            "acks: ack_wait defaults, or is the first backoff");
  }
  Require(c.max_ack_pending >= -1, "max_ack_pending is -1 or more");
  Require(!c.backoff_ns.empty() || c.ack_wait_ns >= 0, "ack_wait is not negative");
  Require(c.max_deliver != 0, "max_deliver 0 reads as unlimited");
  Require(c.backoff_ns.empty() || c.max_deliver == -1 ||
              c.max_deliver > static_cast<int64_t>(c.backoff_ns.size()),
          "max_deliver above the backoff steps");
  Require(c.durable() || c.inactive_threshold_ns != 0, "ephemerals expire");
  Require(c.num_replicas <= 1, "consumer: one replica");
  if (stream.retention == Retention::kWorkQueue) {
    Require(c.ack_policy == AckPolicy::kExplicit && c.deliver_policy == DeliverPolicy::kAll,
            "work queues: explicit acks, deliver all");
  }
}

void FuzzConsumer(const std::string& text, const StreamConfig& stream) {
  nlohmann::json body;
  if (!ParseRequestBody(text, &body)) return;
  // Stream::ApiConsumerCreate reads these from the envelope, then parses "config". A body
  // without one is tried as the config itself (else most inputs would stop here).
  std::string stream_name, action;
  if (!ReadString(body, "stream_name", &stream_name) || !ReadString(body, "action", &action)) {
    return;
  }
  const auto config_json = body.find("config");
  const nlohmann::json& json = config_json != body.end() ? *config_json : body;
  ConsumerConfig config;
  const ApiError error = ParseConsumerConfig(json, stream, &config);
  if (!error.ok()) return CheckError(error);
  CheckConsumerPromises(config, stream);
  // The echo (info responses, and meta.json a durable is restored from) parses back.
  const nlohmann::json echoed = config.ToJson();
  nlohmann::json reparsed;
  Require(ParseRequestBody(Dump(echoed), &reparsed), "consumer: the echo is a JSON object");
  ConsumerConfig again;
  const ApiError again_error = ParseConsumerConfig(reparsed, stream, &again);
  if (!again_error.ok()) {
    std::fprintf(stderr, "echo %s refused: %s\n", Dump(echoed).c_str(),
                 again_error.description.c_str());
  }
  Require(again_error.ok(), "consumer: the echoed config validates again");
  Require(again.ToJson() == echoed, "consumer: the echoed config parses to the same config");
  Require(CheckConsumerUpdate(config, again).ok(), "consumer: unchanged config is an update");
}

// --------------------------------------------------------------------- other bodies

// ReadInt & co. as config_json.h documents them: absent or null keeps *out; a value of the
// field's type is read; anything else is refused.
void CheckInt(const nlohmann::json& body, const char* key) {
  int64_t out = 42;
  const bool ok = ReadInt(body, key, &out);
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    Require(ok && out == 42, "ReadInt: absent keeps the value");
  } else if (it->is_number_integer()) {
    Require(ok && out == it->get<int64_t>(), "ReadInt: reads integers");
  } else {
    Require(!ok && out == 42, "ReadInt: refuses other types");
  }
  Require(IntOr(body, key, 7) == (it != body.end() && it->is_number_integer() ? out : 7),
          "IntOr: the integer or the fallback");
}

void CheckString(const nlohmann::json& body, const char* key) {
  std::string out = "unset";
  const bool ok = ReadString(body, key, &out);
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    Require(ok && out == "unset", "ReadString: absent keeps the value");
    return;
  }
  Require(ok == it->is_string(), "ReadString: reads strings only");
  if (!ok) return;
  Require(out == it->get<std::string>(), "ReadString: reads the string");
  // What the handlers then do with subjects (purge filter, names filter, *_by_subj).
  const bool valid = IsValidSubject(out);
  Require(IsValidLiteralSubject(out) == (valid && IsLiteral(out)),
          "a literal subject is a valid one without wildcards");
  if (valid) {
    Require(SubjectsOverlap(out, out), "a subject overlaps itself");
    Require(SubjectIsSubsetOf(out, out), "a subject is a subset of itself");
    Require(SubjectIsSubsetOf(out, ">"), "every subject is a subset of >");
    if (IsLiteral(out)) Require(SubjectMatches(out, out), "a literal matches itself");
  }
  (void)IsValidName(out);
}

void FuzzRequestBody(const std::string& text) {
  nlohmann::json body;
  if (!ParseRequestBody(text, &body)) return;
  Require(body.is_object(), "a request body that parses is an object");
  if (text.empty()) Require(body.empty(), "an empty body is {}");
  for (const char* key : {"offset", "seq", "keep", "batch", "expires", "max_bytes",
                          "idle_heartbeat", "delay", "created"}) {
    CheckInt(body, key);
  }
  for (const char* key : {"subject", "filter", "last_by_subj", "next_by_subj", "stream_name",
                          "action", "subjects_filter"}) {
    CheckString(body, key);
  }
  bool flag = true;
  const auto no_wait = body.find("no_wait");
  const bool read = ReadBool(body, "no_wait", &flag);
  Require(read == (no_wait == body.end() || no_wait->is_null() || no_wait->is_boolean()),
          "ReadBool: reads booleans only");
  std::vector<std::string> subjects = {"unset"};
  if (ReadStrings(body, "subjects", &subjects)) {
    const auto it = body.find("subjects");
    if (it == body.end() || it->is_null()) {
      Require(subjects.size() == 1 && subjects[0] == "unset", "ReadStrings: absent keeps");
    } else {
      Require(it->is_array() && subjects.size() == it->size(), "ReadStrings: reads every item");
    }
  }
  (void)Dump(body);
}

// --------------------------------------------------------------------- text fields

void FuzzTime(const std::string& text) {
  int64_t ns = 0;
  if (!ParseTime(text, &ns) || ns < 0) return;
  // FormatTime writes what the clients parse; it must read back as the same instant.
  const std::string printed = FormatTime(ns);
  int64_t again = -1;
  Require(ParseTime(printed, &again), "a formatted time parses");
  Require(again == ns, "a formatted time parses to the same instant");
}

void FuzzHeaders(const std::string& text) {
  // "<key>\n<value>\n<block>": a lookup in a hostile block, then an added header found.
  const std::size_t first = text.find('\n');
  const std::size_t second = first == std::string::npos ? first : text.find('\n', first + 1);
  if (second == std::string::npos) return;
  const std::string_view all(text);
  const std::string_view key = all.substr(0, first);
  const std::string_view value = all.substr(first + 1, second - first - 1);
  const std::string_view block = all.substr(second + 1);
  if (auto found = HeaderValue(block, key)) {
    Require(found->data() >= block.data() &&
                found->data() + found->size() <= block.data() + block.size(),
            "HeaderValue returns a view into the block");
  }
  (void)HeaderValue(block, "Nats-Msg-Id");
  const std::string added = WithHeader(block, key, value);
  Require(added.size() >= 4 && added.compare(added.size() - 4, 4, "\r\n\r\n") == 0,
          "a header block ends with a blank line");
  const bool plain_key = !key.empty() && key.find_first_of(":\r\n \t") == std::string_view::npos;
  const bool plain_value = value.find_first_of("\r\n") == std::string_view::npos &&
                           value.find_first_not_of(" \t") == 0 &&
                           value.find_last_not_of(" \t") == value.size() - 1;
  if (plain_key && plain_value && block.size() < 12) {
    const auto found = HeaderValue(added, key);
    Require(found.has_value() && *found == value, "an added header is found");
  }
  const std::string base64 = Base64(block);
  Require(base64.size() == (block.size() + 2) / 3 * 4, "base64 length");
}

void FuzzError(const std::string& text) {
  if (text.size() < 2) return;
  const int code =
      10000 + (static_cast<uint8_t>(text[0]) | (static_cast<uint8_t>(text[1]) << 8)) % 200;
  const ApiError error = MakeError(code, std::string_view(text).substr(2));
  Require(error.err_code == code, "MakeError keeps the code");
  // Details may be invalid UTF-8 (subjects, file system messages): Dump must not throw.
  nlohmann::json echoed;
  Require(ParseRequestBody(Dump(error.ToJson()), &echoed), "an error serialises to JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      FuzzStream(text);
      break;
    case 1:
      FuzzConsumer(text, StreamNumber(data[0] / 6 % 3));
      break;
    case 2:
      FuzzRequestBody(text);
      break;
    case 3:
      FuzzTime(text);
      break;
    case 4:
      FuzzHeaders(text);
      break;
    default:
      FuzzError(text);
      break;
  }
  return 0;
}
