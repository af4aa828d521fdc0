// Stream: the stream-specific $JS.API requests, answered on the stream's home shard.
#include <charconv>

#include "core/jetstream/config_json.h"
#include "core/jetstream/consumer.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/shard.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

const char* kInfoType = "io.nats.jetstream.api.v1.stream_info_response";
const char* kPurgeType = "io.nats.jetstream.api.v1.stream_purge_response";
const char* kMsgGetType = "io.nats.jetstream.api.v1.stream_msg_get_response";
const char* kMsgDeleteType = "io.nats.jetstream.api.v1.stream_msg_delete_response";

// An empty body is an empty object; anything else must be a JSON object.
std::string TimeOrZero(int64_t ns) { return ns == 0 ? "0001-01-01T00:00:00Z" : FormatTime(ns); }

}  // namespace

nlohmann::json Stream::State() const {
  const storage::LogState s = log_->State();
  nlohmann::json state = {{"messages", s.msgs},
                          {"bytes", s.bytes},
                          {"first_seq", s.last_seq == 0 ? 0 : s.first_seq},
                          {"first_ts", TimeOrZero(s.msgs == 0 ? 0 : s.first_time)},
                          {"last_seq", s.last_seq},
                          {"last_ts", TimeOrZero(s.last_time)},
                          {"consumer_count", visible_consumer_count()}};
  if (s.num_subjects != 0) state["num_subjects"] = s.num_subjects;
  if (s.num_deleted != 0) state["num_deleted"] = s.num_deleted;
  return state;
}

nlohmann::json Stream::Info(const nlohmann::json& request) const {
  nlohmann::json info = {
      {"config", config_.ToJson()}, {"created", FormatTime(created_ns_)}, {"state", State()}};
  auto filter = request.find("subjects_filter");
  if (filter != request.end() && filter->is_string() && !filter->get<std::string>().empty()) {
    nlohmann::json subjects = nlohmann::json::object();
    log_->ForEachSubject(filter->get<std::string>(), [&](std::string_view subject, uint64_t n) {
      subjects[std::string(subject)] = n;
    });
    info["state"]["subjects"] = subjects;
  }
  // Where a mirror or the sources stand (not in a create response: JsShard takes them out).
  for (const auto& link : links_) {
    if (link->mirror()) {
      info["mirror"] = link->Info(js_->now_ns());
    } else {
      info["sources"].push_back(link->Info(js_->now_ns()));
    }
  }
  if (auto details = request.find("deleted_details");
      details != request.end() && details->is_boolean() && details->get<bool>()) {
    if (std::vector<uint64_t> deleted = log_->DeletedSequences(); !deleted.empty()) {
      info["state"]["deleted"] = deleted;
    }
  }
  return info;
}

nlohmann::json Stream::MonitorDetail(bool with_config, bool with_consumers) const {
  nlohmann::json detail = {{"name", config_.name}, {"created", FormatTime(created_ns_)}};
  if (with_config) detail["config"] = config_.ToJson();
  detail["state"] = State();
  // A single server leads every stream it has (nats-server shows the same).
  detail["cluster"] = {{"leader", js_->shard()->context().server_name}};
  if (with_consumers) {
    detail["consumer_detail"] = nlohmann::json::array();
    for (const auto& [name, consumer] : consumers_) {
      detail["consumer_detail"].push_back(consumer->Info());
    }
  }
  return detail;
}

void Stream::HandleApi(const ApiRequest& r, std::string_view op, std::string_view rest) {
  if (op == "STREAM.INFO") return ApiInfo(r);
  if (op == "STREAM.PURGE") return ApiPurge(r);
  if (op == "STREAM.MSG.GET") return ApiMsgGet(r);
  if (op == "STREAM.MSG.DELETE") return ApiMsgDelete(r);
  if (op == "DIRECT.GET") return ApiDirectGet(r, rest, false);
  if (op == "CONSUMER.CREATE" || op == "CONSUMER.DURABLE.CREATE") {
    const bool legacy_durable = op == "CONSUMER.DURABLE.CREATE";
    const std::size_t dot = rest.find('.');
    const std::string_view name = rest.substr(0, dot);
    const std::string_view filter = dot == std::string_view::npos ? "" : rest.substr(dot + 1);
    return ApiConsumerCreate(r, name, filter, legacy_durable);
  }
  if (op == "CONSUMER.INFO") return ApiConsumerInfo(r, rest);
  if (op == "CONSUMER.DELETE") return ApiConsumerDelete(r, rest);
  if (op == "CONSUMER.NAMES") return ApiConsumerNamesOrList(r, false);
  if (op == "CONSUMER.LIST") return ApiConsumerNamesOrList(r, true);
  if (op == "CONSUMER.MSG.NEXT") return ApiNext(r, rest);
  if (op == "STREAM.SNAPSHOT") return ApiSnapshot(r);
  js_->Reply(r.reply, {}, "io.nats.jetstream.api.v1.error_response", MakeError(err::kBadRequest));
}

