#pragma once
// XBatch: a block of packed items one shard sends another in one ring slot: published
// messages, interest changes, barriers, and accepted sockets to adopt. The sender owns
// the batch; the receiver reads it and hands the pointer back on its own ring so the
// sender recycles it (no cross-thread free). Items are written and read in order.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/check.h"
#include "core/message.h"

namespace tern::core {

enum class XKind : uint8_t { kPublish = 1, kInterest, kBarrier, kBarrierAck, kAdopt };

// A Message (core/message.h) as a batch item: this header, then subject, display, reply,
// the queue names and the data. Each Message field has its place here.
struct XPublishHeader {
  XKind kind;
  uint8_t deliver_plain;  // deliver to the receiver's plain subscribers
  uint16_t queue_count;   // queue groups the receiver must serve (one member each)
  uint16_t account;       // the account whose subject space the subject is in
  uint8_t hops;           // times a queue message was sent on because its pick was gone
  ConnectionKind origin;  // the kind of connection it came in on
  uint32_t link;          // the link it came in on (0 = none)
  uint32_t subject_len;
  uint32_t reply_len;
  uint32_t header_len;
  uint32_t data_len;     // header block + payload
  uint32_t display_len;  // JetStream deliveries: the subject the MSG line shows (0 = subject)
};

struct XInterestHeader {
  XKind kind;
  uint8_t fallback;  // queue members behind leafnode links (see QueueMatch)
  uint16_t queue_len;
  uint16_t account;
  // Plain: +1 / -1. Queue: members added / removed, a route's member counting as its
  // weight (core/subscription.h).
  int32_t delta;
  uint32_t subject_len;
};

struct XEpochItem {
  XKind kind;
  uint64_t epoch;
};

struct XAdoptItem {
  XKind kind;
  int fd;
  uint32_t listener;  // which listener accepted it: decides the connection kind
  uint64_t client_id;
};

struct XBatch {
  static constexpr uint32_t kStandardCapacity = 64 * 1024;
  uint16_t owner = 0;
  bool returning = false;  // on its way back to its owner
  uint32_t capacity = 0;
  uint32_t used = 0;
  char* data = nullptr;

  static XBatch* Create(uint16_t owner, uint32_t capacity);
  static void Destroy(XBatch* batch);
  uint32_t space() const { return capacity - used; }
  char* Reserve(uint32_t bytes) {  // bytes must fit
    const uint32_t rounded = (bytes + 7u) & ~7u;
    TERN_DCHECK(rounded <= capacity - used);
    char* p = data + used;
    used += rounded;
    return p;
  }
};

inline uint32_t PublishItemSize(const Message& msg, const std::string_view* queues,
                                uint16_t queue_count) {
  std::size_t size = sizeof(XPublishHeader) + msg.subject.size() + msg.reply.size() +
                     msg.data.size() + msg.display.size();
  for (uint16_t i = 0; i < queue_count; ++i) size += 2 + queues[i].size();
  return static_cast<uint32_t>((size + 7) & ~std::size_t{7});
}

// `deliver_plain`: the receiver serves its plain subscribers; `queues`: the groups it must
// serve one member each of; `hops`: times a queue message was already sent on.
void WritePublish(XBatch* batch, const Message& msg, bool deliver_plain,
                  const std::string_view* queues, uint16_t queue_count, uint8_t hops = 0);
void WriteInterest(XBatch* batch, uint16_t account, int32_t delta, std::string_view subject,
                   std::string_view queue, bool fallback = false);
void WriteEpoch(XBatch* batch, XKind kind, uint64_t epoch);
void WriteAdopt(XBatch* batch, int fd, uint32_t listener, uint64_t client_id);
inline uint32_t InterestItemSize(std::string_view subject, std::string_view queue) {
  return static_cast<uint32_t>((sizeof(XInterestHeader) + subject.size() + queue.size() + 7) &
                               ~std::size_t{7});
}

// A decoded view of one item.
struct XItem {
  XKind kind;
  // kPublish
  Message msg;
  bool deliver_plain = false;
  uint8_t hops = 0;
  uint16_t queue_count = 0;
  const char* queues = nullptr;  // queue_count x (u16 len, bytes)
  // kInterest
  uint16_t account = 0;
  std::string_view subject;
  int32_t delta = 0;
  std::string_view queue;
  bool fallback = false;
  // kBarrier / kBarrierAck / kAdopt
  uint64_t epoch = 0;
  int fd = -1;
  uint32_t listener = 0;
  uint64_t client_id = 0;
};

// Decodes the item at *offset and advances it; false at the end of the batch.
bool ReadItem(const XBatch* batch, uint32_t* offset, XItem* item);

// Iterates the queue names of a decoded publish item.
template <typename Fn>
void ForEachQueue(const XItem& item, Fn&& fn) {
  const char* p = item.queues;
  for (uint16_t i = 0; i < item.queue_count; ++i) {
    uint16_t len;
    std::memcpy(&len, p, 2);
    fn(std::string_view(p + 2, len));
    p += 2 + len;
  }
}

}  // namespace tern::core
