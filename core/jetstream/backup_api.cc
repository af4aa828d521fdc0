// STREAM.SNAPSHOT on the stream's home shard: validates the request, answers with the
// stream's config and state, then hands the sending to a StreamSnapshot (snapshot.h).
#include <nlohmann/json.hpp>

#include "core/jetstream/advisories.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/consumer.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

constexpr const char* kSnapshotType = "io.nats.jetstream.api.v1.stream_snapshot_response";
constexpr int64_t kDefaultChunkSize = 128 * 1024;
constexpr int64_t kMinChunkSize = 1024;  // smaller would only cost messages
constexpr int64_t kMaxChunkSize = 8 << 20;

}  // namespace

void Stream::ApiSnapshot(const ApiRequest& r) {
  nlohmann::json body;
  if (r.payload.empty()) return js_->Reply(r.reply, {}, kSnapshotType, MakeError(err::kBadRequest));
  if (!ParseRequestBody(r.payload, &body)) {
    return js_->Reply(r.reply, {}, kSnapshotType, MakeError(err::kInvalidJson));
  }
  const nlohmann::json deliver = body.value("deliver_subject", nlohmann::json());
  if (!deliver.is_string() || !IsValidSubject(deliver.get<std::string>()) ||
      !IsLiteral(deliver.get<std::string>())) {
    return js_->Reply(r.reply, {}, kSnapshotType, MakeError(err::kSnapshotDeliverSubjectInvalid));
  }
  if (config_.storage == StorageKind::kMemory) {
    return js_->Reply(r.reply, {}, kSnapshotType, MakeError(err::kStreamSnapshot, "no impl"));
  }
  if (snapshot_ != nullptr) {
    return js_->Reply(r.reply, {}, kSnapshotType,
                      MakeError(err::kStreamSnapshot, "snapshot already in progress"));
  }
  int64_t chunk_size = IntOr(body, "chunk_size", kDefaultChunkSize);
  if (chunk_size <= 0) chunk_size = kDefaultChunkSize;
  chunk_size = std::clamp(chunk_size, kMinChunkSize, kMaxChunkSize);
  const bool no_consumers = body.value("no_consumers", false) == true;

  // What the archive holds besides the messages, as the store keeps it.
  std::vector<std::pair<std::string, std::string>> files;
  const storage::LogState log_state = log_->State();
  files.emplace_back("meta.json", Dump(nlohmann::json{{"config", config_.ToJson()},
                                                      {"created", created_ns_},
                                                      {"first_seq", log_state.first_seq},
                                                      {"last_seq", log_state.last_seq},
                                                      {"last_time", log_state.last_time}}));
  if (!no_consumers) {
    for (const auto& [name, consumer] : consumers_) {
      if (!consumer->config().durable() || consumer->config().direct) continue;
      files.emplace_back("obs/" + name + "/meta.json", Dump(consumer->MetaJson()));
      files.emplace_back("obs/" + name + "/state.json", Dump(consumer->StateJson()));
    }
  }
  const nlohmann::json state = State();
  snapshot_ = std::make_unique<StreamSnapshot>(js_, config_.name, log_.get(), std::move(files),
                                               deliver.get<std::string>(),
                                               static_cast<std::size_t>(chunk_size), js_->now_ns());
  AdviseSnapshotCreate(js_, config_.name, Dump(state));
  js_->Reply(r.reply, {{"config", config_.ToJson()}, {"state", state}}, kSnapshotType);
  js_->MarkBusy();
}

void Stream::OnSnapshotAck(std::string_view token, std::string_view tail) {
  if (snapshot_ != nullptr && snapshot_->token() == token) snapshot_->OnAck(tail, js_->now_ns());
}

void Stream::PumpSnapshot(int64_t now_ns) {
  if (snapshot_->Pump(now_ns)) return;
  if (snapshot_->completed()) {
    AdviseSnapshotComplete(js_, config_.name, snapshot_->started_wall_ns(), WallNowNs());
  }
  snapshot_.reset();
}

}  // namespace tern::core::js
