// STREAM.RESTORE on the named stream's home shard: the request (config checked as for a
// create, the name free), then the chunks on $JS.SNAPSHOT.RESTORE.<stream>.<token>, each
// answered; the empty one completes the restore and is answered as a stream create.
#include <filesystem>

#include "core/jetstream/advisories.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/restore.h"
#include "core/jetstream/stream.h"
#include "core/log.h"
#include "core/shard.h"

namespace tern::core::js {
namespace {

constexpr const char* kRestoreType = "io.nats.jetstream.api.v1.stream_restore_response";
constexpr const char* kCreateType = "io.nats.jetstream.api.v1.stream_create_response";

}  // namespace

void JsShard::StreamRestoreRequest(const Request& r, const std::string& name) {
  nlohmann::json body;
  if (r.payload.empty()) {
    return Reply(r.reply, {{"deliver_subject", ""}}, kRestoreType, MakeError(err::kBadRequest));
  }
  if (!ParseRequestBody(r.payload, &body) || !body.contains("config") ||
      !body["config"].is_object()) {
    return Reply(r.reply, {}, kRestoreType, MakeError(err::kInvalidJson));
  }
  // The config is checked as a create's would be (its name may be left out).
  Request as_create = r;
  as_create.payload = Dump(body["config"]);
  StreamConfig config;
  if (ApiError error = ParseRequestConfig(as_create, name, &config); !error.ok()) {
    return Reply(r.reply, {}, kRestoreType, error);
  }
  StreamEntry existing;
  if (Find(name) != nullptr || restores_.contains(name) || registry_->Find(name, &existing)) {
    return Reply(r.reply, {{"deliver_subject", ""}}, kRestoreType,
                 MakeError(err::kStreamRestoreNameInUse));
  }
  if (config.storage == StorageKind::kMemory) {
    return Reply(r.reply, {{"deliver_subject", ""}}, kRestoreType,
                 MakeError(err::kStreamRestore, "memory streams can not be restored"));
  }
  const std::string staging =
      registry_->store_dir() + "/jetstream/" + registry_->account() + "/restore-" + name;
  std::error_code ignored;
  std::filesystem::remove_all(staging, ignored);  // left by a restore cut short
  auto restore = std::make_unique<StreamRestore>(staging, config, now_ns_);
  const std::string deliver = "$JS.SNAPSHOT.RESTORE." + name + "." + restore->token();
  restores_[name] = std::move(restore);
  AdviseRestoreCreate(this, name);
  Reply(r.reply, {{"deliver_subject", deliver}}, kRestoreType);
}

void JsShard::RestoreChunk(const Request& r) {
  std::string_view rest = std::string_view(r.subject).substr(21);  // "$JS.SNAPSHOT.RESTORE."
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return;
  const std::string name(rest.substr(0, dot));
  auto it = restores_.find(name);
  if (it == restores_.end() || it->second->token() != rest.substr(dot + 1)) {
    // Nobody listens there any more (abandoned, finished): as no responders.
    if (!r.reply.empty()) ReplyStatus(r.reply, 503, "");
    return;
  }
  StreamRestore* restore = it->second.get();
  if (r.reply.empty()) {  // every chunk must be answerable: the restore is dropped
    restore->Discard();
    restores_.erase(it);
    return;
  }
  if (!r.payload.empty()) {
    if (restore->Feed(r.payload, now_ns_)) {
      Send(r.reply, {}, {}, {});
    } else {
      Send(r.reply, {}, {}, "-ERR 'storage failure during restore'");
    }
    return;
  }
  CompleteRestore(restore, r);
  restores_.erase(name);
}

void JsShard::CompleteRestore(StreamRestore* restore, const Request& r) {
  const std::string name = restore->config().name;
  std::string problem;
  if (!restore->Finish(&problem)) {
    restore->Discard();
    return Reply(r.reply, {}, kCreateType, MakeError(err::kStreamRestore, problem));
  }
  const std::string dir = registry_->StreamsDir() + "/" + name;
  std::error_code failed;
  std::filesystem::rename(restore->staging_dir(), dir, failed);
  if (failed) {
    restore->Discard();
    return Reply(r.reply, {}, kCreateType, MakeError(err::kStreamRestore, failed.message()));
  }
  Stream* stream = OpenStored(name, &problem);
  if (stream == nullptr) {
    std::filesystem::remove_all(dir, failed);
    return Reply(r.reply, {}, kCreateType, MakeError(err::kStreamRestore, problem));
  }
  stream->Subscribe(true, nullptr);
  MarkBusy();
  LOG_INFO("JetStream: stream '%s' restored (%lu messages)", name.c_str(),
           static_cast<unsigned long>(stream->log().State().msgs));
  AdviseRestoreComplete(this, name, restore->started_wall_ns(), WallNowNs(), restore->bytes());
  AdviseStreamAction(this, name, "create");
  Reply(r.reply, stream->Info({}), kCreateType);
}

void JsShard::ExpireRestores(int64_t now_ns) {
  for (auto it = restores_.begin(); it != restores_.end();) {
    if (now_ns - it->second->last_chunk_ns() > kRestoreIdleNs) {
      LOG_WARN("JetStream: restore of stream '%s' abandoned (no data for 5s)", it->first.c_str());
      it->second->Discard();
      restores_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace tern::core::js
