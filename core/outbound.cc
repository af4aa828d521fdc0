#include "core/outbound.h"

#include <cstring>
#include <new>

namespace tern::core {

char* ChunkPool::Allocate() { return static_cast<char*>(::operator new(kChunkSize)); }

void ChunkPool::Release(char* chunk) { ::operator delete(chunk); }

OutboundQueue::~OutboundQueue() {
  for (Chunk& c : chunks_) pool_->Put(c.data);
}

void OutboundQueue::Append(std::string_view bytes) {
  pending_ += bytes.size();
  appended_total_ += bytes.size();
  while (!bytes.empty()) {
    if (chunks_.empty() || chunks_.back().end == ChunkPool::kChunkSize) {
      chunks_.push_back(Chunk{pool_->Get(), 0, 0});
    }
    Chunk& tail = chunks_.back();
    const std::size_t n = std::min(bytes.size(), ChunkPool::kChunkSize - tail.end);
    std::memcpy(tail.data + tail.end, bytes.data(), n);
    tail.end += n;
    bytes.remove_prefix(n);
  }
}

int OutboundQueue::FillIovecs(iovec* iov, int max, uint64_t limit) const {
  int count = 0;
  uint64_t budget = limit;
  for (const Chunk& c : chunks_) {
    if (count == max || budget == 0) break;
    std::size_t len = c.end - c.begin;
    if (len == 0) continue;
    if (len > budget) len = static_cast<std::size_t>(budget);
    iov[count].iov_base = c.data + c.begin;
    iov[count].iov_len = len;
    budget -= len;
    ++count;
  }
  return count;
}

void OutboundQueue::Consume(std::size_t n) {
  pending_ -= n;
  while (n > 0) {
    Chunk& head = chunks_.front();
    const std::size_t len = head.end - head.begin;
    if (n < len) {
      head.begin += n;
      return;
    }
    n -= len;
    // Every fully sent chunk goes back to the shard's pool, the last one too: an idle
    // connection holds no output memory (10,000 idle connections would otherwise keep a
    // chunk each), and the next append takes a chunk from the pool, as cheap as reusing it.
    pool_->Put(head.data);
    chunks_.pop_front();
  }
}

}  // namespace tern::core
