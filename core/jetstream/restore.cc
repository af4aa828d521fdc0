#include "core/jetstream/restore.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"

namespace tern::core::js {

StreamRestore::StreamRestore(std::string staging_dir, StreamConfig config, int64_t now_ns)
    : staging_dir_(std::move(staging_dir)),
      config_(std::move(config)),
      token_(RandomName(22)),
      last_chunk_ns_(now_ns),
      started_wall_ns_(WallNowNs()) {}

StreamRestore::~StreamRestore() = default;

bool StreamRestore::Feed(std::string_view chunk, int64_t now_ns) {
  last_chunk_ns_ = now_ns;
  bytes_ += chunk.size();
  if (!error_.empty() || store_failed_) return !store_failed_;
  decoded_.clear();
  if (!frames_.Feed(chunk, &decoded_)) {
    Fail(frames_.error());
    return true;
  }
  tar_.Feed(decoded_);
  std::string name, data;
  while (error_.empty() && !store_failed_ && tar_.Next(&name, &data)) Take(name, data);
  if (!tar_.error().empty()) Fail(tar_.error());
  return !store_failed_;
}

void StreamRestore::Take(const std::string& name, const std::string& data) {
  storage::Env* env = storage::Env::Posix();
  if (name == "meta.json") {
    const nlohmann::json meta = ParseClientJson(data);
    StreamConfig archived;
    if (!meta.is_object() || !meta.contains("config") ||
        !ParseStreamConfig(meta["config"], &archived).ok()) {
      return Fail("unreadable stream configuration in the backup");
    }
    if (archived.name != config_.name) return Fail("stream names do not match");
    created_ns_ = IntOr(meta, "created", 0);
    first_seq_ = static_cast<uint64_t>(std::max<int64_t>(0, IntOr(meta, "first_seq", 0)));
    last_seq_ = static_cast<uint64_t>(std::max<int64_t>(0, IntOr(meta, "last_seq", 0)));
    last_time_ns_ = IntOr(meta, "last_time", 0);
    have_meta_ = true;
    storage::LogOptions options;
    options.sync = storage::SyncPolicy::kNone;  // synced once, at the end
    storage::RecoveryReport report;
    auto log = storage::StreamLog::Open(env, staging_dir_ + "/msgs", options, {}, &report);
    if (!log.ok()) {
      store_failed_ = true;
      return Fail(std::string(log.status().message()));
    }
    log_ = std::move(log).value();
    if (first_seq_ > 1) SkipTo(first_seq_ - 1, 0);
    return;
  }
  if (!have_meta_) return Fail("the backup does not start with the stream's meta.json");
  if (name.rfind("msgs/", 0) == 0) return TakeRecords(data);
  if (name.rfind("obs/", 0) == 0) {
    // obs/<consumer>/meta.json or state.json, as the store keeps them.
    const std::string rest = name.substr(4);
    const std::size_t slash = rest.find('/');
    const std::string consumer = rest.substr(0, slash);
    const std::string file = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (!IsValidName(consumer) || (file != "meta.json" && file != "state.json")) {
      return Fail("unexpected file in the backup: " + name);
    }
    const std::string dir = staging_dir_ + "/obs/" + consumer;
    absl::Status status = env->CreateDirs(dir);
    if (status.ok()) status = env->WriteFileAtomically(dir + "/" + file, data);
    if (!status.ok()) {
      store_failed_ = true;
      Fail(std::string(status.message()));
    }
  }
  // Anything else is not Tern's and is skipped.
}

void StreamRestore::TakeRecords(std::string_view data) {
  std::size_t at = 0;
  backup::Record record;
  while (ReadRecord(data, &at, &record)) {
    const uint64_t last = log_->State().last_seq;
    if (record.seq <= last) return Fail("messages out of order in the backup");
    if (record.seq > last + 1 && !SkipTo(record.seq - 1, record.time_ns)) return;
    absl::StatusOr<uint64_t> seq =
        log_->AppendAt(record.time_ns, record.subject, record.header, record.payload);
    if (!seq.ok()) {
      store_failed_ = true;
      return Fail(std::string(seq.status().message()));
    }
  }
  if (at != data.size()) Fail("a cut-off message in the backup");
}

bool StreamRestore::SkipTo(uint64_t last, int64_t time_ns) {
  const storage::LogState state = log_->State();
  if (last <= state.last_seq) return true;
  if (state.msgs == 0) {
    storage::PurgeRequest purge;
    purge.below = last + 1;
    if (!log_->Purge(purge).ok()) {
      store_failed_ = true;
      Fail("cannot skip deleted messages");
      return false;
    }
    return true;
  }
  // Each deleted sequence inside the stream is a tombstone to write: a backup claiming a
  // huge gap would stall the shard for minutes, so one gap is bounded.
  if (last - state.last_seq > kMaxRestoreGap) {
    Fail("a gap of " + std::to_string(last - state.last_seq) +
         " deleted messages is more than a restore takes (" + std::to_string(kMaxRestoreGap) + ")");
    return false;
  }
  for (uint64_t seq = state.last_seq + 1; seq <= last; ++seq) {  // deleted ones stay deleted
    absl::StatusOr<uint64_t> placeholder = log_->AppendAt(time_ns, config_.name, {}, {});
    if (!placeholder.ok()) {
      store_failed_ = true;
      Fail(std::string(placeholder.status().message()));
      return false;
    }
    log_->Delete(*placeholder);
  }
  return true;
}

bool StreamRestore::Finish(std::string* error) {
  if (error_.empty() && !have_meta_) Fail("unexpected end of the backup");
  if (error_.empty() && !tar_.done()) Fail("unexpected end of the backup");
  if (error_.empty()) SkipTo(last_seq_, last_time_ns_);  // deleted messages at the end
  if (error_.empty()) {
    absl::Status status = log_->Sync();
    if (status.ok()) status = log_->Close();
    if (status.ok()) {
      const nlohmann::json meta = {{"config", config_.ToJson()}, {"created", created_ns_}};
      status = storage::Env::Posix()->WriteFileAtomically(staging_dir_ + "/meta.json", Dump(meta));
    }
    if (!status.ok()) Fail(std::string(status.message()));
  }
  log_.reset();
  *error = error_;
  return error_.empty();
}

void StreamRestore::Discard() {
  log_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(staging_dir_, ignored);
}

}  // namespace tern::core::js
