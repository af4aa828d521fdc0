#pragma once
// Walks the records of one segment's bytes, validating as it goes. Used when a log is
// opened (recovery) and by the tern-segdump checker. Stateless; runs on the caller's
// thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/record.h"

namespace tern::storage {

struct ScanDamage {
  uint64_t offset = 0;  // where the unreadable bytes start
  uint64_t length = 0;  // how many bytes were skipped
};

struct ScanResult {
  uint64_t data_end = 0;  // the end of the last good record (or of the header)
  uint64_t records = 0;
  uint64_t last_seq = 0;
  // Unreadable ranges between good records (a flipped bit, a lost page). Records after
  // them were recovered by resynchronising on the next record with a valid checksum.
  std::vector<ScanDamage> damaged;
  // Non-zero bytes after data_end: a torn last write (or damage) that was not kept.
  uint64_t torn_tail_bytes = 0;
};

// Scans data[header_end, limit). Records must carry sequences >= first_seq and strictly
// increasing. With verify=false checksums are skipped and the scan stops at the first
// record that does not decode (for data whose index vouches for it). `on_record` gets each
// good record and its offset.
using RecordVisitor = std::function<void(const StoredMessage&, uint64_t offset, uint64_t size)>;
ScanResult ScanSegment(const char* data, uint64_t limit, uint64_t first_seq, bool verify,
                       const RecordVisitor& on_record);

}  // namespace tern::storage
