// tern-segdump, run as users run it: on a store written by StreamLog, clean and damaged.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "storage/format.h"
#include "storage/stream_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace tern::storage {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult RunSegdump(const std::string& args) {
  RunResult result;
  FILE* pipe = popen((std::string(TERN_SEGDUMP_PATH) + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) result.output += buffer;
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class SegdumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions options;
    options.segment_bytes = 8192;
    for (const char* name : {"ORDERS", "EVENTS"}) {
      auto log = StreamLog::Open(Env::Posix(), temp_ / ("streams/" + std::string(name)), options,
                                 {}, nullptr);
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE((*log)->Append(std::string(name) + ".new", "", std::string(100, 'x')).ok());
      }
      (*log)->Delete(5);
      ASSERT_TRUE((*log)->Close().ok());
    }
  }
  testing::TempDir temp_;
};

TEST_F(SegdumpTest, CleanStoreListsStreamsAndSegments) {
  const RunResult run = RunSegdump(temp_.path());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("streams/ORDERS"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("streams/EVENTS"), std::string::npos);
  // 8 KiB segments hold 56 records of 144 bytes: the first segment ends at 56, the second
  // starts at 57, and the last (active) one ends at 200.
  EXPECT_NE(run.output.find("seqs 1..56  records 56  live 55"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("00000000000000000057.seg  seqs 57..112"), std::string::npos);
  EXPECT_NE(run.output.find("..200  "), std::string::npos);
  EXPECT_NE(run.output.find("(active)"), std::string::npos);
  EXPECT_NE(run.output.find("clean: 0 problems"), std::string::npos);

  const RunResult records = RunSegdump("--records " + (temp_ / "streams/ORDERS"));
  EXPECT_EQ(records.exit_code, 0);
  EXPECT_NE(records.output.find("seq 200  "), std::string::npos) << records.output;
  EXPECT_NE(records.output.find("ORDERS.new  hdr 0  data 100  (deleted)"), std::string::npos);
}

TEST_F(SegdumpTest, DamageIsReportedWithNonZeroExit) {
  const std::string segment = SegmentPath(temp_ / "streams/ORDERS", 1, "seg");
  std::string bytes = testing::ReadFileBytes(segment);
  bytes[format::kSegmentHeaderSize + 40] ^= 0x04;  // inside the first record
  testing::WriteFileBytes(segment, bytes);
  const RunResult run = RunSegdump(temp_.path());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("unreadable bytes at offset 64"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("DAMAGED"), std::string::npos);
}

TEST_F(SegdumpTest, BadArgumentsExitTwo) {
  EXPECT_EQ(RunSegdump(temp_ / "missing").exit_code, 2);
  EXPECT_EQ(RunSegdump("--bogus x").exit_code, 2);
  EXPECT_EQ(RunSegdump("").exit_code, 2);
}

}  // namespace
}  // namespace tern::storage
