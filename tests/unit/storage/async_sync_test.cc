// Group commit through an event loop: PrepareAsyncSync hands out the file to fdatasync and
// what it covers; acknowledgements move only when FinishAsyncSync reports success; a
// failure is sticky; anything beyond appended records falls back to a synchronous Sync.
#include <gtest/gtest.h>
#include <unistd.h>

#include "storage/stream_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace tern::storage {
namespace {

std::unique_ptr<StreamLog> OpenLog(const std::string& dir) {
  auto log = StreamLog::Open(Env::Posix(), dir, LogOptions{}, StreamLimits{}, nullptr);
  EXPECT_TRUE(log.ok()) << log.status();
  return std::move(log).value();
}

TEST(AsyncSync, AcksMoveOnlyWhenTheSyncSucceeds) {
  testing::TempDir dir;
  auto log = OpenLog(dir.path() + "/s");
  StreamLog::AsyncSync job;
  EXPECT_FALSE(log->PrepareAsyncSync(&job));  // nothing to sync
  ASSERT_TRUE(log->Append("a", {}, "1").ok());
  ASSERT_TRUE(log->Append("a", {}, "2").ok());
  ASSERT_TRUE(log->PrepareAsyncSync(&job));
  EXPECT_GE(job.fd, 0);
  EXPECT_EQ(job.covers, 2u);
  EXPECT_EQ(log->acked_through(), 0u);
  EXPECT_FALSE(log->NeedsSync());               // the covered part is in flight
  ASSERT_TRUE(log->Append("a", {}, "3").ok());  // appends go on meanwhile
  EXPECT_TRUE(log->NeedsSync());
  ASSERT_EQ(fdatasync(job.fd), 0);
  log->FinishAsyncSync(job, 0);
  EXPECT_EQ(log->acked_through(), 2u);  // not 3: it was appended after the sync began
  ASSERT_TRUE(log->PrepareAsyncSync(&job));
  EXPECT_EQ(job.covers, 3u);
  log->FinishAsyncSync(job, 0);
  EXPECT_EQ(log->acked_through(), 3u);
}

TEST(AsyncSync, FailureIsSticky) {
  testing::TempDir dir;
  auto log = OpenLog(dir.path() + "/s");
  ASSERT_TRUE(log->Append("a", {}, "1").ok());
  StreamLog::AsyncSync job;
  ASSERT_TRUE(log->PrepareAsyncSync(&job));
  log->FinishAsyncSync(job, -EIO);
  EXPECT_EQ(log->acked_through(), 0u);
  EXPECT_FALSE(log->failure().ok());
  EXPECT_NE(log->failure().message().find("storage failed"), std::string_view::npos);
  EXPECT_FALSE(log->Append("a", {}, "2").ok());
  EXPECT_FALSE(log->PrepareAsyncSync(&job));
}

TEST(AsyncSync, TombstonesNeedTheSynchronousPath) {
  testing::TempDir dir;
  auto log = OpenLog(dir.path() + "/s");
  ASSERT_TRUE(log->Append("a", {}, "1").ok());
  ASSERT_TRUE(log->Append("a", {}, "2").ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Delete(1));
  StreamLog::AsyncSync job;
  EXPECT_FALSE(log->PrepareAsyncSync(&job));
  EXPECT_TRUE(log->NeedsSync());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_FALSE(log->NeedsSync());
}

TEST(AsyncSync, MemoryLogsNeverAskForOne) {
  auto env = NewMemoryEnv();
  LogOptions options;
  options.sync = SyncPolicy::kNone;
  auto log = StreamLog::Open(env.get(), "/m", options, StreamLimits{}, nullptr);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("a", {}, "1").ok());
  StreamLog::AsyncSync job;
  EXPECT_FALSE((*log)->PrepareAsyncSync(&job));
  EXPECT_EQ((*log)->acked_through(), 1u);
}

}  // namespace
}  // namespace tern::storage
