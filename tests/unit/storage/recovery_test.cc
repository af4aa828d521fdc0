// Recovery and fault injection: torn writes at every byte of the last record, flipped
// bits, damaged headers and index files, ENOSPC, failing syncs, torn tombstones.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "storage/format.h"
#include "storage/segment_index.h"
#include "storage/stream_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace tern::storage {
namespace {

using testing::FaultEnv;
using testing::ReadFileBytes;
using testing::TempDir;
using testing::WriteFileBytes;

// Every payload has the same size, so record offsets are easy to compute.
std::string PayloadFor(uint64_t i) {
  const std::string number = std::to_string(i);
  return "payload-" + std::string(8 - number.size(), '0') + number + std::string(150, 'p');
}

class RecoveryTest : public ::testing::Test {
 protected:
  std::string dir() const { return temp_.path() + "/s"; }

  std::unique_ptr<StreamLog> Open(RecoveryReport* report = nullptr, Env* env = Env::Posix(),
                                  bool verify_sealed = true) {
    LogOptions options;
    options.segment_bytes = segment_bytes_;
    options.verify_sealed_on_open = verify_sealed;
    auto log = StreamLog::Open(env, dir(), options, limits_, report);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  void Fill(int count) {
    auto log = Open();
    for (int i = 1; i <= count; ++i) ASSERT_TRUE(log->Append("r", "", PayloadFor(i)).ok());
    ASSERT_TRUE(log->Close().ok());
  }

  // Every message 1..count is readable with its payload.
  void ExpectMessages(StreamLog& log, uint64_t count, uint64_t except = 0) {
    for (uint64_t i = 1; i <= count; ++i) {
      StoredMessage m;
      if (i == except) {
        EXPECT_FALSE(log.Read(i, &m)) << i;
        continue;
      }
      ASSERT_TRUE(log.Read(i, &m)) << i;
      EXPECT_EQ(m.payload, PayloadFor(i));
    }
  }

  TempDir temp_;
  uint64_t segment_bytes_ = 64 * 1024;
  StreamLimits limits_;
};

TEST_F(RecoveryTest, TornLastRecordAtEveryByteIsCutAndTheRestKept) {
  Fill(20);
  const std::string path = SegmentPath(dir(), 1, "seg");
  const std::string clean = ReadFileBytes(path);
  const uint64_t record = format::RecordSize(1, 0, PayloadFor(20).size());
  const uint64_t end = format::kSegmentHeaderSize + 20 * record;
  const uint64_t start = end - record;
  const uint64_t unpadded = format::kRecordHeaderSize + 1 + PayloadFor(20).size();
  for (uint64_t cut = start; cut < start + unpadded; ++cut) {
    for (int variant = 0; variant < 3; ++variant) {
      std::string torn = clean;
      if (variant == 0) std::fill(torn.begin() + cut, torn.begin() + end, '\0');
      if (variant == 1) std::fill(torn.begin() + cut, torn.begin() + end, '\xab');
      if (variant == 2) torn.resize(cut);
      WriteFileBytes(path, torn);
      RecoveryReport report;
      auto log = Open(&report);
      ASSERT_NE(log, nullptr);
      ASSERT_EQ(log->State().msgs, 19u) << "cut " << cut << " variant " << variant;
      EXPECT_EQ(log->State().last_seq, 19u);
      const bool leftovers =
          variant == 1 ||
          torn.substr(start, cut - start).find_first_not_of('\0') != std::string::npos;
      EXPECT_EQ(!report.problems.empty(), leftovers) << "cut " << cut << " variant " << variant;
      if (cut == start + 1) ExpectMessages(*log, 19);
      // The torn record was never acknowledged: its sequence is taken again.
      auto seq = log->Append("r", "", PayloadFor(20));
      ASSERT_TRUE(seq.ok());
      EXPECT_EQ(*seq, 20u);
      ASSERT_TRUE(log->Close().ok());
    }
  }
  auto log = Open();
  ExpectMessages(*log, 20);
}

TEST_F(RecoveryTest, FlippedBitsLoseOnlyTheDamagedRecord) {
  Fill(1000);  // several sealed segments
  const std::string path = SegmentPath(dir(), 1, "seg");
  std::string bytes = ReadFileBytes(path);
  const uint64_t record = format::RecordSize(1, 0, PayloadFor(1).size());
  const uint64_t seventh = format::kSegmentHeaderSize + 6 * record;
  bytes[seventh + 60] ^= 0x10;              // payload of message 7
  bytes[seventh + 3 * record + 4] ^= 0x01;  // payload length of message 10
  WriteFileBytes(path, bytes);
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_EQ(log->State().msgs, 998u);
  EXPECT_EQ(report.problems.size(), 3u);  // two damaged ranges + the rebuilt index
  for (uint64_t i : {6, 8, 9, 11, 1000}) {
    StoredMessage m;
    ASSERT_TRUE(log->Read(i, &m)) << i;
    EXPECT_EQ(m.payload, PayloadFor(i));
  }
  StoredMessage m;
  EXPECT_FALSE(log->Read(7, &m));
  EXPECT_FALSE(log->Read(10, &m));
}

TEST_F(RecoveryTest, MissingOrTruncatedIndexIsRebuilt) {
  Fill(1000);
  const std::string index = SegmentPath(dir(), 1, "idx");
  ASSERT_TRUE(std::filesystem::exists(index));
  const std::string second_index = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir())) {
      if (entry.path().extension() == ".idx") names.push_back(entry.path().string());
    }
    std::sort(names.begin(), names.end());
    return names.at(1);
  }();
  std::filesystem::remove(index);
  const std::string bytes = ReadFileBytes(second_index);
  WriteFileBytes(second_index, bytes.substr(0, bytes.size() / 2));
  for (bool verify_sealed : {false, true}) {
    RecoveryReport report;
    auto log = Open(&report, Env::Posix(), verify_sealed);
    EXPECT_EQ(report.problems.size(), verify_sealed ? 0u : 2u);
    ExpectMessages(*log, 1000);
    SegmentSummary summary;
    ASSERT_TRUE(DecodeIndex(ReadFileBytes(index), &summary));
    ASSERT_TRUE(DecodeIndex(ReadFileBytes(second_index), &summary));
  }
}

