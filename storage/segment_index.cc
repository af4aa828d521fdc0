#include "storage/segment_index.h"

#include <cstring>

#include "storage/crc32c.h"
#include "storage/format.h"

namespace tern::storage {
namespace {

template <typename T>
void Append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T Get(std::string_view bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace

std::string EncodeIndex(const SegmentSummary& summary) {
  std::string out(format::kIndexMagic, sizeof(format::kIndexMagic));
  Append<uint32_t>(&out, format::kVersion);
  Append<uint32_t>(&out, static_cast<uint32_t>(summary.entries.size()));
  Append<uint64_t>(&out, summary.data_end);
  Append<uint64_t>(&out, summary.records);
  Append<uint64_t>(&out, summary.last_seq);
  Append<int64_t>(&out, summary.last_time);
  for (const IndexEntry& entry : summary.entries) {
    Append<uint64_t>(&out, entry.seq);
    Append<uint64_t>(&out, entry.offset);
  }
  Append<uint32_t>(&out, Crc32c(out.data(), out.size()));
  return out;
}

bool DecodeIndex(std::string_view bytes, SegmentSummary* summary) {
  if (bytes.size() < format::kIndexHeaderSize + 4 ||
      std::memcmp(bytes.data(), format::kIndexMagic, sizeof(format::kIndexMagic)) != 0 ||
      Get<uint32_t>(bytes, 8) != format::kVersion) {
    return false;
  }
  const uint64_t count = Get<uint32_t>(bytes, 12);
  if (bytes.size() != format::kIndexHeaderSize + count * format::kIndexEntrySize + 4) return false;
  const std::size_t crc_offset = bytes.size() - 4;
  if (Crc32c(bytes.data(), crc_offset) != Get<uint32_t>(bytes, crc_offset)) return false;
  summary->data_end = Get<uint64_t>(bytes, 16);
  summary->records = Get<uint64_t>(bytes, 24);
  summary->last_seq = Get<uint64_t>(bytes, 32);
  summary->last_time = Get<int64_t>(bytes, 40);
  summary->entries.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    const std::size_t at = format::kIndexHeaderSize + i * format::kIndexEntrySize;
    summary->entries[i] = {Get<uint64_t>(bytes, at), Get<uint64_t>(bytes, at + 8)};
  }
  return true;
}

}  // namespace tern::storage
