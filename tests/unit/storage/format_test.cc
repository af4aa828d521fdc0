// CRC32C, record encoding and the index file encoding.
#include <gtest/gtest.h>

#include <string>

#include "storage/crc32c.h"
#include "storage/format.h"
#include "storage/record.h"
#include "storage/segment_index.h"

namespace tern::storage {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
  const std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(Crc32c, ExtendEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  for (std::size_t split : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(Crc32cExtend(Crc32c(data.data(), split), data.data() + split, data.size() - split),
              Crc32c(data.data(), data.size()));
  }
}

TEST(Record, RoundTripIsAlignedAndZeroPadded) {
  const std::size_t size = format::RecordSize(3, 12, 5);
  EXPECT_EQ(size % format::kRecordAlign, 0u);
  std::string buffer(size, '\x55');
  EXPECT_EQ(EncodeRecord(buffer.data(), 7, 123456789, "a.b", "NATS/1.0\r\n\r\n", "hello"), size);
  EXPECT_EQ(buffer.back(), '\0');
  StoredMessage m;
  std::size_t decoded_size = 0;
  ASSERT_EQ(DecodeRecord(buffer.data(), 0, size, true, &m, &decoded_size), DecodeResult::kOk);
  EXPECT_EQ(decoded_size, size);
  EXPECT_EQ(m.seq, 7u);
  EXPECT_EQ(m.time_ns, 123456789);
  EXPECT_EQ(m.subject, "a.b");
  EXPECT_EQ(m.header, "NATS/1.0\r\n\r\n");
  EXPECT_EQ(m.payload, "hello");
}

TEST(Record, EveryFlippedBitIsCaught) {
  const std::size_t unpadded = format::kRecordHeaderSize + 3 + 5;
  std::string clean(format::RecordSize(3, 0, 5), '\0');
  EncodeRecord(clean.data(), 1, 1, "a.b", "", "hello");
  for (std::size_t byte = 0; byte < unpadded; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = clean;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      StoredMessage m;
      std::size_t size;
      EXPECT_NE(DecodeRecord(damaged.data(), 0, damaged.size(), true, &m, &size), DecodeResult::kOk)
          << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(Record, TruncatedAndEnd) {
  std::string buffer(format::RecordSize(1, 0, 100), '\0');
  EncodeRecord(buffer.data(), 1, 1, "x", "", std::string(100, 'p'));
  StoredMessage m;
  std::size_t size;
  EXPECT_EQ(DecodeRecord(buffer.data(), 0, buffer.size() - 8, true, &m, &size),
            DecodeResult::kTruncated);
  EXPECT_EQ(DecodeRecord(buffer.data(), 0, 10, true, &m, &size), DecodeResult::kTruncated);
  const std::string zeros(64, '\0');
  EXPECT_EQ(DecodeRecord(zeros.data(), 0, zeros.size(), true, &m, &size), DecodeResult::kEnd);
}

TEST(SegmentIndexFile, RoundTripAndDamage) {
  SegmentSummary summary{4096, 10, 42, 99, {{33, 64}, {40, 4160}}};
  const std::string bytes = EncodeIndex(summary);
  SegmentSummary decoded;
  ASSERT_TRUE(DecodeIndex(bytes, &decoded));
  EXPECT_EQ(decoded.data_end, 4096u);
  EXPECT_EQ(decoded.last_seq, 42u);
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_EQ(decoded.entries[1].offset, 4160u);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeIndex(bytes.substr(0, cut), &decoded)) << cut;
  }
  std::string flipped = bytes;
  flipped[20] ^= 1;
  EXPECT_FALSE(DecodeIndex(flipped, &decoded));
}

}  // namespace
}  // namespace tern::storage