TEST_F(RecoveryTest, DamagedSegmentHeaderIsRepaired) {
  Fill(1000);
  const std::string path = SegmentPath(dir(), 1, "seg");
  std::string bytes = ReadFileBytes(path);
  bytes[0] = 'X';
  WriteFileBytes(path, bytes);
  RecoveryReport report;
  auto log = Open(&report);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems[0].find("damaged header"), std::string::npos);
  ExpectMessages(*log, 1000);
}

TEST_F(RecoveryTest, DiskFullFailsTheAppendAndDamagesNothing) {
  FaultEnv env;
  auto log = Open(nullptr, &env);
  uint64_t stored = 0;
  env.space_left = 0;  // the current segment is preallocated; the next one cannot be
  while (true) {
    auto seq = log->Append("r", "", PayloadFor(stored + 1));
    if (!seq.ok()) {
      EXPECT_EQ(seq.status().code(), absl::StatusCode::kResourceExhausted);
      EXPECT_NE(seq.status().message().find("No space left on device"), std::string::npos);
      break;
    }
    stored = *seq;
  }
  ASSERT_GT(stored, 10u);
  ASSERT_TRUE(log->Sync().ok());  // what is stored is still durable
  EXPECT_EQ(log->State().last_seq, stored);
  ExpectMessages(*log, stored);
  env.space_left = INT64_MAX;  // space freed: appends continue where they stopped
  auto seq = log->Append("r", "", PayloadFor(stored + 1));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, stored + 1);
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  log = Open();
  ExpectMessages(*log, stored + 1);
}

TEST_F(RecoveryTest, PurgeOnAFullDiskFreesItAndTheStreamGoesOn) {
  segment_bytes_ = 1 << 20;  // larger than the room left below
  FaultEnv env;
  auto log = Open(nullptr, &env);
  env.space_left = 0;
  uint64_t stored = 0;
  while (true) {
    auto seq = log->Append("r", "", PayloadFor(stored + 1));
    if (!seq.ok()) break;
    stored = *seq;
  }
  ASSERT_GT(stored, 10u);
  // Room for a small segment only: the purge must not need a full-size one.
  env.space_left = 128 << 10;
  auto purged = log->Purge(PurgeRequest{});
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, stored);
  env.space_left = INT64_MAX;             // what the purge removed is free again
  for (uint64_t i = 1; i <= 3000; ++i) {  // well past the small segment: it rolls
    auto seq = log->Append("r", "", PayloadFor(stored + i));
    ASSERT_TRUE(seq.ok()) << seq.status();
    ASSERT_EQ(*seq, stored + i);
  }
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  log = Open();
  EXPECT_EQ(log->State().first_seq, stored + 1);
  EXPECT_EQ(log->State().last_seq, stored + 3000);
}

