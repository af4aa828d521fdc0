// Stream: the consumer $JS.API requests and the ack subjects, on the stream's home shard.
#include <charconv>
#include <filesystem>

#include "core/jetstream/advisories.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/consumer.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/log.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

const char* kCreateType = "io.nats.jetstream.api.v1.consumer_create_response";
const char* kInfoType = "io.nats.jetstream.api.v1.consumer_info_response";
const char* kDeleteType = "io.nats.jetstream.api.v1.consumer_delete_response";
const char* kNamesType = "io.nats.jetstream.api.v1.consumer_names_response";
const char* kListType = "io.nats.jetstream.api.v1.consumer_list_response";

}  // namespace

void Stream::ApiConsumerCreate(const ApiRequest& r, std::string_view subject_name,
                               std::string_view subject_filter, bool legacy_durable) {
  nlohmann::json body = ParseClientJson(r.payload);
  if (body.is_discarded() || !body.is_object()) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kInvalidJson));
  }
  std::string stream_name, action;
  if (!ReadString(body, "stream_name", &stream_name) || !ReadString(body, "action", &action)) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kInvalidJson));
  }
  if (!stream_name.empty() && stream_name != config_.name) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kStreamNameMismatch));
  }
  // No config is an empty one (nats-server creates a consumer with the defaults).
  static const nlohmann::json kEmpty = nlohmann::json::object();
  auto config_json = body.find("config");
  const bool has_config = config_json != body.end() && !config_json->is_null();
  if (has_config && !config_json->is_object()) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kInvalidJson));
  }
  ConsumerConfig config;
  if (ApiError error = ParseConsumerConfig(has_config ? *config_json : kEmpty, config_, &config);
      !error.ok()) {
    return js_->Reply(r.reply, {}, kCreateType, error);
  }
  std::string name;
  if (legacy_durable) {
    if (config.durable_name.empty()) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerDurableNotSet));
    }
    if (config.durable_name != subject_name) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerDurableMismatch));
    }
    name = config.durable_name;
  } else if (subject_name.empty()) {
    if (!config.durable_name.empty()) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerEphemeralWithDurable));
    }
    name = config.name.empty() ? RandomName() : config.name;
  } else {
    if (!config.durable_name.empty() && config.durable_name != subject_name) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerDurableMismatch));
    }
    if (!subject_filter.empty() && !config.filter_subjects.empty()) {
      return js_->Reply(r.reply, {}, kCreateType,
                        MakeError(err::kConsumerMultipleFiltersNotAllowed));
    }
    if (!subject_filter.empty() && subject_filter != config.filter_subject) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerFilterMismatch));
    }
    name.assign(subject_name);
  }
  if (!IsValidName(name)) {
    return js_->Reply(
        r.reply, {}, kCreateType,
        MakeError(err::kConsumerCreate, "consumer name can not contain '.', '*', '>'"));
  }
  // A `name` in the config that differs from the subject's gives way to it (nats-server 2.9).
  config.name = name;

  auto existing = consumers_.find(name);
  if (existing != consumers_.end()) {
    Consumer& consumer = *existing->second;
    if (consumer.config().ToJson() == config.ToJson()) {
      return js_->Reply(r.reply, consumer.Info(), kCreateType);
    }
    if (action == "create") {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerAlreadyExists));
    }
    if (ApiError error = CheckConsumerUpdate(consumer.config(), config); !error.ok()) {
      return js_->Reply(r.reply, {}, kCreateType, error);
    }
    // A push consumer moves to another deliver subject only when nobody is bound to the
    // one it has (nats-server's rule): of several subscribers creating the same durable at
    // once, the first keeps it.
    if (!config.is_pull() && config.deliver_subject != consumer.config().deliver_subject &&
        js_->HasInterest(consumer.config().deliver_subject)) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerNameExists));
    }
    consumer.set_config(config);
    std::string problem;
    if (!consumer.SaveMeta(&problem)) {
      return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerCreate, problem));
    }
    js_->MarkBusy();
    return js_->Reply(r.reply, consumer.Info(), kCreateType);
  }
  if (action == "update") {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerDoesNotExist));
  }
  if (!config.direct && config_.max_consumers > 0 &&
      static_cast<int64_t>(visible_consumer_count()) >= config_.max_consumers) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kMaxConsumers));
  }
  if (const int64_t limit = js_->registry()->limits().max_consumers;
      limit >= 0 && static_cast<int64_t>(js_->registry()->ConsumerCount()) >= limit) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kMaxConsumers));
  }
  if (config_.retention == Retention::kWorkQueue) {
    const std::vector<std::string> mine = config.Filters();
    for (const auto& [other_name, other] : consumers_) {
      const std::vector<std::string> theirs = other->config().Filters();
      if (mine.empty() || theirs.empty()) {
        return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kWorkQueueMultipleUnfiltered));
      }
      for (const std::string& a : theirs) {
        for (const std::string& b : mine) {
          if (SubjectsOverlap(a, b)) {
            return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kWorkQueueNotUnique));
          }
        }
      }
    }
  }
  auto consumer = std::make_unique<Consumer>(this, name, config, WallNowNs());
  consumer->Start();
  std::string problem;
  if (!consumer->SaveMeta(&problem)) {
    return js_->Reply(r.reply, {}, kCreateType, MakeError(err::kConsumerCreate, problem));
  }
  consumer->SaveState();
  Consumer& created = *consumer;
  consumers_[name] = std::move(consumer);
  js_->MarkBusy();
  PublishFigures();
  js_->Reply(r.reply, created.Info(), kCreateType);
  AdviseConsumerAction(js_, config_.name, name, "create");  // after the audit, as nats-server
}

