// The pieces that decide how Tern scales past this machine's two cores, measured on the
// real shard loop: N shards stepped from one thread on fake reactors (tests/support), each
// shard's turns timed apart, so what each shard pays per message or per SUB is read
// directly at 1 to 64 shards. These are the inputs of the cost model in
// docs/BENCHMARKS.md; the fake reactor's "send" is a memcpy into a string where the kernel
// would copy into a socket buffer, and no kernel time is in any of these figures.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/xbatch.h"
#include "io/spsc_ring.h"
#include "tests/support/shard_harness.h"

namespace {

using tern::testing::ShardHarness;

// The fake reactor keeps each peer's bytes in strings of hundreds of KiB that come and go
// every burst; with glibc's defaults each would be a fresh mmap whose page faults would
// swamp the shards' own cost. Keep such blocks in the heap.
const bool kHeapKeepsLargeBlocks = [] {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::size_t Count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// Steps every shard of a harness until all are idle and keeps, per shard, the time spent in
// its turns minus what its idle turns cost (measured once the connections are in place).
class TimedShards {
 public:
  explicit TimedShards(ShardHarness* harness)
      : harness_(harness),
        busy_ns_(harness->shard_count(), 0),
        idle_turn_ns_(harness->shard_count(), 0) {}

  void MeasureIdleTurns() {
    constexpr int kTurns = 2000;
    for (int i = 0; i < harness_->shard_count(); ++i) {
      const int64_t start = NowNs();
      for (int t = 0; t < kTurns; ++t) harness_->shard(i).Step();
      idle_turn_ns_[i] = static_cast<double>(NowNs() - start) / kTurns;
    }
  }

  // As ShardHarness::Settle: done after two rounds in which no shard had work.
  // `between_rounds`, untimed, plays the subscribers reading their sockets.
  template <typename Fn>
  void Settle(Fn&& between_rounds) {
    int idle_rounds = 0;
    while (idle_rounds < 2) {
      bool idle = true;
      for (int i = 0; i < harness_->shard_count(); ++i) {
        int64_t slept_for_ns = 0;
        const int64_t start = NowNs();
        harness_->shard(i).Step(&slept_for_ns);
        busy_ns_[i] += static_cast<double>(NowNs() - start) - idle_turn_ns_[i];
        const auto& reactor = harness_->shard_reactor(i);
        idle &= slept_for_ns != 0 && reactor.last_dispatched() == 0 && !reactor.Pending();
      }
      idle_rounds = idle ? idle_rounds + 1 : 0;
      ++rounds_;
      between_rounds();
    }
  }

  int64_t rounds() const { return rounds_; }
  double idle_turn_ns(int shard) const { return idle_turn_ns_[shard]; }
  double busy_ns(int shard) const { return busy_ns_[shard]; }
  double total_ns() const {
    double sum = 0;
    for (double ns : busy_ns_) sum += ns;
    return sum;
  }
  double others_mean_ns(int except) const {
    if (busy_ns_.size() < 2) return 0;
    return (total_ns() - busy_ns_[except]) / static_cast<double>(busy_ns_.size() - 1);
  }

 private:
  ShardHarness* harness_;
  std::vector<double> busy_ns_;
  std::vector<double> idle_turn_ns_;
  int64_t rounds_ = 0;
};

// Measures: one publisher on shard 0, `subs_per_shard` subscribers to its subject on every
// shard, 128 B messages in bursts of 2,000. Per message: the publisher's shard (parse,
// match, local deliveries, one copy into a batch per other shard) and each other shard
// (read the batch item, deliver to its subscribers). Args: shards, subscribers per shard.
void BM_FanOutAcrossShards(benchmark::State& state) {
  const int shards = static_cast<int>(state.range(0));
  const int subs_per_shard = static_cast<int>(state.range(1));
  constexpr int kBurst = 2000;
  ShardHarness harness(shards);
  std::vector<int> subscribers;
  for (int i = 0; i < shards * subs_per_shard; ++i) subscribers.push_back(harness.Connect());
  const int publisher = harness.Connect();  // dealt to shard 0 after the subscribers
  for (int sub : subscribers) harness.Send(sub, "SUB telemetry.> 1\r\nPING\r\n");
  harness.Settle();
  for (int sub : subscribers) harness.Read(sub);
  const std::string payload(128, 'x');
  std::string burst;
  for (int i = 0; i < kBurst; ++i) {
    burst += "PUB telemetry.device.temp 128\r\n" + payload + "\r\n";
  }
  TimedShards timed(&harness);
  timed.MeasureIdleTurns();
  int64_t messages = 0;
  for (auto _ : state) {
    const double before = timed.total_ns();
    harness.Send(publisher, burst);
    // Read as they arrive: hundreds of MiB of unread output would measure the heap.
    std::vector<std::size_t> got(subscribers.size(), 0);
    timed.Settle([&] {
      for (std::size_t i = 0; i < subscribers.size(); ++i) {
        got[i] += Count(harness.Read(subscribers[i]), "MSG ");
      }
    });
    state.SetIterationTime((timed.total_ns() - before) / 1e9);
    messages += kBurst;
    for (std::size_t n : got) {
      if (n != kBurst) {
        state.SkipWithError("a subscriber missed messages");
        return;
      }
    }
  }
  const auto per_message = [&](double ns) { return benchmark::Counter(ns / messages); };
  state.counters["pub_shard_ns"] = per_message(timed.busy_ns(harness.ShardOf(publisher)));
  state.counters["other_shard_ns"] = per_message(timed.others_mean_ns(harness.ShardOf(publisher)));
  state.counters["all_shards_ns"] = per_message(timed.total_ns());
  state.counters["rounds"] =
      benchmark::Counter(static_cast<double>(timed.rounds()), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(messages * shards * subs_per_shard);  // deliveries
}
BENCHMARK(BM_FanOutAcrossShards)
    ->ArgsProduct({{1, 2, 4, 8, 16, 32, 64}, {1}})
    ->ArgsProduct({{1, 4, 16, 64}, {16}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Measures: a client on shard 0 subscribes to 200 new subjects, PINGs (the PONG waits for
// every shard to apply them: the barrier), unsubscribes them and PINGs again. Per SUB and
// its UNSUB: the subscriber's shard and each other shard. Arg: shards.
void BM_InterestAcrossShards(benchmark::State& state) {
  const int shards = static_cast<int>(state.range(0));
  constexpr int kSubs = 200;
  ShardHarness harness(shards);
  const int client = harness.Connect();
  TimedShards timed(&harness);
  timed.MeasureIdleTurns();
  int64_t changes = 0;
  int64_t round = 0;
  for (auto _ : state) {
    std::string subs;
    std::string unsubs;
    for (int i = 0; i < kSubs; ++i) {
      subs += "SUB sensor." + std::to_string(round) + "." + std::to_string(i) + " " +
              std::to_string(i + 1) + "\r\n";
      unsubs += "UNSUB " + std::to_string(i + 1) + "\r\n";
    }
    ++round;
    const double before = timed.total_ns();
    harness.Send(client, subs + "PING\r\n");
    timed.Settle([] {});
    harness.Send(client, unsubs + "PING\r\n");
    timed.Settle([] {});
    state.SetIterationTime((timed.total_ns() - before) / 1e9);
    if (harness.Read(client) != "PONG\r\nPONG\r\n") {
      state.SkipWithError("the PINGs were not answered");
      return;
    }
    changes += kSubs;
  }
  state.counters["sub_shard_ns"] = benchmark::Counter(timed.busy_ns(0) / changes);
  state.counters["other_shard_ns"] = benchmark::Counter(timed.others_mean_ns(0) / changes);
  // What one turn with nothing to do costs a shard: it looks at every peer's ring.
  state.counters["idle_turn_ns"] = benchmark::Counter(timed.idle_turn_ns(0));
  state.SetItemsProcessed(changes);
}
BENCHMARK(BM_InterestAcrossShards)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->Arg(32)
    ->Arg(64)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Measures: 64 connections accepted at once (shard 0 owns the listener and deals them
// round-robin, each shard adopts its share and sends INFO), then the peers hang up. Per
// connection: shard 0 and each other shard (the kernel's accept is not in it). Arg: shards.
void BM_AcceptAcrossShards(benchmark::State& state) {
  const int shards = static_cast<int>(state.range(0));
  constexpr int kConnections = 64;
  ShardHarness harness(shards);
  TimedShards timed(&harness);
  timed.MeasureIdleTurns();
  int64_t accepted = 0;
  for (auto _ : state) {
    std::vector<int> fds;
    const double before = timed.total_ns();
    for (int i = 0; i < kConnections; ++i) {
      fds.push_back(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      harness.shard_reactor(0).Accept(fds.back());
    }
    timed.Settle([] {});
    for (int fd : fds) {
      if (harness.Read(fd).rfind("INFO ", 0) != 0) {
        state.SkipWithError("a connection was not greeted");
        return;
      }
      harness.Hangup(fd);
    }
    timed.Settle([] {});
    state.SetIterationTime((timed.total_ns() - before) / 1e9);
    accepted += kConnections;
  }
  state.counters["accept_shard_ns"] = benchmark::Counter(timed.busy_ns(0) / accepted);
  state.counters["other_shard_ns"] = benchmark::Counter(timed.others_mean_ns(0) / accepted);
  state.SetItemsProcessed(accepted);
}
BENCHMARK(BM_AcceptAcrossShards)
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Arg(64)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The cross-shard hand-off itself on two real threads: messages packed into 64 KiB
// batches, each batch passed over an SPSC ring, the receiver decoding every item and
// copying its payload out (as delivery encodes it into a client's output), the batch
// handed back on a second ring. Per message, whatever the batch carries. With `threads`
// 1, the same work on one thread: the difference is what crossing cores costs.
void HandOff(benchmark::State& state, bool two_threads) {
  using tern::core::XBatch;
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  tern::core::Message msg;
  msg.subject = "telemetry.device.temp";
  msg.data = payload;
  tern::io::SpscRing<XBatch*> to_receiver(64);
  tern::io::SpscRing<XBatch*> back(64);
  for (int i = 0; i < 32; ++i) back.TryPush(XBatch::Create(0, XBatch::kStandardCapacity));
  std::atomic<bool> done{false};
  std::atomic<int64_t> received{0};
  char scratch[16 * 1024 + 256];
  const auto consume = [&](XBatch* batch) {
    uint32_t offset = 0;
    tern::core::XItem item;
    int64_t n = 0;
    while (tern::core::ReadItem(batch, &offset, &item)) {
      std::memcpy(scratch, item.msg.data.data(), item.msg.data.size());
      benchmark::DoNotOptimize(scratch);
      ++n;
    }
    batch->used = 0;
    while (!back.TryPush(batch)) {
    }
    return n;
  };
  std::thread receiver;
  if (two_threads) {
    receiver = std::thread([&] {
      int64_t n = 0;
      XBatch* batch;
      while (!done.load(std::memory_order_acquire) || !to_receiver.Empty()) {
        if (to_receiver.TryPop(&batch)) n += consume(batch);
      }
      received.store(n, std::memory_order_release);
    });
  }
  const uint32_t size = tern::core::PublishItemSize(msg, nullptr, 0);
  XBatch* filling = nullptr;
  int64_t sent = 0;
  int64_t consumed_here = 0;
  const auto seal = [&] {
    if (two_threads) {
      while (!to_receiver.TryPush(filling)) {
      }
    } else {
      consumed_here += consume(filling);
    }
    filling = nullptr;
  };
  for (auto _ : state) {
    if (filling != nullptr && filling->space() < size) seal();
    while (filling == nullptr) back.TryPop(&filling);
    tern::core::WritePublish(filling, msg, true, nullptr, 0);
    ++sent;
  }
  if (filling != nullptr) seal();
  done.store(true, std::memory_order_release);
  if (two_threads) receiver.join();
  XBatch* batch;
  while (back.TryPop(&batch)) XBatch::Destroy(batch);
  const int64_t got = two_threads ? received.load() : consumed_here;
  if (got != sent) state.SkipWithError("the receiver lost messages");
  state.SetItemsProcessed(sent);
  state.SetBytesProcessed(sent * static_cast<int64_t>(payload.size()));
}
void BM_HandOffTwoThreads(benchmark::State& state) { HandOff(state, true); }
void BM_HandOffOneThread(benchmark::State& state) { HandOff(state, false); }
BENCHMARK(BM_HandOffTwoThreads)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->UseRealTime();
BENCHMARK(BM_HandOffOneThread)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384)->UseRealTime();

}  // namespace
