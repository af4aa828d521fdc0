#pragma once
// StreamRestore: one STREAM.RESTORE in progress. The chunks of a backup (backup_format.h)
// are decoded as they arrive into a staging directory beside the streams: the stream's
// log written with the original sequences and times, its durable consumers' files. Once
// the last chunk is in, the staging directory becomes the stream's directory (JsShard
// opens it as at start), so a half-restored stream is never visible. Owned by the
// JsShard of the stream's home shard.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/jetstream/backup_format.h"
#include "core/jetstream/stream_config.h"
#include "storage/stream_log.h"

namespace tern::core::js {

// A restore without a chunk for this long is abandoned (nats-server's).
inline constexpr int64_t kRestoreIdleNs = 5'000'000'000;
// Deleted sequences in one run inside a restored stream (each becomes a tombstone).
inline constexpr uint64_t kMaxRestoreGap = 1'000'000;

class StreamRestore {
 public:
  StreamRestore(std::string staging_dir, StreamConfig config, int64_t now_ns);
  ~StreamRestore();

  const std::string& token() const { return token_; }
  const StreamConfig& config() const { return config_; }
  const std::string& staging_dir() const { return staging_dir_; }
  int64_t last_chunk_ns() const { return last_chunk_ns_; }
  int64_t started_wall_ns() const { return started_wall_ns_; }
  uint64_t bytes() const { return bytes_; }

  // One chunk. False only when the store failed (the chunk's answer says so); a corrupt
  // backup is reported by Finish, as nats-server reports it on the last chunk.
  bool Feed(std::string_view chunk, int64_t now_ns);
  // The last chunk came: completes the staging directory. False with *error (the text
  // after "restore failed: ").
  bool Finish(std::string* error);
  // Removes the staging directory (failed or abandoned).
  void Discard();

 private:
  void Take(const std::string& name, const std::string& data);
  void TakeRecords(std::string_view data);
  // Leaves the sequences up to `last` deleted; their placeholders carry `time_ns`.
  bool SkipTo(uint64_t last, int64_t time_ns);
  void Fail(std::string error) {
    if (error_.empty()) error_ = std::move(error);
  }

  std::string staging_dir_;
  StreamConfig config_;
  std::string token_;
  int64_t last_chunk_ns_;
  int64_t started_wall_ns_;
  uint64_t bytes_ = 0;
  backup::FrameReader frames_;
  backup::TarReader tar_;
  std::string decoded_;
  std::unique_ptr<storage::StreamLog> log_;
  bool have_meta_ = false;
  int64_t created_ns_ = 0;
  uint64_t first_seq_ = 0, last_seq_ = 0;
  int64_t last_time_ns_ = 0;  // of the last sequence, deleted or not
  std::string error_;         // the backup is unusable (reported at the end)
  bool store_failed_ = false;
};

}  // namespace tern::core::js
