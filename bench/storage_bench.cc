// Storage micro-benchmarks: StreamLog append per sync policy, reads, filtered scans, the
// per-subject limit with many subjects, and recovery time. Files go to $TERN_BENCH_DIR
// (default: a fresh directory under /tmp, removed at the end).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "storage/stream_log.h"

namespace tern::storage {
namespace {

namespace fs = std::filesystem;

// A scratch directory per benchmark run.
class BenchDir {
 public:
  BenchDir() {
    const char* root = std::getenv("TERN_BENCH_DIR");
    std::string pattern =
        (fs::path(root ? root : fs::temp_directory_path().c_str()) / "tern-storage-bench-XXXXXX")
            .string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~BenchDir() { fs::remove_all(path_); }
  std::string Stream(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<StreamLog> OpenLog(const std::string& dir, SyncPolicy sync,
                                   StreamLimits limits = {}, bool verify = true) {
  LogOptions options;
  options.sync = sync;
  options.verify_sealed_on_open = verify;
  Env* env = sync == SyncPolicy::kNone ? nullptr : Env::Posix();
  static std::unique_ptr<Env> memory;
  if (env == nullptr) {
    memory = NewMemoryEnv();  // memory storage: same log, no files
    env = memory.get();
  }
  auto log = StreamLog::Open(env, dir, options, limits, nullptr);
  if (!log.ok()) std::abort();
  return std::move(*log);
}

// Appends of one size. Group commit syncs every `batch` appends, as the shard does once
// per loop turn; interval never syncs inside the timed loop (its 2 min interval).
void BM_Append(benchmark::State& state) {
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const auto sync = static_cast<SyncPolicy>(state.range(1));
  const int64_t batch = state.range(2);
  BenchDir dir;
  auto log = OpenLog(dir.Stream("append"), sync, {.max_bytes = 256LL << 20});
  const std::string payload(size, 'p');
  int64_t in_batch = 0;
  for (auto _ : state) {
    if (!log->Append("bench.append", "", payload).ok()) state.SkipWithError("append failed");
    if (sync == SyncPolicy::kAlways && ++in_batch == batch) {
      if (!log->Sync().ok()) state.SkipWithError("sync failed");
      in_batch = 0;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}
BENCHMARK(BM_Append)
    ->UseRealTime()  // a sync is waiting, not CPU: rates must count wall time
    ->ArgNames({"size", "policy", "batch"})
    ->ArgsProduct({{16, 128, 1024, 16384}, {static_cast<int>(SyncPolicy::kAlways)}, {1, 64}})
    ->ArgsProduct({{16, 128, 1024, 16384},
                   {static_cast<int>(SyncPolicy::kInterval), static_cast<int>(SyncPolicy::kNone)},
                   {0}});

// A stream of `count` 128-byte messages over `subjects` subjects, built once per process.
StreamLog& Filled(uint64_t count, uint64_t subjects) {
  static BenchDir dir;
  static std::map<std::pair<uint64_t, uint64_t>, std::unique_ptr<StreamLog>> logs;
  auto& log = logs[{count, subjects}];
  if (!log) {
    log = OpenLog(dir.Stream(std::to_string(count) + "-" + std::to_string(subjects)),
                  SyncPolicy::kInterval);
    const std::string payload(128, 'r');
    for (uint64_t i = 0; i < count; ++i) {
      (void)log->Append("sub." + std::to_string(i % subjects) + ".x", "", payload);
    }
  }
  return *log;
}

// Sequential reads through the mapping, as a consumer replaying a stream does.
void BM_ReadSequential(benchmark::State& state) {
  StreamLog& log = Filled(1'000'000, 100);
  uint64_t seq = 1;
  StoredMessage m;
  for (auto _ : state) {
    if (!log.ReadNext(seq, "", &m)) m.seq = 0;
    benchmark::DoNotOptimize(m.payload.data());
    seq = m.seq + 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 128);
}
BENCHMARK(BM_ReadSequential);

// Random reads by sequence (sparse index + short forward walk).
void BM_ReadRandom(benchmark::State& state) {
  StreamLog& log = Filled(1'000'000, 100);
  std::mt19937_64 random(1);
  StoredMessage m;
  for (auto _ : state) {
    benchmark::DoNotOptimize(log.Read(random() % 1'000'000 + 1, &m));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadRandom);

// Next message on one subject among 100 k (literal filter: the subject index jumps).
void BM_FilteredNextLiteral100kSubjects(benchmark::State& state) {
  StreamLog& log = Filled(1'000'000, 100'000);
  std::mt19937_64 random(2);
  StoredMessage m;
  for (auto _ : state) {
    const std::string subject = "sub." + std::to_string(random() % 100'000) + ".x";
    benchmark::DoNotOptimize(log.ReadNext(1, subject, &m));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FilteredNextLiteral100kSubjects);

// A wildcard scan over 1 M messages / 100 k subjects matching 1 in 10 subjects.
void BM_FilteredScanWildcard100kSubjects(benchmark::State& state) {
  StreamLog& log = Filled(1'000'000, 100'000);
  for (auto _ : state) {
    uint64_t matched = 0;
    StoredMessage m;
    for (uint64_t seq = 1; log.ReadNext(seq, "sub.*7.>", &m); seq = m.seq + 1) ++matched;
    benchmark::DoNotOptimize(matched);
  }
  state.SetItemsProcessed(state.iterations() * 1'000'000);
}
BENCHMARK(BM_FilteredScanWildcard100kSubjects)->Unit(benchmark::kMillisecond);

// Pending count for a wildcard filter from the start (answered from the subject index).
void BM_NumPendingWildcard100kSubjects(benchmark::State& state) {
  StreamLog& log = Filled(1'000'000, 100'000);
  for (auto _ : state) benchmark::DoNotOptimize(log.NumPending(1, "sub.*7.>"));
}
BENCHMARK(BM_NumPendingWildcard100kSubjects)->Unit(benchmark::kMicrosecond);

// Appends under a per-subject limit spread over N subjects (nats-server issue 4043: its
// rate fell from 52 k to 2.4 k msg/s between 1 and 1024 subjects).
void BM_AppendPerSubjectLimit(benchmark::State& state) {
  const uint64_t subjects = static_cast<uint64_t>(state.range(0));
  const int64_t per_subject = state.range(1);
  BenchDir dir;
  auto log = OpenLog(dir.Stream("kv"), SyncPolicy::kInterval,
                     {.max_msgs = 1'000'000, .max_msgs_per_subject = per_subject});
  std::vector<std::string> names;
  for (uint64_t i = 0; i < subjects; ++i) names.push_back("kv.key." + std::to_string(i));
  const std::string payload(128, 'v');
  uint64_t i = 0;
  for (auto _ : state) {
    if (!log->Append(names[i++ % subjects], "", payload).ok()) state.SkipWithError("append");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendPerSubjectLimit)
    ->UseRealTime()
    ->ArgNames({"subjects", "per_subject"})
    ->ArgsProduct({{1, 1024, 100'000}, {1, 8}});

// Opening a 256 MiB stream: time per GiB, verifying checksums or trusting sealed indexes.
void BM_RecoveryPerGiB(benchmark::State& state) {
  const bool verify = state.range(0) != 0;
  static BenchDir dir;
  static bool built = false;
  const std::string stream = dir.Stream("recovery");
  constexpr uint64_t kBytes = 256ull << 20;
  if (!built) {
    auto log = OpenLog(stream, SyncPolicy::kInterval);
    const std::string payload(1000, 'g');
    for (uint64_t written = 0; written < kBytes; written += 1024) {
      (void)log->Append("recovery." + std::to_string(written % 1000), "", payload);
    }
    (void)log->Close();
    built = true;
  }
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto log = OpenLog(stream, SyncPolicy::kInterval, {}, verify);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    state.SetIterationTime(took.count() * double(1ull << 30) / double(kBytes));
  }
}
BENCHMARK(BM_RecoveryPerGiB)
    ->ArgNames({"verify"})
    ->Arg(1)
    ->Arg(0)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tern::storage