TEST_F(RecoveryTest, FailedSyncIsStickyAndKeepsWhatWasDurable) {
  FaultEnv env;
  auto log = Open(nullptr, &env);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(log->Append("r", "", PayloadFor(i)).ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Append("r", "", PayloadFor(6)).ok());
  env.fail_sync = true;
  EXPECT_FALSE(log->Sync().ok());
  EXPECT_EQ(log->acked_through(), 5u);  // message 6 is never acknowledged
  env.fail_sync = false;
  auto refused = log->Append("r", "", "x");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("storage failed"), std::string::npos);
  log.reset();
  log = Open();
  ExpectMessages(*log, 5);
}

TEST_F(RecoveryTest, TornTombstoneIsIgnored) {
  Fill(30);
  {
    auto log = Open();
    ASSERT_TRUE(log->Delete(3));
    ASSERT_TRUE(log->Delete(4));
    ASSERT_TRUE(log->Sync().ok());
  }
  const std::string del = SegmentPath(dir(), 1, "del");
  WriteFileBytes(del, ReadFileBytes(del) + std::string("\x05\x00\x00\x00\x00", 5));
  auto log = Open();
  EXPECT_EQ(log->State().msgs, 28u);
  StoredMessage m;
  EXPECT_FALSE(log->Read(3, &m));
  EXPECT_TRUE(log->Read(5, &m));
  ASSERT_TRUE(log->Delete(5));
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  log = Open();
  EXPECT_EQ(log->State().msgs, 27u);
}

TEST_F(RecoveryTest, LeftoverTemporaryFilesAreRemoved) {
  Fill(10);
  WriteFileBytes(SegmentPath(dir(), 1, "seg") + ".tmp", "half a compaction");
  RecoveryReport report;
  auto log = Open(&report);
  EXPECT_FALSE(std::filesystem::exists(SegmentPath(dir(), 1, "seg") + ".tmp"));
  EXPECT_EQ(report.problems.size(), 1u);
  ExpectMessages(*log, 10);
}

// Reads the log every way: Read, ReadNext, NumPending and State() must agree that exactly
// messages 1..count are there, each once, in order, with its own payload.
void ExpectConsistent(const StreamLog& log, uint64_t count) {
  const LogState state = log.State();
  EXPECT_EQ(state.msgs, count);
  EXPECT_EQ(state.first_seq, 1u);
  EXPECT_EQ(state.last_seq, count);
  for (uint64_t seq = 1; seq <= count; ++seq) {
    StoredMessage m;
    ASSERT_TRUE(log.Read(seq, &m)) << seq;
    EXPECT_EQ(m.payload, PayloadFor(seq)) << seq;
  }
  std::vector<uint64_t> walked;
  StoredMessage m;
  for (uint64_t from = 0; log.ReadNext(from, ">", &m); from = m.seq + 1) walked.push_back(m.seq);
  std::vector<uint64_t> expected(count);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(walked, expected);
  for (uint64_t from = 1; from <= count + 1; ++from) {
    EXPECT_EQ(log.NumPending(from, ">"), count + 1 - from) << from;
  }
}