void Stream::ApiInfo(const ApiRequest& r) {
  nlohmann::json body;
  if (!ParseRequestBody(r.payload, &body)) {
    return js_->Reply(r.reply, {}, kInfoType, MakeError(err::kInvalidJson));
  }
  nlohmann::json info = Info(body);
  info["total"] = 0;
  info["offset"] = 0;
  info["limit"] = 0;
  js_->Reply(r.reply, std::move(info), kInfoType);
}

void Stream::ApiPurge(const ApiRequest& r) {
  nlohmann::json body;
  if (!ParseRequestBody(r.payload, &body)) {
    return js_->Reply(r.reply, {}, kPurgeType, MakeError(err::kInvalidJson));
  }
  if (config_.sealed) return js_->Reply(r.reply, {}, kPurgeType, MakeError(err::kStreamSealed));
  if (config_.deny_purge) {
    return js_->Reply(r.reply, {{"success", false}, {"purged", 0}}, kPurgeType,
                      MakeError(err::kStreamPurgeFailed, "stream purge not permitted"));
  }
  storage::PurgeRequest purge;
  int64_t seq = 0, keep = 0;
  auto filter = body.find("filter");
  if (filter != body.end() && !filter->is_null()) {
    if (!filter->is_string())
      return js_->Reply(r.reply, {}, kPurgeType, MakeError(err::kInvalidJson));
    purge.filter = filter->get<std::string>();
  }
  auto read = [&](const char* key, int64_t* out) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return true;
    if (!it->is_number_integer() || it->get<int64_t>() < 0) return false;
    *out = it->get<int64_t>();
    return true;
  };
  if (!read("seq", &seq) || !read("keep", &keep)) {
    return js_->Reply(r.reply, {}, kPurgeType, MakeError(err::kInvalidJson));
  }
  if (seq > 0 && keep > 0) return js_->Reply(r.reply, {}, kPurgeType, MakeError(err::kBadRequest));
  if (!purge.filter.empty() && !IsValidSubject(purge.filter)) {
    return js_->Reply(r.reply, {}, kPurgeType, MakeError(err::kBadRequest));
  }
  purge.below = static_cast<uint64_t>(seq);
  purge.keep = static_cast<uint64_t>(keep);
  absl::StatusOr<uint64_t> purged = log_->Purge(purge);
  if (!purged.ok()) {
    return js_->Reply(r.reply, {{"success", false}, {"purged", 0}}, kPurgeType,
                      MakeError(err::kStreamPurgeFailed, std::string(purged.status().message())));
  }
  for (auto& [name, consumer] : consumers_) consumer->Notify();
  figures_stale_ = true;
  js_->MarkBusy();
  js_->Reply(r.reply, {{"success", true}, {"purged", *purged}}, kPurgeType);
}

bool Stream::FindMessage(const nlohmann::json& body, storage::StoredMessage* msg, ApiError* error) {
  int64_t seq = 0;
  std::string last_by, next_by;
  auto read_string = [&](const char* key, std::string* out) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  auto seq_it = body.find("seq");
  if (seq_it != body.end() && !seq_it->is_null()) {
    if (!seq_it->is_number_integer() || seq_it->get<int64_t>() < 0) {
      *error = MakeError(err::kInvalidJson);
      return false;
    }
    seq = seq_it->get<int64_t>();
  }
  if (!read_string("last_by_subj", &last_by) || !read_string("next_by_subj", &next_by)) {
    *error = MakeError(err::kInvalidJson);
    return false;
  }
  bool found = false;
  if (!last_by.empty()) {
    if (seq != 0 || !next_by.empty()) {
      *error = MakeError(err::kBadRequest);
      return false;
    }
    found = IsLiteral(last_by) ? log_->ReadLastBySubject(last_by, msg) : false;
    if (!IsLiteral(last_by)) {
      // The newest message on any subject matching the pattern.
      uint64_t best = 0;
      log_->ForEachSubject(last_by, [&](std::string_view subject, uint64_t) {
        storage::StoredMessage candidate;
        if (log_->ReadLastBySubject(subject, &candidate) && candidate.seq > best)
          best = candidate.seq;
      });
      found = best != 0 && log_->Read(best, msg);
    }
  } else if (!next_by.empty()) {
    found = log_->ReadNext(static_cast<uint64_t>(seq), next_by, msg);
  } else if (seq > 0) {
    found = log_->Read(static_cast<uint64_t>(seq), msg);
  } else {
    *error = MakeError(err::kBadRequest);
    return false;
  }
  if (!found) *error = MakeError(err::kNoMessageFound);
  return found;
}

