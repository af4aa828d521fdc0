// StreamLog behaviour, on the real file system and in memory: append, read, iterate,
// delete, purge, reopen.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/stream_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace tern::storage {
namespace {

using testing::TempDir;

class StreamLogTest : public ::testing::TestWithParam<bool> {
 protected:
  bool in_memory() const { return GetParam(); }
  Env* env() { return in_memory() ? memory_env_.get() : Env::Posix(); }
  std::string dir() const { return temp_.path() + "/stream"; }

  std::unique_ptr<StreamLog> Open(StreamLimits limits = {}, RecoveryReport* report = nullptr) {
    LogOptions options;
    options.segment_bytes = segment_bytes_;
    options.roll_after_deleted = roll_after_deleted_;
    options.sync = in_memory() ? SyncPolicy::kNone : SyncPolicy::kAlways;
    options.clock = [this] { return now_; };
    auto log = StreamLog::Open(env(), dir(), options, limits, report);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  uint64_t Put(StreamLog& log, std::string_view subject, std::string_view payload,
               std::string_view header = "") {
    now_ += 1000;
    auto seq = log.Append(subject, header, payload);
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.ok() ? *seq : 0;
  }

  std::string PayloadOf(const StreamLog& log, uint64_t seq) {
    StoredMessage m;
    return log.Read(seq, &m) ? std::string(m.payload) : "<missing>";
  }

  TempDir temp_;
  std::unique_ptr<Env> memory_env_ = NewMemoryEnv();
  uint64_t segment_bytes_ = 4096;
  uint64_t roll_after_deleted_ = LogOptions{}.roll_after_deleted;
  int64_t now_ = 1'700'000'000'000'000'000;
};

INSTANTIATE_TEST_SUITE_P(Storage, StreamLogTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Memory" : "File"; });

TEST_P(StreamLogTest, AppendsAndReadsAcrossSegments) {
  auto log = Open();
  for (int i = 1; i <= 300; ++i) {
    EXPECT_EQ(Put(*log, "orders." + std::to_string(i % 3), "payload-" + std::to_string(i),
                  i % 2 ? "NATS/1.0\r\nK: v\r\n\r\n" : ""),
              static_cast<uint64_t>(i));
  }
  EXPECT_GT(log->segment_count(), 3u);  // 4 KiB segments roll
  StoredMessage m;
  ASSERT_TRUE(log->Read(157, &m));
  EXPECT_EQ(m.subject, "orders.1");
  EXPECT_EQ(m.payload, "payload-157");
  EXPECT_EQ(m.header, "NATS/1.0\r\nK: v\r\n\r\n");
  EXPECT_FALSE(log->Read(0, &m));
  EXPECT_FALSE(log->Read(301, &m));
  const LogState state = log->State();
  EXPECT_EQ(state.msgs, 300u);
  EXPECT_EQ(state.first_seq, 1u);
  EXPECT_EQ(state.last_seq, 300u);
  EXPECT_EQ(state.num_subjects, 3u);
  EXPECT_LT(state.first_time, state.last_time);
}

TEST_P(StreamLogTest, MessageLargerThanASegmentGetsItsOwn) {
  auto log = Open();
  const std::string big(20000, 'b');
  Put(*log, "a", "small");
  Put(*log, "a", big);
  Put(*log, "a", "after");
  EXPECT_EQ(PayloadOf(*log, 2), big);
  EXPECT_EQ(PayloadOf(*log, 3), "after");
  log.reset();
  log = Open();
  EXPECT_EQ(PayloadOf(*log, 2), big);
  EXPECT_EQ(log->State().msgs, 3u);
}

// The first record of a new or purged log larger than a segment: the empty segment grows
// (a second one would have the same first sequence and share its files). Everything stays
// readable across restarts and while limits drop the oldest messages.
TEST_P(StreamLogTest, FirstMessageLargerThanASegment) {
  const std::string big(20000, 'b');
  {
    auto log = Open();
    EXPECT_EQ(Put(*log, "a", big), 1u);
    EXPECT_EQ(log->segment_count(), 1u);
    for (int i = 2; i <= 60; ++i) EXPECT_EQ(Put(*log, "a", std::to_string(i)), uint64_t(i));
    EXPECT_EQ(PayloadOf(*log, 1), big);
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->Close().ok());
  }
  RecoveryReport report;
  auto log = Open({}, &report);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(log->State().msgs, 60u);
  EXPECT_EQ(PayloadOf(*log, 1), big);
  EXPECT_EQ(PayloadOf(*log, 60), "60");

  ASSERT_TRUE(log->Purge({}).ok());
  EXPECT_EQ(Put(*log, "a", big), 61u);
  EXPECT_EQ(Put(*log, "a", "62"), 62u);
  ASSERT_TRUE(log->Delete(61));  // the grown segment goes; the one after keeps its files
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  log = Open({}, &report);
  EXPECT_EQ(log->State().first_seq, 62u);
  EXPECT_EQ(log->State().msgs, 1u);
  EXPECT_EQ(PayloadOf(*log, 62), "62");
  EXPECT_EQ(Put(*log, "a", "63"), 63u);
}

// A stream that keeps few messages (max_msgs) of many small ones: the deleted sequences
// tracked in memory stay bounded (the active segment is sealed once mostly deleted, then
// drains and goes), instead of growing with every message a large segment can hold.
TEST_P(StreamLogTest, DeletedSequencesTrackedStayBounded) {
  segment_bytes_ = 16 << 20;
  StreamLimits limits;
  limits.max_msgs = 100;
  roll_after_deleted_ = 1000;
  auto log = Open(limits);
  for (int i = 1; i <= 20000; ++i) Put(*log, "s." + std::to_string(i % 5), std::to_string(i));
  EXPECT_EQ(log->State().msgs, 100u);
  EXPECT_EQ(log->State().first_seq, 19901u);
  EXPECT_LE(log->tracked_deletes(), 2u * 1000 + 100);
  EXPECT_LE(log->segment_count(), 3u);
  EXPECT_EQ(PayloadOf(*log, 19901), "19901");
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  RecoveryReport report;
  log = Open(limits, &report);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(log->State().msgs, 100u);
  EXPECT_EQ(log->State().first_seq, 19901u);
  EXPECT_EQ(Put(*log, "s.x", "next"), 20001u);
}

// Stream info's deleted_details: the gaps between the first and the last sequence, across
// segments, including a deleted last message, and the same after a reopen.
TEST_P(StreamLogTest, DeletedSequencesListTheGaps) {
  segment_bytes_ = 4096;
  auto log = Open();
  for (int i = 1; i <= 200; ++i) Put(*log, "s", std::string(40, 'x'));
  ASSERT_GT(log->segment_count(), 1u);
  for (uint64_t seq : {1, 2, 50, 120, 121, 200}) ASSERT_TRUE(log->Delete(seq)) << seq;
  const std::vector<uint64_t> expected = {50, 120, 121, 200};  // 1 and 2 move the first
  EXPECT_EQ(log->DeletedSequences(), expected);
  EXPECT_EQ(log->State().num_deleted, expected.size());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  log = Open();
  EXPECT_EQ(log->DeletedSequences(), expected);
}

TEST_P(StreamLogTest, ReopenKeepsEverythingAndContinuesTheSequence) {
  auto log = Open();
  for (int i = 0; i < 200; ++i) Put(*log, "s." + std::to_string(i % 7), std::to_string(i));
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  RecoveryReport report;
  log = Open({}, &report);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(report.msgs, 200u);
  EXPECT_EQ(log->State().num_subjects, 7u);
  EXPECT_EQ(PayloadOf(*log, 200), "199");
  EXPECT_EQ(Put(*log, "s.x", "next"), 201u);
  EXPECT_EQ(log->Subject("s.3")->count, 29u);
}

TEST_P(StreamLogTest, IteratesByFilterAndTime) {
  auto log = Open();
  Put(*log, "a.1", "1");
  const int64_t second_time = now_ + 1000;
  Put(*log, "b.1", "2");
  Put(*log, "a.2.x", "3");
  Put(*log, "a.1", "4");
  StoredMessage m;
  ASSERT_TRUE(log->ReadNext(2, "a.*", &m));
  EXPECT_EQ(m.seq, 4u);
  ASSERT_TRUE(log->ReadNext(2, "a.>", &m));
  EXPECT_EQ(m.seq, 3u);
  ASSERT_TRUE(log->ReadNext(1, "b.1", &m));
  EXPECT_EQ(m.seq, 2u);
  EXPECT_FALSE(log->ReadNext(3, "b.1", &m));
  EXPECT_FALSE(log->ReadNext(1, "c", &m));
  ASSERT_TRUE(log->ReadNext(3, "", &m));
  EXPECT_EQ(m.seq, 3u);
  ASSERT_TRUE(log->ReadLastBySubject("a.1", &m));
  EXPECT_EQ(m.payload, "4");
  EXPECT_EQ(log->SeqAtTime(second_time), 2u);
  EXPECT_EQ(log->SeqAtTime(0), 1u);
  EXPECT_EQ(log->SeqAtTime(now_ + 1), 5u);
  EXPECT_EQ(log->NumPending(1, ">"), 4u);
  EXPECT_EQ(log->NumPending(2, "a.>"), 2u);
  EXPECT_EQ(log->NumPending(1, "a.*"), 2u);
  EXPECT_EQ(log->NumPending(1, "a.1"), 2u);
  EXPECT_EQ(log->NumPending(4, "a.1"), 1u);
}

TEST_P(StreamLogTest, DeletesSurviveRestartAndSequencesAreNotReused) {
  auto log = Open();
  for (int i = 1; i <= 100; ++i) Put(*log, "k." + std::to_string(i % 2), std::to_string(i));
  EXPECT_TRUE(log->Delete(1));
  EXPECT_TRUE(log->Delete(50));
  EXPECT_TRUE(log->Delete(100));
  EXPECT_FALSE(log->Delete(50));
  EXPECT_FALSE(log->Delete(1000));
  ASSERT_TRUE(log->Sync().ok());
  LogState state = log->State();
  EXPECT_EQ(state.msgs, 97u);
  EXPECT_EQ(state.first_seq, 2u);
  EXPECT_EQ(state.num_deleted, 2u);  // the gaps at 50 and 100 (100 stays the last sequence)
  log.reset();
  log = Open();
  state = log->State();
  EXPECT_EQ(state.msgs, 97u);
  EXPECT_EQ(state.first_seq, 2u);
  EXPECT_EQ(state.last_seq, 100u);
  EXPECT_EQ(PayloadOf(*log, 50), "<missing>");
  StoredMessage m;
  ASSERT_TRUE(log->ReadLastBySubject("k.0", &m));  // 100 was deleted: 98 is the last k.0
  EXPECT_EQ(m.seq, 98u);
  EXPECT_EQ(Put(*log, "k.0", "new"), 101u);
}

TEST_P(StreamLogTest, DeletedEndsOfASubjectAreFoundAgain) {
  auto log = Open();
  for (int i = 1; i <= 30; ++i) Put(*log, i % 3 == 0 ? "t" : "u", std::to_string(i));
  // Remove the first and the last "t" (3 and 30) while the log is open: both ends of the
  // subject must be looked up again, not served from stale state.
  ASSERT_TRUE(log->Delete(3));
  ASSERT_TRUE(log->Delete(30));
  StoredMessage m;
  ASSERT_TRUE(log->ReadLastBySubject("t", &m));
  EXPECT_EQ(m.seq, 27u);
  ASSERT_TRUE(log->ReadNext(1, "t", &m));
  EXPECT_EQ(m.seq, 6u);
  const SubjectInfo* info = log->Subject("t");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->count, 8u);
  EXPECT_EQ(info->first, 6u);
  EXPECT_EQ(info->last, 27u);
  EXPECT_EQ(log->NumPending(1, "t"), 8u);
  EXPECT_EQ(log->NumPending(7, "t"), 7u);
  // Down to one message: it is both ends.
  for (uint64_t seq = 6; seq <= 24; seq += 3) ASSERT_TRUE(log->Delete(seq));
  ASSERT_TRUE(log->ReadLastBySubject("t", &m));
  EXPECT_EQ(m.seq, 27u);
  ASSERT_TRUE(log->ReadNext(1, "t", &m));
  EXPECT_EQ(m.seq, 27u);
  ASSERT_TRUE(log->Delete(27));
  EXPECT_EQ(log->Subject("t"), nullptr);
  EXPECT_FALSE(log->ReadLastBySubject("t", &m));
}

TEST_P(StreamLogTest, PurgeAllKeepsTheSequenceGoingAcrossRestarts) {
  auto log = Open();
  for (int i = 0; i < 120; ++i) Put(*log, "p", "x");
  auto purged = log->Purge({});
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 120u);
  EXPECT_EQ(log->State().msgs, 0u);
  EXPECT_EQ(log->State().first_seq, 121u);
  EXPECT_EQ(log->segment_count(), 1u);
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  log = Open();
  EXPECT_EQ(log->State().first_seq, 121u);
  EXPECT_EQ(log->State().last_seq, 120u);
  EXPECT_EQ(Put(*log, "p", "y"), 121u);
}

