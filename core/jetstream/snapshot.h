#pragma once
// StreamSnapshot: one STREAM.SNAPSHOT in progress. It sends the stream's backup
// (backup_format.h) to the requester's deliver subject in chunks, each with an ack subject
// $JS.SNAPSHOT.ACK.<stream>.<token>.<bytes>.<index>; at most a window of unacked bytes is
// out at once, and an empty message ends it (as nats-server 2.9). Messages are read from
// the log a piece at a time across loop turns, up to the last sequence at the start.
// Owned by its Stream, on the stream's home shard.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/jetstream/backup_format.h"

namespace tern::storage {
class StreamLog;
}

namespace tern::core::js {

class JsShard;

class StreamSnapshot {
 public:
  // `files`: the archive's files before the messages (meta.json, consumers' files).
  StreamSnapshot(JsShard* js, std::string stream, storage::StreamLog* log,
                 std::vector<std::pair<std::string, std::string>> files, std::string deliver,
                 std::size_t chunk_size, int64_t now_ns);

  const std::string& token() const { return token_; }
  // Sends what the window allows. False once finished or given up (drop it then).
  bool Pump(int64_t now_ns);
  // An ack on $JS.SNAPSHOT.ACK.<stream>.<token>.<bytes>.<index>: `tail` is "<bytes>.<index>".
  void OnAck(std::string_view tail, int64_t now_ns);
  // The next time Pump has something to do while it waits (monotonic ns).
  int64_t NextDeadline() const { return wake_at_; }
  bool waiting() const { return waiting_; }
  // Everything was sent and the end marked (not given up).
  bool completed() const { return completed_; }
  int64_t started_wall_ns() const { return started_wall_ns_; }

 private:
  // Encodes more of the archive into out_ (framed); false when all is encoded.
  bool Produce();
  void Finish(std::string_view status_header);

  JsShard* js_;
  std::string stream_;
  storage::StreamLog* log_;
  std::string token_;
  std::string deliver_;
  std::size_t chunk_size_;
  int64_t started_ns_;
  int64_t last_progress_ns_;
  int64_t wake_at_ = 0;
  bool waiting_ = false;
  bool interest_seen_ = false;
  bool completed_ = false;
  int64_t started_wall_ns_;
  uint64_t next_seq_;
  uint64_t last_seq_;
  int file_index_ = 0;
  bool encoded_all_ = false;
  backup::FrameWriter frames_;
  std::string out_;  // framed bytes not yet sent
  std::size_t out_at_ = 0;
  std::string scratch_;
  uint64_t outstanding_ = 0;  // bytes sent and not acked
  uint64_t chunk_index_ = 0;
  uint64_t bytes_sent_ = 0;
};

}  // namespace tern::core::js