void Stream::ApiConsumerInfo(const ApiRequest& r, std::string_view name) {
  auto it = consumers_.find(name);
  if (it == consumers_.end()) {
    return js_->Reply(r.reply, {}, kInfoType, MakeError(err::kConsumerNotFound));
  }
  js_->Reply(r.reply, it->second->Info(), kInfoType);
}

void Stream::ApiConsumerDelete(const ApiRequest& r, std::string_view name) {
  if (consumers_.find(name) == consumers_.end()) {
    return js_->Reply(r.reply, {{"success", false}}, kDeleteType,
                      MakeError(err::kConsumerNotFound));
  }
  RemoveConsumer(std::string(name), true);
  js_->Reply(r.reply, {{"success", true}}, kDeleteType);
}

void Stream::RemoveConsumer(const std::string& name, bool deleted) {
  auto it = consumers_.find(name);
  if (it == consumers_.end()) return;
  it->second->Shutdown(deleted);
  consumers_.erase(it);
  AdviseConsumerAction(js_, config_.name, name, "delete");
  PublishFigures();
  if (config_.retention != Retention::kLimits) {
    // Messages only this consumer still held may go now.
    storage::StoredMessage msg;
    for (uint64_t seq = log_->State().first_seq; log_->ReadNext(seq, {}, &msg); seq = msg.seq + 1) {
      MaybeRemoveAcked(msg.seq);
    }
  }
}

void Stream::ApiConsumerNamesOrList(const ApiRequest& r, bool list) {
  int64_t offset = 0;
  if (!r.payload.empty()) {
    nlohmann::json body = ParseClientJson(r.payload);
    if (body.is_discarded() || !body.is_object() || !ReadInt(body, "offset", &offset) ||
        offset < 0) {
      return js_->Reply(r.reply, {}, list ? kListType : kNamesType, MakeError(err::kInvalidJson));
    }
  }
  const int64_t limit = list ? 256 : 1024;
  nlohmann::json items = nlohmann::json::array();
  int64_t i = 0;
  for (const auto& [name, consumer] : consumers_) {
    if (consumer->config().direct) continue;
    if (i++ < offset || static_cast<int64_t>(items.size()) >= limit) continue;
    if (list) {
      items.push_back(consumer->Info());
    } else {
      items.push_back(name);
    }
  }
  js_->Reply(r.reply,
             {{"total", visible_consumer_count()},
              {"offset", offset},
              {"limit", limit},
              {"consumers", std::move(items)}},
             list ? kListType : kNamesType);
}

void Stream::ApiNext(const ApiRequest& r, std::string_view name) {
  auto it = consumers_.find(name);
  if (it == consumers_.end()) return js_->ReplyStatus(r.reply, 503, "");
  it->second->OnPullRequest(r.reply, r.payload);
}

void Stream::OnAck(std::string_view subject, std::string_view reply, std::string_view payload) {
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<time>.<pending>
  std::string_view tokens[10];
  if (Tokenize(subject, tokens, 10) != 9) return;
  uint64_t seq = 0;
  auto [end, ec] = std::from_chars(tokens[5].data(), tokens[5].data() + tokens[5].size(), seq);
  if (ec != std::errc()) return;
  // Acks arrive while messages are being routed; they are applied in the turn.
  incoming_acks_.push_back(PendingIncomingAck{
      static_cast<uint32_t>(incoming_arena_.size()), static_cast<uint32_t>(tokens[3].size()),
      static_cast<uint32_t>(reply.size()), static_cast<uint32_t>(payload.size()), seq});
  incoming_arena_.append(tokens[3]).append(reply).append(payload);
  js_->MarkBusy();
}

void Stream::ApplyIncomingAcks() {
  if (incoming_acks_.empty()) return;
  // Handling an ack may route (AckSync replies) and so queue more acks: work on the
  // swapped-out pair.
  applying_acks_.swap(incoming_acks_);
  applying_arena_.swap(incoming_arena_);
  for (const PendingIncomingAck& ack : applying_acks_) {
    const std::string_view bytes(applying_arena_.data() + ack.at,
                                 ack.consumer_len + ack.reply_len + ack.payload_len);
    auto it = consumers_.find(bytes.substr(0, ack.consumer_len));
    if (it == consumers_.end()) continue;
    it->second->OnAck(ack.seq, bytes.substr(ack.consumer_len, ack.reply_len),
                      bytes.substr(ack.consumer_len + ack.reply_len, ack.payload_len));
  }
  applying_acks_.clear();
  applying_arena_.clear();
}

void Stream::LoadConsumers() {
  const std::string obs = dir_ + "/obs";
  std::vector<std::string> names;
  if (!storage::Env::Posix()->ListDir(obs, &names).ok()) return;
  for (const std::string& entry : names) {
    std::unique_ptr<storage::File> file;
    std::string text;
    if (!storage::Env::Posix()->OpenFile(obs + "/" + entry + "/meta.json", false, &file).ok() ||
        !file->ReadAll(&text).ok()) {
      continue;
    }
    nlohmann::json meta = nlohmann::json::parse(text, nullptr, false);
    ConsumerConfig config;
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("config") ||
        !ParseConsumerConfig(meta["config"], config_, &config).ok()) {
      LOG_WARN("JetStream consumer '%s > %s': unreadable configuration, skipped",
               config_.name.c_str(), entry.c_str());
      continue;
    }
    auto consumer = std::make_unique<Consumer>(this, entry, config, IntOr(meta, "created", 0));
    if (!consumer->Restore()) consumer->Start();
    consumers_[entry] = std::move(consumer);
  }
  PublishFigures();
}

}  // namespace tern::core::js