TEST_P(StreamLogTest, PurgeBySubjectBelowSequenceAndKeep) {
  auto log = Open();
  for (int i = 1; i <= 60; ++i) Put(*log, i % 3 == 0 ? "x" : "y." + std::to_string(i % 2), "m");
  auto purged = log->Purge({"x", 0, 5});  // 20 x messages, keep the newest 5
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 15u);
  EXPECT_EQ(log->Subject("x")->count, 5u);
  EXPECT_EQ(log->Subject("x")->first, 48u);
  purged = log->Purge({"y.*", 11, 0});  // y messages below 11
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 7u);  // 1 2 4 5 7 8 10
  EXPECT_EQ(log->State().first_seq, 11u);
  purged = log->Purge({"", 30, 0});
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(log->State().first_seq, 31u);
  purged = log->Purge({"", 0, 3});
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(log->State().msgs, 3u);
  EXPECT_EQ(log->State().first_seq, 58u);
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  log = Open();
  EXPECT_EQ(log->State().msgs, 3u);
  EXPECT_EQ(log->State().first_seq, 58u);
  // Purging below a sequence past the end moves the stream on to that sequence.
  ASSERT_TRUE(log->Purge({"", 1000, 0}).ok());
  EXPECT_EQ(Put(*log, "z", "m"), 1000u);
}

