#pragma once
// On-disk format of a stream log: constants and layout. docs/STORAGE.md describes every
// byte; change both together and bump the version. All integers are little-endian.
//
// A stream is a directory of segments named by their first sequence, zero-padded to 20
// digits: <first>.seg (records), <first>.idx (sparse index, written when the segment is
// sealed), <first>.del (tombstones for records of that segment).
#include <cstddef>
#include <cstdint>

namespace tern::storage::format {

// --- Segment file: a 64-byte header, then records, each 8-byte aligned. ---
inline constexpr char kSegmentMagic[8] = {'T', 'E', 'R', 'N', 'S', 'E', 'G', '1'};
inline constexpr uint32_t kVersion = 1;
inline constexpr std::size_t kSegmentHeaderSize = 64;
// Segment header layout (offsets):
//   0  magic[8]
//   8  u32 version
//  12  u32 header crc32c (of bytes 16..63)
//  16  u64 first sequence (the segment holds sequences >= first; never reused)
//  24  i64 creation time, ns since the Unix epoch
//  32  zero padding to 64
inline constexpr std::size_t kHeaderCrcOffset = 12;
inline constexpr std::size_t kHeaderFirstSeqOffset = 16;
inline constexpr std::size_t kHeaderCreatedOffset = 24;

// --- Record: a 32-byte header, subject, header block, payload, zero pad to 8. ---
//   0  u32 crc32c of bytes 4 .. 32+subject+header+payload (padding excluded)
//   4  u32 payload length
//   8  u64 sequence (never 0: a zero sequence marks the end of written data)
//  16  i64 timestamp, ns since the Unix epoch (non-decreasing within a stream)
//  24  u16 subject length
//  26  u8  record type (kTypeMessage)
//  27  u8  reserved, 0
//  28  u32 header block length (0 when the message has no headers)
inline constexpr std::size_t kRecordHeaderSize = 32;
inline constexpr std::size_t kRecordAlign = 8;
inline constexpr uint8_t kTypeMessage = 1;
inline constexpr std::size_t kMaxSubjectLength = 0xffff;

constexpr std::size_t AlignUp(std::size_t n) {
  return (n + kRecordAlign - 1) & ~(kRecordAlign - 1);
}
constexpr std::size_t RecordSize(std::size_t subject, std::size_t header, std::size_t payload) {
  return AlignUp(kRecordHeaderSize + subject + header + payload);
}

// --- Index file (<first>.idx): written once, when a segment is sealed. ---
//   0  magic[8] "TERNIDX1"
//   8  u32 version
//  12  u32 entry count N
//  16  u64 segment data end (bytes; must equal the .seg file size)
//  24  u64 record count
//  32  u64 last sequence in the segment
//  40  i64 timestamp of the last record
//  48  N entries of { u64 sequence, u64 offset }: one per kIndexStride bytes of records
//  48+16N  u32 crc32c of everything before it
inline constexpr char kIndexMagic[8] = {'T', 'E', 'R', 'N', 'I', 'D', 'X', '1'};
inline constexpr std::size_t kIndexHeaderSize = 48;
inline constexpr std::size_t kIndexEntrySize = 16;
inline constexpr std::size_t kIndexStride = 4096;

// --- Tombstone file (<first>.del): appended, one 12-byte entry per deleted sequence. ---
//   0  u64 sequence
//   8  u32 crc32c of the 8 sequence bytes
// A torn or damaged entry is ignored (its delete was never acknowledged as durable).
inline constexpr std::size_t kTombstoneSize = 12;

}  // namespace tern::storage::format
