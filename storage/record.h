#pragma once
// Encoding and decoding of the bytes on disk: records, the segment header, tombstones
// (layouts in format.h). Stateless.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::storage {

// A stored message as the log hands it out: views into the mapped segment, valid until
// the next call that changes the log (append, delete, purge, expiry, compaction).
struct StoredMessage {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  std::string_view subject;
  std::string_view header;
  std::string_view payload;
};

// Writes the record into dst, which must hold format::RecordSize(...) bytes (padding is
// zeroed). Returns the bytes written.
std::size_t EncodeRecord(char* dst, uint64_t seq, int64_t time_ns, std::string_view subject,
                         std::string_view header, std::string_view payload);

enum class DecodeResult {
  kOk,
  kEnd,        // zero sequence: the end of written data
  kTruncated,  // the record runs past the end of the data
  kCorrupt,    // bad length, type or checksum
};

// Decodes the record at data[offset, limit). `size` receives its aligned size on kOk. With
// verify=false the checksum is not computed (for data already verified on open).
DecodeResult DecodeRecord(const char* data, std::size_t offset, std::size_t limit, bool verify,
                          StoredMessage* out, std::size_t* size);

// Reads just the sequence at offset (0 if out of range); no validation.
uint64_t PeekSequence(const char* data, std::size_t offset, std::size_t limit);

// The 64-byte segment header (format.h).
void EncodeSegmentHeader(char* dst, uint64_t first_seq, int64_t created_ns);
// True if data[0, size) starts with a valid header naming first_seq.
bool SegmentHeaderValid(const char* data, std::size_t size, uint64_t first_seq);

// Tombstone entries (format.h): appends one entry to out.
void EncodeTombstone(uint64_t seq, std::string* out);
// Decodes entries until the first torn or damaged one; returns the bytes that were good.
std::size_t DecodeTombstones(std::string_view bytes, std::vector<uint64_t>* seqs);

}  // namespace tern::storage