TEST_P(StreamLogTest, MostlyDeletedSegmentsAreCompacted) {
  if (in_memory()) GTEST_SKIP() << "file sizes are a file-system matter";
  segment_bytes_ = 64 * 1024;
  auto log = Open();
  for (int i = 1; i <= 2000; ++i) Put(*log, "c", std::string(100, 'a' + i % 26));
  const std::string first_segment = SegmentPath(dir(), 1, "seg");
  const auto before = std::filesystem::file_size(first_segment);
  for (uint64_t seq = 2; seq <= 470; ++seq) {
    if (seq % 10 != 0) log->Delete(seq);
  }
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_LT(std::filesystem::file_size(first_segment), before / 2);
  EXPECT_EQ(PayloadOf(*log, 1), std::string(100, 'b'));
  EXPECT_EQ(PayloadOf(*log, 10), std::string(100, 'a' + 10));
  EXPECT_EQ(PayloadOf(*log, 11), "<missing>");
  log.reset();
  RecoveryReport report;
  log = Open({}, &report);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front();
  EXPECT_EQ(PayloadOf(*log, 390), std::string(100, 'a' + 390 % 26));
  EXPECT_EQ(log->State().msgs, 2000u - 422u);
}

TEST_P(StreamLogTest, GroupCommitAcknowledgesOnlyAfterSync) {
  auto log = Open();
  Put(*log, "a", "1");
  Put(*log, "a", "2");
  if (in_memory()) {
    EXPECT_FALSE(log->NeedsSync());
    EXPECT_EQ(log->acked_through(), 2u);
    return;
  }
  EXPECT_TRUE(log->NeedsSync());
  EXPECT_EQ(log->acked_through(), 0u);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_FALSE(log->NeedsSync());
  EXPECT_EQ(log->acked_through(), 2u);
}

