#include "core/xbatch.h"

#include <new>

namespace tern::core {
namespace {

// memcpy from an empty string_view may pass a null pointer, which memcpy forbids.
char* Put(char* dest, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(dest, bytes.data(), bytes.size());
  return dest + bytes.size();
}

}  // namespace

XBatch* XBatch::Create(uint16_t owner, uint32_t capacity) {
  constexpr std::size_t kHeader = (sizeof(XBatch) + 63) & ~std::size_t{63};
  void* mem = ::operator new (kHeader + capacity, std::align_val_t{64});
  auto* batch = new (mem) XBatch;
  batch->owner = owner;
  batch->capacity = capacity;
  batch->data = static_cast<char*>(mem) + kHeader;
  return batch;
}

void XBatch::Destroy(XBatch* batch) {
  batch->~XBatch();
  ::operator delete (static_cast<void*>(batch), std::align_val_t{64});
}

void WritePublish(XBatch* batch, const Message& msg, bool deliver_plain,
                  const std::string_view* queues, uint16_t queue_count, uint8_t hops) {
  char* p = batch->Reserve(PublishItemSize(msg, queues, queue_count));
  XPublishHeader h{XKind::kPublish,
                   static_cast<uint8_t>(deliver_plain),
                   queue_count,
                   msg.account,
                   hops,
                   msg.origin,
                   msg.link,
                   static_cast<uint32_t>(msg.subject.size()),
                   static_cast<uint32_t>(msg.reply.size()),
                   static_cast<uint32_t>(msg.header_len),
                   static_cast<uint32_t>(msg.data.size()),
                   static_cast<uint32_t>(msg.display.size())};
  std::memcpy(p, &h, sizeof h);
  p = Put(p + sizeof h, msg.subject);
  p = Put(p, msg.display);
  p = Put(p, msg.reply);
  for (uint16_t i = 0; i < queue_count; ++i) {
    const auto len = static_cast<uint16_t>(queues[i].size());
    std::memcpy(p, &len, 2);
    p = Put(p + 2, queues[i]);
  }
  Put(p, msg.data);
}

void WriteInterest(XBatch* batch, uint16_t account, int32_t delta, std::string_view subject,
                   std::string_view queue, bool fallback) {
  char* p = batch->Reserve(InterestItemSize(subject, queue));
  XInterestHeader h{XKind::kInterest,
                    static_cast<uint8_t>(fallback ? 1 : 0),
                    static_cast<uint16_t>(queue.size()),
                    account,
                    delta,
                    static_cast<uint32_t>(subject.size())};
  std::memcpy(p, &h, sizeof h);
  Put(Put(p + sizeof h, subject), queue);
}

void WriteEpoch(XBatch* batch, XKind kind, uint64_t epoch) {
  XEpochItem item{kind, epoch};
  std::memcpy(batch->Reserve(sizeof item), &item, sizeof item);
}

void WriteAdopt(XBatch* batch, int fd, uint32_t listener, uint64_t client_id) {
  XAdoptItem item{XKind::kAdopt, fd, listener, client_id};
  std::memcpy(batch->Reserve(sizeof item), &item, sizeof item);
}

bool ReadItem(const XBatch* batch, uint32_t* offset, XItem* item) {
  if (*offset >= batch->used) return false;
  const char* p = batch->data + *offset;
  item->kind = static_cast<XKind>(p[0]);
  uint32_t size = 0;
  switch (item->kind) {
    case XKind::kPublish: {
      XPublishHeader h;
      std::memcpy(&h, p, sizeof h);
      const char* q = p + sizeof h;
      Message& msg = item->msg;
      msg.subject = std::string_view(q, h.subject_len);
      q += h.subject_len;
      msg.display = std::string_view(q, h.display_len);
      q += h.display_len;
      msg.reply = std::string_view(q, h.reply_len);
      q += h.reply_len;
      item->queues = q;
      item->queue_count = h.queue_count;
      for (uint16_t i = 0; i < h.queue_count; ++i) {
        uint16_t len;
        std::memcpy(&len, q, 2);
        q += 2 + len;
      }
      msg.data = std::string_view(q, h.data_len);
      msg.header_len = h.header_len;
      msg.account = h.account;
      msg.origin = h.origin;
      msg.link = h.link;
      item->deliver_plain = h.deliver_plain != 0;
      item->hops = h.hops;
      size = static_cast<uint32_t>(q + h.data_len - p);
      break;
    }
    case XKind::kInterest: {
      XInterestHeader h;
      std::memcpy(&h, p, sizeof h);
      item->delta = h.delta;
      item->account = h.account;
      item->fallback = h.fallback != 0;
      item->subject = std::string_view(p + sizeof h, h.subject_len);
      item->queue = std::string_view(p + sizeof h + h.subject_len, h.queue_len);
      size = static_cast<uint32_t>(sizeof h + h.subject_len + h.queue_len);
      break;
    }
    case XKind::kBarrier:
    case XKind::kBarrierAck: {
      XEpochItem e;
      std::memcpy(&e, p, sizeof e);
      item->epoch = e.epoch;
      size = sizeof e;
      break;
    }
    case XKind::kAdopt: {
      XAdoptItem a;
      std::memcpy(&a, p, sizeof a);
      item->fd = a.fd;
      item->listener = a.listener;
      item->client_id = a.client_id;
      size = sizeof a;
      break;
    }
  }
  *offset += (size + 7u) & ~7u;
  return true;
}

}  // namespace tern::core
