#pragma once
// ShardHarness: the shards of one server in one thread, each on a FakeReactor, under a
// clock the test moves by hand. A test plays the clients (raw protocol bytes), steps the
// shards turn by turn and reads what each client was sent. No sockets, threads or sleeps:
// a test is exact about order and time. Ownership: the test's thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/jetstream/registry.h"
#include "core/server_context.h"
#include "core/shard.h"
#include "tests/support/fake_reactor.h"

namespace tern::testing {

class ManualClock final : public core::Clock {
 public:
  int64_t MonotonicNs() const override { return now_ns_.load(std::memory_order_relaxed); }
  void Advance(int64_t ns) { now_ns_.fetch_add(ns, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_ns_{1'000'000'000};
};

class ShardHarness {
 public:
  // `flags` as tern-server's command line takes them (without the program name); `config`,
  // when given, is the text of a config file read before the flags.
  explicit ShardHarness(int shards, const std::vector<std::string>& flags = {},
                        std::string_view config = {});
  ~ShardHarness();

  // A client connects: accepted by shard 0 (on `listener`: 0 is the client port) and dealt
  // round-robin, as in a server. Returns its handle (valid until it is closed). Connect also
  // sends CONNECT and settles.
  int Open(uint32_t listener = 0);
  int Connect(std::string_view connect_json = R"({"verbose":false,"pedantic":false})");
  void Send(int client, std::string_view bytes);
  void Hangup(int client);
  // Everything the client was sent since the last Read.
  std::string Read(int client);
  int ShardOf(int client) const;
  bool Closed(int client) const;
  FakeReactor& reactor(int client) { return *reactors_[ShardOf(client)]; }

  // One turn of every shard, in index order.
  void Turn();
  // Turns until every shard would sleep with nothing queued. Fails the test if that does
  // not happen within `max_turns`.
  void Settle(int max_turns = 10'000);
  // Moves the clock on, one turn per `step_ns` (so timers fire in their own turns), then
  // settles.
  void Advance(int64_t ns, int64_t step_ns = 10'000'000);

  core::Shard& shard(int index) { return *shards_[index]; }
  FakeReactor& shard_reactor(int index) { return *reactors_[index]; }
  ManualClock& clock() { return clock_; }
  int shard_count() const { return context_.shard_count; }
  core::ServerContext& context() { return context_; }

 private:
  ManualClock clock_;
  core::ServerContext context_;
  std::vector<std::unique_ptr<core::Shard>> shards_;
  std::vector<FakeReactor*> reactors_;                           // owned by the shards
  std::vector<std::unique_ptr<core::js::Registry>> registries_;  // JetStream; outlive the shards
  std::string store_dir_;  // a temporary JetStream store, removed at the end
};

}  // namespace tern::testing
