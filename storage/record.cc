#include "storage/record.h"

#include <cstring>

#include "storage/crc32c.h"
#include "storage/format.h"

namespace tern::storage {
namespace {

template <typename T>
void Put(char* dst, std::size_t offset, T value) {
  std::memcpy(dst + offset, &value, sizeof(T));  // the build targets little-endian machines
}

template <typename T>
T Get(const char* src, std::size_t offset) {
  T value;
  std::memcpy(&value, src + offset, sizeof(T));
  return value;
}

}  // namespace

std::size_t EncodeRecord(char* dst, uint64_t seq, int64_t time_ns, std::string_view subject,
                         std::string_view header, std::string_view payload) {
  const std::size_t unpadded =
      format::kRecordHeaderSize + subject.size() + header.size() + payload.size();
  const std::size_t size = format::AlignUp(unpadded);
  Put<uint32_t>(dst, 4, static_cast<uint32_t>(payload.size()));
  Put<uint64_t>(dst, 8, seq);
  Put<int64_t>(dst, 16, time_ns);
  Put<uint16_t>(dst, 24, static_cast<uint16_t>(subject.size()));
  Put<uint8_t>(dst, 26, format::kTypeMessage);
  Put<uint8_t>(dst, 27, 0);
  Put<uint32_t>(dst, 28, static_cast<uint32_t>(header.size()));
  char* body = dst + format::kRecordHeaderSize;
  if (!subject.empty()) std::memcpy(body, subject.data(), subject.size());
  if (!header.empty()) std::memcpy(body + subject.size(), header.data(), header.size());
  if (!payload.empty()) {
    std::memcpy(body + subject.size() + header.size(), payload.data(), payload.size());
  }
  std::memset(dst + unpadded, 0, size - unpadded);
  Put<uint32_t>(dst, 0, Crc32c(dst + 4, unpadded - 4));
  return size;
}

DecodeResult DecodeRecord(const char* data, std::size_t offset, std::size_t limit, bool verify,
                          StoredMessage* out, std::size_t* size) {
  if (offset + format::kRecordHeaderSize > limit) {
    // Fewer bytes than a header: the end if they are all zero, else a torn header.
    for (std::size_t i = offset; i < limit; ++i) {
      if (data[i] != 0) return DecodeResult::kTruncated;
    }
    return DecodeResult::kEnd;
  }
  const char* rec = data + offset;
  const uint64_t seq = Get<uint64_t>(rec, 8);
  if (seq == 0) return DecodeResult::kEnd;
  const uint32_t payload_len = Get<uint32_t>(rec, 4);
  const uint16_t subject_len = Get<uint16_t>(rec, 24);
  const uint32_t header_len = Get<uint32_t>(rec, 28);
  if (Get<uint8_t>(rec, 26) != format::kTypeMessage || subject_len == 0) {
    return DecodeResult::kCorrupt;
  }
  const uint64_t unpadded =
      uint64_t{format::kRecordHeaderSize} + subject_len + header_len + payload_len;
  const uint64_t padded = format::AlignUp(unpadded);
  if (padded > limit - offset) return DecodeResult::kTruncated;
  if (verify && Crc32c(rec + 4, unpadded - 4) != Get<uint32_t>(rec, 0)) {
    return DecodeResult::kCorrupt;
  }
  const char* body = rec + format::kRecordHeaderSize;
  out->seq = seq;
  out->time_ns = Get<int64_t>(rec, 16);
  out->subject = std::string_view(body, subject_len);
  out->header = std::string_view(body + subject_len, header_len);
  out->payload = std::string_view(body + subject_len + header_len, payload_len);
  *size = padded;
  return DecodeResult::kOk;
}

uint64_t PeekSequence(const char* data, std::size_t offset, std::size_t limit) {
  if (offset + format::kRecordHeaderSize > limit) return 0;
  return Get<uint64_t>(data + offset, 8);
}

void EncodeSegmentHeader(char* dst, uint64_t first_seq, int64_t created_ns) {
  std::memset(dst, 0, format::kSegmentHeaderSize);
  std::memcpy(dst, format::kSegmentMagic, sizeof(format::kSegmentMagic));
  Put<uint32_t>(dst, 8, format::kVersion);
  Put<uint64_t>(dst, format::kHeaderFirstSeqOffset, first_seq);
  Put<int64_t>(dst, format::kHeaderCreatedOffset, created_ns);
  Put<uint32_t>(dst, format::kHeaderCrcOffset, Crc32c(dst + 16, format::kSegmentHeaderSize - 16));
}

bool SegmentHeaderValid(const char* data, std::size_t size, uint64_t first_seq) {
  return size >= format::kSegmentHeaderSize &&
         std::memcmp(data, format::kSegmentMagic, sizeof(format::kSegmentMagic)) == 0 &&
         Get<uint32_t>(data, 8) == format::kVersion &&
         Get<uint32_t>(data, format::kHeaderCrcOffset) ==
             Crc32c(data + 16, format::kSegmentHeaderSize - 16) &&
         Get<uint64_t>(data, format::kHeaderFirstSeqOffset) == first_seq;
}

void EncodeTombstone(uint64_t seq, std::string* out) {
  char entry[format::kTombstoneSize];
  Put<uint64_t>(entry, 0, seq);
  Put<uint32_t>(entry, 8, Crc32c(entry, 8));
  out->append(entry, sizeof(entry));
}

std::size_t DecodeTombstones(std::string_view bytes, std::vector<uint64_t>* seqs) {
  std::size_t good = 0;
  for (; good + format::kTombstoneSize <= bytes.size(); good += format::kTombstoneSize) {
    const char* entry = bytes.data() + good;
    if (Get<uint32_t>(entry, 8) != Crc32c(entry, 8)) break;
    seqs->push_back(Get<uint64_t>(entry, 0));
  }
  return good;
}

}  // namespace tern::storage
