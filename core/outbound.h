#pragma once
// OutboundQueue: the bytes waiting to be written to one connection, as a chain of
// fixed-size chunks from the shard's ChunkPool. Appends copy into the tail chunk; a send
// takes iovecs over the head; Consume() releases what the kernel took. Ownership: the
// connection's shard; the pool must outlive every queue that uses it.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "core/idle_trimmed_pool.h"

namespace tern::core {

// The shard's output chunks. Up to 1024 (64 MiB) are kept for bursts; what a burst left
// behind goes back to the allocator after about a second unused (TrimIdle), keeping a
// reserve for a healthy shard's steady output. Owned by one shard.
class ChunkPool {
 public:
  static constexpr std::size_t kChunkSize = 64 * 1024;
  explicit ChunkPool(std::size_t max_pooled = 1024, std::size_t reserve = 16)
      : free_(max_pooled, reserve) {}

  char* Get() { return free_.empty() ? Allocate() : free_.Take(); }
  void Put(char* chunk) {
    if (!free_.Give(chunk)) Release(chunk);
  }
  // Called about once a second by the owning shard.
  void TrimIdle() { free_.Trim(); }
  std::size_t pooled() const { return free_.size(); }

 private:
  static char* Allocate();
  static void Release(char* chunk);
  IdleTrimmedPool<char*, &ChunkPool::Release> free_;
};

class OutboundQueue {
 public:
  explicit OutboundQueue(ChunkPool* pool) : pool_(pool) {}
  ~OutboundQueue();
  OutboundQueue(const OutboundQueue&) = delete;
  OutboundQueue& operator=(const OutboundQueue&) = delete;

  void Append(std::string_view bytes);
  void Append(const char* data, std::size_t len) { Append(std::string_view(data, len)); }
  // Contiguous room for n (<= ChunkPool::kChunkSize) bytes at the tail, in a new chunk if
  // the tail has less (what it had left stays unused); Commit(n) once they are written.
  // One write per frame instead of one per piece (msg_encode.h).
  char* Reserve(std::size_t n) {
    if (chunks_.empty() || ChunkPool::kChunkSize - chunks_.back().end < n) {
      chunks_.push_back(Chunk{pool_->Get(), 0, 0});
    }
    return chunks_.back().data + chunks_.back().end;
  }
  void Commit(std::size_t n) {
    chunks_.back().end += n;
    pending_ += n;
    appended_total_ += n;
  }

  // Fills up to max iovecs with the unsent bytes, stopping at limit bytes from the head
  // (a held PONG marks such a limit). Returns the count.
  int FillIovecs(iovec* iov, int max, uint64_t limit) const;
  // The kernel took n bytes from the head.
  void Consume(std::size_t n);

  uint64_t pending_bytes() const { return pending_; }
  bool empty() const { return pending_ == 0; }
  // Total bytes ever appended: a position in the stream, used to hold output back.
  uint64_t appended_total() const { return appended_total_; }
  uint64_t consumed_total() const { return appended_total_ - pending_; }

 private:
  struct Chunk {
    char* data;
    std::size_t begin;  // first unsent byte
    std::size_t end;    // one past the last written byte
  };
  ChunkPool* pool_;
  std::deque<Chunk> chunks_;
  uint64_t pending_ = 0;
  uint64_t appended_total_ = 0;
};

}  // namespace tern::core