TEST_P(StreamLogTest, RejectsInvalidInput) {
  auto log = Open({.max_msg_size = 10});
  const absl::Status no_subject = log->Append("", "", "x").status();
  EXPECT_EQ(no_subject.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StoreErrorOf(no_subject), StoreError::kInvalidSubject);
  const absl::Status too_large = log->Append("a", "", std::string(11, 'x')).status();
  EXPECT_EQ(too_large.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StoreErrorOf(too_large), StoreError::kMessageTooLarge);
  EXPECT_EQ(StoreErrorOf(log->Append("a", "hdr:1\r\n", "1234").status()),
            StoreError::kMessageTooLarge);  // the header counts
  // The subject does not count, as in nats-server: 10 bytes fit under a long subject.
  EXPECT_TRUE(log->Append("a.rather.long.subject", "", std::string(10, 'x')).ok());
  // A status from elsewhere carries no store code.
  EXPECT_EQ(StoreErrorOf(absl::InternalError("x")), StoreError::kNone);
  EXPECT_EQ(StoreErrorOf(absl::OkStatus()), StoreError::kNone);
}

}  // namespace
}  // namespace tern::storage

namespace tern::storage {
namespace {

// The unfiltered pending count is arithmetic where it can be; it must agree with a walk
// from every starting point, with deletions, across segments, and after compaction.
TEST_P(StreamLogTest, PendingCountMatchesAWalkFromEverySequence) {
  auto log = Open();
  for (int i = 0; i < 400; ++i)
    Put(*log, "s." + std::to_string(i % 7), "payload-" + std::to_string(i));
  for (uint64_t seq = 3; seq <= 400; seq += 5) ASSERT_TRUE(log->Delete(seq));
  for (uint64_t seq = 100; seq < 140; ++seq) log->Delete(seq);  // compacts a segment or two
  auto walk = [&](uint64_t from) {
    uint64_t n = 0;
    StoredMessage m;
    for (uint64_t s = from; log->ReadNext(s, {}, &m); s = m.seq + 1) ++n;
    return n;
  };
  for (uint64_t from = 1; from <= 402; ++from) {
    ASSERT_EQ(log->NumPending(from, ">"), walk(from)) << "from " << from;
  }
}

// Appending nothing to a new memory file (no buffer yet) is a no-op, not a memcpy to null.
TEST(MemoryEnv, AppendingNothingToANewFile) {
  auto env = NewMemoryEnv();
  std::unique_ptr<File> file;
  ASSERT_TRUE(env->OpenFile("/d/f", true, &file).ok());
  ASSERT_TRUE(file->Append("").ok());
  EXPECT_EQ(file->Size(), 0u);
  ASSERT_TRUE(file->Append("abc").ok());
  ASSERT_TRUE(file->Append("").ok());
  std::string bytes;
  ASSERT_TRUE(file->ReadAll(&bytes).ok());
  EXPECT_EQ(bytes, "abc");
}

}  // namespace
}  // namespace tern::storage