void Stream::ApiMsgGet(const ApiRequest& r) {
  nlohmann::json body;
  if (r.payload.empty() || !ParseRequestBody(r.payload, &body)) {
    return js_->Reply(r.reply, {}, kMsgGetType, MakeError(err::kInvalidJson));
  }
  storage::StoredMessage msg;
  ApiError error;
  if (!FindMessage(body, &msg, &error)) return js_->Reply(r.reply, {}, kMsgGetType, error);
  nlohmann::json message = {{"subject", std::string(msg.subject)},
                            {"seq", msg.seq},
                            {"data", Base64(msg.payload)},
                            {"time", FormatTime(msg.time_ns)}};
  if (!msg.header.empty()) message["hdrs"] = Base64(msg.header);
  js_->Reply(r.reply, {{"message", std::move(message)}}, kMsgGetType);
}

void Stream::ApiMsgDelete(const ApiRequest& r) {
  nlohmann::json body;
  if (!ParseRequestBody(r.payload, &body) || !body.contains("seq") ||
      !body["seq"].is_number_integer() || body["seq"].get<int64_t>() < 0) {
    return js_->Reply(r.reply, {}, kMsgDeleteType, MakeError(err::kInvalidJson));
  }
  if (config_.sealed) {
    return js_->Reply(r.reply, {}, kMsgDeleteType, MakeError(err::kStreamSealed));
  }
  if (config_.deny_delete) {
    return js_->Reply(r.reply, {}, kMsgDeleteType,
                      MakeError(err::kStreamMsgDeleteFailed, "message delete not permitted"));
  }
  const uint64_t seq = body["seq"].get<uint64_t>();
  // What the store refuses is answered as an error but, as in nats-server, not counted
  // among the account's API errors.
  if (seq > log_->State().last_seq) {  // past the end: nats-server's store says EOF
    return js_->Reply(r.reply, {}, kMsgDeleteType,
                      MakeError(err::kStreamMsgDeleteFailed, "stream store EOF"),
                      /*count_error=*/false);
  }
  if (!log_->Delete(seq)) {
    return js_->Reply(r.reply, {}, kMsgDeleteType,
                      MakeError(err::kSequenceNotFound, std::to_string(seq)),
                      /*count_error=*/false);
  }
  for (auto& [name, consumer] : consumers_) consumer->Notify();
  figures_stale_ = true;
  js_->MarkBusy();
  js_->Reply(r.reply, {{"success", true}}, kMsgDeleteType);
}

void Stream::ApiDirectGet(const ApiRequest& r, std::string_view subject_tail, bool for_origin) {
  // Without allow_direct nats-server has no direct-get responder on the stream: the request
  // goes unanswered and the client times out.
  if (!config_.allow_direct && !for_origin) return;
  storage::StoredMessage msg;
  bool found = false;
  if (!subject_tail.empty()) {
    if (!r.payload.empty()) return js_->ReplyStatus(r.reply, 408, "Bad Request");
    found = IsValidLiteralSubject(subject_tail) && log_->ReadLastBySubject(subject_tail, &msg);
  } else {
    if (r.payload.empty()) return js_->ReplyStatus(r.reply, 408, "Empty Request");
    nlohmann::json body;
    if (!ParseRequestBody(r.payload, &body))
      return js_->ReplyStatus(r.reply, 408, "Malformed Request");
    ApiError error;
    found = FindMessage(body, &msg, &error);
    if (!found && error.err_code != err::kNoMessageFound) {
      return js_->ReplyStatus(r.reply, 408, "Bad Request");
    }
  }
  if (!found) return js_->ReplyStatus(r.reply, 404, "Message Not Found");
  std::string header = msg.header.size() >= 12 ? std::string(msg.header) : "NATS/1.0\r\n\r\n";
  AddHeader(&header, "Nats-Stream", config_.name);
  AddHeader(&header, "Nats-Subject", msg.subject);
  AddHeader(&header, "Nats-Sequence", std::to_string(msg.seq));
  AddHeader(&header, "Nats-Time-Stamp", FormatTime(msg.time_ns));
  js_->Send(r.reply, {}, header, msg.payload);
}

}  // namespace tern::core::js
