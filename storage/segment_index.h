#pragma once
// The sparse sequence index of a sealed segment, and its file encoding (format.h).
// Stateless functions; the index itself is owned by its Segment.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::storage {

struct IndexEntry {
  uint64_t seq = 0;
  uint64_t offset = 0;
};

struct SegmentSummary {
  uint64_t data_end = 0;
  uint64_t records = 0;
  uint64_t last_seq = 0;
  int64_t last_time = 0;
  std::vector<IndexEntry> entries;  // ascending; one per format::kIndexStride of records
};

std::string EncodeIndex(const SegmentSummary& summary);
// False when the bytes are not a well-formed index with a good checksum.
bool DecodeIndex(std::string_view bytes, SegmentSummary* summary);

}  // namespace tern::storage
