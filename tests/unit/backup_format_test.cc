// The backup envelope: s2 framing and ustar, read back from pieces of any size, and damage
// found (a flipped byte, a foreign chunk type) rather than restored.
#include "core/jetstream/backup_format.h"

#include <gtest/gtest.h>

#include <string>

namespace tern::core::js::backup {
namespace {

std::string Archive() {
  std::string tar;
  AppendTarFile("meta.json", R"({"config":{}})", 1700000000, &tar);
  std::string records;
  AppendRecord({7, 123456789, "orders.a", "NATS/1.0\r\nX: y\r\n\r\n", "payload"}, &records);
  AppendRecord({9, 123456790, "orders.b", "", std::string(100000, 'z')}, &records);
  AppendTarFile("msgs/000001.dat", records, 1700000000, &tar);
  AppendTarEnd(&tar);
  return tar;
}

TEST(BackupFormat, FramesAndArchiveReadBackFromAnyPieces) {
  const std::string tar = Archive();
  FrameWriter writer;
  std::string framed;
  writer.Append(tar.substr(0, 1000), &framed);
  writer.Append(tar.substr(1000), &framed);
  EXPECT_EQ(framed.substr(0, 10), std::string("\xff\x06\x00\x00S2sTwO", 10));
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, framed.size()}) {
    SCOPED_TRACE(piece);
    FrameReader frames;
    TarReader archive;
    std::string decoded;
    for (std::size_t at = 0; at < framed.size(); at += piece) {
      decoded.clear();
      ASSERT_TRUE(frames.Feed(std::string_view(framed).substr(at, piece), &decoded));
      archive.Feed(decoded);
    }
    EXPECT_TRUE(frames.AtBoundary());
    std::string name, data;
    ASSERT_TRUE(archive.Next(&name, &data));
    EXPECT_EQ(name, "meta.json");
    EXPECT_EQ(data, R"({"config":{}})");
    ASSERT_TRUE(archive.Next(&name, &data));
    EXPECT_EQ(name, "msgs/000001.dat");
    std::size_t at = 0;
    Record record;
    ASSERT_TRUE(ReadRecord(data, &at, &record));
    EXPECT_EQ(record.seq, 7u);
    EXPECT_EQ(record.time_ns, 123456789);
    EXPECT_EQ(record.subject, "orders.a");
    EXPECT_EQ(record.header, "NATS/1.0\r\nX: y\r\n\r\n");
    EXPECT_EQ(record.payload, "payload");
    ASSERT_TRUE(ReadRecord(data, &at, &record));
    EXPECT_EQ(record.seq, 9u);
    EXPECT_EQ(record.payload.size(), 100000u);
    EXPECT_FALSE(ReadRecord(data, &at, &record));
    EXPECT_FALSE(archive.Next(&name, &data));
    EXPECT_TRUE(archive.done());
    EXPECT_TRUE(archive.error().empty());
  }
}

TEST(BackupFormat, DamageIsFound) {
  const std::string tar = Archive();
  FrameWriter writer;
  std::string framed;
  writer.Append(tar, &framed);
  std::string flipped = framed;
  flipped[framed.size() / 2] ^= 1;
  FrameReader frames;
  std::string out;
  EXPECT_FALSE(frames.Feed(flipped, &out));
  EXPECT_NE(frames.error().find("crc"), std::string::npos) << frames.error();

  FrameReader no_identifier;
  EXPECT_FALSE(no_identifier.Feed(framed.substr(10), &out));

  std::string compressed = framed.substr(0, 10) + std::string(
                                                      "\x00\x05\x00\x00"
                                                      "abcde",
                                                      9);
  FrameReader foreign;
  EXPECT_FALSE(foreign.Feed(compressed, &out));

  std::string bad_header = tar;
  bad_header[130] ^= 1;  // inside the size field: the checksum no longer matches
  TarReader archive;
  archive.Feed(bad_header);
  std::string name, data;
  EXPECT_FALSE(archive.Next(&name, &data));
  EXPECT_FALSE(archive.error().empty());
}

}  // namespace
}  // namespace tern::core::js::backup
