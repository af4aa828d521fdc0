// Kills a child process that appends in a loop with SIGKILL at random points and checks
// that every append it had reported durable (after Sync) is there after reopening.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "storage/stream_log.h"
#include "tests/unit/storage/storage_test_util.h"

namespace tern::storage {
namespace {

std::string PayloadFor(uint64_t seq) {
  return "crash-" + std::to_string(seq) + std::string(seq % 300, 'c');
}

// The child: appends batches, syncs, and reports the acknowledged sequence on `out`.
[[noreturn]] void AppendUntilKilled(const std::string& dir, int out) {
  LogOptions options;
  options.segment_bytes = 256 * 1024;  // many rolls
  auto log = StreamLog::Open(Env::Posix(), dir, options, {}, nullptr);
  if (!log.ok()) _exit(2);
  for (uint64_t batch = 1;; ++batch) {
    for (uint64_t i = 0; i < batch % 50 + 1; ++i) {
      const uint64_t next = (*log)->State().last_seq + 1;
      if (!(*log)->Append("crash." + std::to_string(next % 10), "", PayloadFor(next)).ok()) {
        _exit(3);
      }
    }
    if (batch % 7 == 0) (*log)->Delete((*log)->State().first_seq);  // tombstones too
    if (!(*log)->Sync().ok()) _exit(4);
    const uint64_t acked = (*log)->acked_through();
    if (write(out, &acked, sizeof(acked)) != sizeof(acked)) _exit(5);
  }
}

TEST(CrashTest, EveryDurableAppendSurvivesSigkill) {
  testing::TempDir temp;
  const std::string dir = temp.path() + "/crash";
  std::mt19937 random(42);
  uint64_t acked_overall = 0;
  for (int round = 0; round < 5; ++round) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      AppendUntilKilled(dir, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    // Let it run for a random number of acknowledgements, then kill it mid-flight.
    const int reports = 50 + static_cast<int>(random() % 400);
    uint64_t acked = 0;
    for (int i = 0; i < reports; ++i) {
      if (read(pipe_fds[0], &acked, sizeof(acked)) != sizeof(acked)) break;
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(pipe_fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);
    ASSERT_GT(acked, acked_overall);
    acked_overall = acked;

    RecoveryReport report;
    auto log = StreamLog::Open(Env::Posix(), dir, {}, {}, &report);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_GE((*log)->State().last_seq, acked);
    // Only the oldest message is ever deleted, so every acknowledged message from the
    // first one on must be there, intact.
    const uint64_t first = (*log)->State().first_seq;
    ASSERT_LE(first, acked);
    for (uint64_t seq = first; seq <= acked; ++seq) {
      StoredMessage m;
      ASSERT_TRUE((*log)->Read(seq, &m)) << "round " << round << " lost seq " << seq;
      ASSERT_EQ(m.payload, PayloadFor(seq)) << "round " << round << " seq " << seq;
    }
  }
}

}  // namespace
}  // namespace tern::storage
