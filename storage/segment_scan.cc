#include "storage/segment_scan.h"

#include "storage/format.h"

namespace tern::storage {
namespace {

bool AllZero(const char* data, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) {
    if (data[i] != 0) return false;
  }
  return true;
}

// The next aligned offset after `from` holding a checksummed record newer than `after`.
uint64_t Resynchronise(const char* data, uint64_t from, uint64_t limit, uint64_t after) {
  for (uint64_t offset = from + format::kRecordAlign; offset + format::kRecordHeaderSize <= limit;
       offset += format::kRecordAlign) {
    StoredMessage message;
    std::size_t size;
    if (PeekSequence(data, offset, limit) > after &&
        DecodeRecord(data, offset, limit, true, &message, &size) == DecodeResult::kOk) {
      return offset;
    }
  }
  return 0;
}

}  // namespace

ScanResult ScanSegment(const char* data, uint64_t limit, uint64_t first_seq, bool verify,
                       const RecordVisitor& on_record) {
  ScanResult result;
  uint64_t offset = format::kSegmentHeaderSize;
  uint64_t previous = first_seq - 1;
  while (offset < limit) {
    StoredMessage message;
    std::size_t size = 0;
    const DecodeResult decoded = DecodeRecord(data, offset, limit, verify, &message, &size);
    if (decoded == DecodeResult::kOk && message.seq > previous) {
      on_record(message, offset, size);
      previous = message.seq;
      ++result.records;
      offset += size;
      continue;
    }
    if (!verify || AllZero(data, offset, limit)) break;  // zeros: the normal end of data
    const uint64_t next = Resynchronise(data, offset, limit, previous);
    if (next == 0) break;
    result.damaged.push_back({offset, next - offset});
    offset = next;
  }
  result.data_end = offset < limit ? offset : limit;
  result.last_seq = previous;
  if (!AllZero(data, result.data_end, limit)) {
    uint64_t last_nonzero = limit;
    while (last_nonzero > result.data_end && data[last_nonzero - 1] == 0) --last_nonzero;
    result.torn_tail_bytes = last_nonzero - result.data_end;
  }
  return result;
}

}  // namespace tern::storage