// A segment file under a name inside another segment's range (a copy, a misplaced file)
// never makes the log serve a message twice, out of order, or not at all while an intact
// segment holds it.
TEST_F(RecoveryTest, OverlappingSegmentFilesAreResolved) {
  // Ten records per segment: files 1 (1..10), 11 (11..20) and 21 (21..25).
  segment_bytes_ = format::kSegmentHeaderSize + 10 * format::RecordSize(1, 0, PayloadFor(1).size());
  struct Case {
    uint64_t stray;    // the name the copy gets
    uint64_t copy_of;  // the segment copied
    bool stray_kept;   // it holds records of its own range (1.seg is cut), or lies past all
  };
  const Case cases[] = {{4, 21, false}, {4, 11, false}, {15, 21, false}, {12, 1, false},
                        {22, 1, false}, {5, 1, true},   {26, 1, true}};
  for (bool verify_sealed : {true, false}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(::testing::Message() << "copy of " << c.copy_of << " as " << c.stray
                                        << (verify_sealed ? ", verified" : ", trusted"));
      std::filesystem::remove_all(dir());
      Fill(25);
      ASSERT_TRUE(std::filesystem::exists(SegmentPath(dir(), 21, "seg")));
      std::filesystem::copy_file(SegmentPath(dir(), c.copy_of, "seg"),
                                 SegmentPath(dir(), c.stray, "seg"));
      RecoveryReport report;
      auto log = Open(&report, Env::Posix(), verify_sealed);
      ASSERT_NE(log, nullptr);
      EXPECT_FALSE(report.problems.empty());
      ExpectConsistent(*log, 25);
      EXPECT_EQ(std::filesystem::exists(SegmentPath(dir(), c.stray, "seg")), c.stray_kept);
      auto seq = log->Append("r", "", PayloadFor(26));
      ASSERT_TRUE(seq.ok());
      EXPECT_EQ(*seq, 26u);
      ASSERT_TRUE(log->Close().ok());
      log.reset();
      RecoveryReport again;
      log = Open(&again, Env::Posix(), verify_sealed);
      EXPECT_TRUE(again.problems.empty()) << again.problems.front();
      ExpectConsistent(*log, 26);
    }
  }
  // The limits hold on what recovery kept.
  std::filesystem::remove_all(dir());
  Fill(25);
  std::filesystem::copy_file(SegmentPath(dir(), 21, "seg"), SegmentPath(dir(), 4, "seg"));
  limits_.max_msgs = 5;
  auto log = Open();
  EXPECT_EQ(log->State().msgs, 5u);
  EXPECT_EQ(log->State().first_seq, 21u);
  EXPECT_EQ(log->NumPending(1, ">"), 5u);
  StoredMessage m;
  ASSERT_TRUE(log->ReadNext(1, ">", &m));
  EXPECT_EQ(m.seq, 21u);
  EXPECT_EQ(m.payload, PayloadFor(21));
}

// A tombstone whose message was lost with its segment's data names a sequence that was
// used: the log must not hand it out again, or the old tombstone deletes the new message.
TEST_F(RecoveryTest, TombstoneOfALostMessageNeverDeletesANewOne) {
  const uint64_t record = format::RecordSize(1, 0, PayloadFor(1).size());
  // How much of 1.seg survives: -1 the file is gone (its .del stays), else whole records.
  for (int survivors : {0, 3, -1}) {
    SCOPED_TRACE(::testing::Message() << survivors << " records survive");
    std::filesystem::remove_all(dir());
    Fill(5);
    {
      auto log = Open();
      for (uint64_t seq : {1, 4, 5}) ASSERT_TRUE(log->Delete(seq));
      ASSERT_TRUE(log->Close().ok());
    }
    const std::string path = SegmentPath(dir(), 1, "seg");
    if (survivors < 0) {
      std::filesystem::remove(path);
    } else {
      WriteFileBytes(path, ReadFileBytes(path).substr(
                               0, survivors == 0 ? 0
                                                 : format::kSegmentHeaderSize +
                                                       static_cast<uint64_t>(survivors) * record));
    }
    const uint64_t live = survivors == 3 ? 2 : 0;  // 2 and 3
    auto log = Open();
    EXPECT_EQ(log->State().msgs, live);
    EXPECT_EQ(log->State().last_seq, 5u);
    auto seq = log->Append("r", "", PayloadFor(6));
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, 6u);
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    RecoveryReport report;
    log = Open(&report);
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    EXPECT_EQ(log->State().msgs, live + 1);
    EXPECT_EQ(log->State().last_seq, 6u);
    StoredMessage m;
    ASSERT_TRUE(log->Read(6, &m));
    EXPECT_EQ(m.payload, PayloadFor(6));
    EXPECT_FALSE(log->Read(1, &m));
    for (uint64_t i = 2; i <= live + 1; ++i) {
      ASSERT_TRUE(log->Read(i, &m)) << i;
      EXPECT_EQ(m.payload, PayloadFor(i));
    }
  }
}

}  // namespace
}  // namespace tern::storage
