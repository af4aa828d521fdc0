// Retention: max messages, bytes, age and per-subject limits, discard old and new, and
// limits applied again when they change or the log reopens.
#include <gtest/gtest.h>

#include <string>

#include "storage/format.h"
#include "storage/stream_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace tern::storage {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

class RetentionTest : public ::testing::Test {
 protected:
  std::unique_ptr<StreamLog> Open(StreamLimits limits) {
    LogOptions options;
    options.segment_bytes = 4096;
    options.clock = [this] { return now_; };
    auto log = StreamLog::Open(Env::Posix(), temp_.path() + "/s", options, limits, nullptr);
    EXPECT_TRUE(log.ok()) << log.status();
    return std::move(*log);
  }

  testing::TempDir temp_;
  int64_t now_ = 1000 * kSecond;
};

TEST_F(RetentionTest, MaxMessagesDiscardsOldest) {
  auto log = Open({.max_msgs = 10});
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(log->Append("a", "", std::to_string(i)).ok());
  const LogState state = log->State();
  EXPECT_EQ(state.msgs, 10u);
  EXPECT_EQ(state.first_seq, 91u);
  EXPECT_LE(log->segment_count(), 2u);  // drained segments are removed
}

TEST_F(RetentionTest, MaxBytesDiscardsOldest) {
  const uint64_t record = format::RecordSize(1, 0, 100);
  auto log = Open({.max_bytes = static_cast<int64_t>(record * 5)});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append("a", "", std::string(100, 'x')).ok());
  EXPECT_EQ(log->State().msgs, 5u);
  EXPECT_EQ(log->State().bytes, record * 5);
}

TEST_F(RetentionTest, DiscardNewRefusesWithTheStoreErrors) {
  auto log = Open({.max_msgs = 3, .discard = Discard::kNew});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append("a", "", "x").ok());
  auto refused = log->Append("a", "", "x");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "maximum messages exceeded");
  EXPECT_EQ(StoreErrorOf(refused.status()), StoreError::kMsgsLimit);
  EXPECT_EQ(log->State().last_seq, 3u);  // a refusal takes no sequence

  log.reset();
  testing::TempDir other;
  auto by_bytes = StreamLog::Open(Env::Posix(), other.path() + "/b", {},
                                  {.max_bytes = 100, .discard = Discard::kNew}, nullptr);
  ASSERT_TRUE(by_bytes.ok());
  const absl::Status by_bytes_refused =
      (*by_bytes)->Append("a", "", std::string(200, 'x')).status();
  EXPECT_EQ(by_bytes_refused.message(), "maximum bytes exceeded");
  EXPECT_EQ(StoreErrorOf(by_bytes_refused), StoreError::kBytesLimit);
}

TEST_F(RetentionTest, PerSubjectLimitKeepsTheNewestOfEachSubject) {
  for (int64_t per_subject : {1, 3}) {
    testing::TempDir dir;
    auto log = StreamLog::Open(Env::Posix(), dir.path() + "/kv", {},
                               {.max_msgs_per_subject = per_subject}, nullptr);
    ASSERT_TRUE(log.ok());
    for (int round = 0; round < 10; ++round) {
      for (int key = 0; key < 50; ++key) {
        ASSERT_TRUE((*log)->Append("kv." + std::to_string(key), "", std::to_string(round)).ok());
      }
    }
    EXPECT_EQ((*log)->State().msgs, 50u * per_subject);
    const SubjectInfo* info = (*log)->Subject("kv.7");
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->count, static_cast<uint64_t>(per_subject));
    StoredMessage m;
    ASSERT_TRUE((*log)->ReadLastBySubject("kv.7", &m));
    EXPECT_EQ(m.payload, "9");
    ASSERT_TRUE((*log)->ReadNext(1, "kv.7", &m));
    EXPECT_EQ(m.payload, std::to_string(10 - per_subject));
  }
}

TEST_F(RetentionTest, DiscardNewPerSubject) {
  auto log =
      Open({.max_msgs_per_subject = 2, .discard = Discard::kNew, .discard_new_per_subject = true});
  ASSERT_TRUE(log->Append("k", "", "1").ok());
  ASSERT_TRUE(log->Append("k", "", "2").ok());
  const absl::Status refused = log->Append("k", "", "3").status();
  EXPECT_EQ(refused.message(), "maximum messages per subject exceeded");
  EXPECT_EQ(StoreErrorOf(refused), StoreError::kSubjectLimit);
  EXPECT_TRUE(log->Append("other", "", "1").ok());
}

TEST_F(RetentionTest, MaxAgeExpiresOnTheTimerWithoutAppends) {
  auto log = Open({.max_age_ns = 10 * kSecond});
  for (int i = 0; i < 200; ++i) {  // 200 messages over 20 s, several segments
    ASSERT_TRUE(log->Append("t", "", std::string(60, 'x')).ok());
    now_ += kSecond / 10;
  }
  EXPECT_EQ(log->State().msgs, 200u);
  // Messages as old as max_age or older go (nats-server's rule): 0 .. 100 at 20 s.
  int64_t next = log->ExpireOld();
  EXPECT_EQ(log->State().msgs, 99u);
  EXPECT_EQ(next, 1000 * kSecond + 101 * kSecond / 10 + 10 * kSecond);  // 101st + max_age
  now_ = next - 1;
  log->ExpireOld();
  EXPECT_EQ(log->State().msgs, 99u);
  now_ = next;
  log->ExpireOld();
  EXPECT_EQ(log->State().msgs, 98u);
  now_ += 100 * kSecond;
  EXPECT_EQ(log->ExpireOld(), 0);
  EXPECT_EQ(log->State().msgs, 0u);
  EXPECT_EQ(log->State().first_seq, 201u);
  EXPECT_EQ(log->segment_count(), 1u);
}

TEST_F(RetentionTest, LimitsAppliedOnChangeAndOnReopen) {
  auto log = Open({});
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(log->Append("s." + std::to_string(i % 5), "", "x").ok());
  log->SetLimits({.max_msgs_per_subject = 2});
  EXPECT_EQ(log->State().msgs, 10u);
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  // Evictions by limits are not logged: reopening with the limits repeats them...
  log = Open({.max_msgs_per_subject = 2});
  EXPECT_EQ(log->State().msgs, 10u);
  EXPECT_EQ(log->State().first_seq, 41u);
  log.reset();
  // ...and reopening under tighter limits applies those.
  log = Open({.max_msgs = 4});
  EXPECT_EQ(log->State().msgs, 4u);
  EXPECT_EQ(log->State().first_seq, 47u);
}

}  // namespace
}  // namespace tern::storage

namespace tern::storage {
namespace {

TEST(SyncPolicyTest, IntervalAcknowledgesAtOnceAndSyncsWhenDue) {
  testing::TempDir temp;
  int64_t now = 5 * kSecond;
  LogOptions options;
  options.sync = SyncPolicy::kInterval;
  options.sync_interval_ns = 10 * kSecond;
  options.clock = [&] { return now; };
  auto log = StreamLog::Open(Env::Posix(), temp.path() + "/i", options, {}, nullptr);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("a", "", "1").ok());
  EXPECT_EQ((*log)->acked_through(), 1u);  // no wait for the disk: that is the trade
  EXPECT_FALSE((*log)->NeedsSync());
  now += 10 * kSecond;
  EXPECT_TRUE((*log)->NeedsSync());
  ASSERT_TRUE((*log)->Sync().ok());
  EXPECT_FALSE((*log)->NeedsSync());
}

}  // namespace
}  // namespace tern::storage
