#include "tests/support/shard_harness.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "core/client.h"
#include "core/jetstream_start.h"
#include "core/options.h"
#include "core/server.h"

namespace tern::testing {

ShardHarness::ShardHarness(int shards, const std::vector<std::string>& flags,
                           std::string_view config) {
  std::vector<const char*> argv = {"tern-server"};
  char config_path[] = "/tmp/tern-harness-XXXXXX";
  if (!config.empty()) {
    const int fd = mkstemp(config_path);
    EXPECT_EQ(write(fd, config.data(), config.size()), static_cast<ssize_t>(config.size()));
    close(fd);
    argv.push_back("-c");
    argv.push_back(config_path);
  }
  for (const std::string& flag : flags) argv.push_back(flag.c_str());
  core::ServerOptions options;
  std::string error;
  if (core::ParseCommandLine(static_cast<int>(argv.size()), argv.data(), &options, &error) !=
      core::ParseResult::kRun) {
    ADD_FAILURE() << "options: " << error;
  }
  if (!config.empty()) unlink(config_path);
  options.shards = shards;
  context_.clock = &clock_;
  context_.server_id = "NTESTSERVER";
  context_.server_name = "test";
  context_.shard_count = shards;
  context_.bound_port = 4222;
  context_.start_mono_ns = clock_.MonotonicNs();
  if (options.jetstream && options.store_dir.empty()) {
    char dir[] = "/tmp/tern-harness-js-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    store_dir_ = dir;
    options.store_dir = store_dir_;
  }
  context_.settings = core::MakeLiveSettings(options, context_);
  context_.account_connections.reset(
      new std::atomic<int64_t>[std::max<std::size_t>(1, options.auth.accounts.size())]());
  context_.mesh = std::make_unique<core::ShardMesh>(shards);
  for (int i = 0; i < shards; ++i) context_.stats.push_back(std::make_unique<core::ShardStats>());
  for (int i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<core::Shard>(i, &context_));
    context_.shards.push_back(shards_.back().get());
  }
  if (options.jetstream) {
    if (!core::StartJetStream(options, context_.shards, &registries_, &error)) {
      ADD_FAILURE() << "jetstream: " << error;
    }
  }
  const core::ImportRouter::Key key{};
  for (auto& shard : shards_) {
    shard->StartAccountServices(key);
    shard->SetConnectionFactory(core::kClientListener, core::MakeClient);
    shard->Init([this](io::ReactorHandler* handler) {
      auto reactor = std::make_unique<FakeReactor>(handler);
      reactors_.push_back(reactor.get());
      return reactor;
    });
  }
  for (auto& shard : shards_) shard->BeginLoop();
}

ShardHarness::~ShardHarness() {
  // Batches still in the rings belong to nobody once the shards are gone.
  shards_.clear();
  registries_.clear();
  if (!store_dir_.empty()) std::filesystem::remove_all(store_dir_);
  for (int from = 0; from < context_.shard_count; ++from) {
    for (int to = 0; to < context_.shard_count; ++to) {
      core::XBatch* batch;
      while (context_.mesh->ring(from, to).TryPop(&batch)) core::XBatch::Destroy(batch);
    }
  }
}

int ShardHarness::Open(uint32_t listener) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  reactors_[0]->Accept(fd, listener);
  Settle();
  return fd;
}

int ShardHarness::Connect(std::string_view connect_json) {
  const int client = Open();
  EXPECT_GE(ShardOf(client), 0) << "the accepted client was adopted by no shard";
  Send(client, "CONNECT " + std::string(connect_json) + "\r\nPING\r\n");
  Settle();
  const std::string greeting = Read(client);
  EXPECT_NE(greeting.find("INFO "), std::string::npos) << greeting;
  EXPECT_NE(greeting.find("PONG\r\n"), std::string::npos) << greeting;
  return client;
}

void ShardHarness::Send(int client, std::string_view bytes) {
  reactor(client).Receive(client, bytes);
}

void ShardHarness::Hangup(int client) { reactor(client).Hangup(client); }

std::string ShardHarness::Read(int client) {
  const int shard = ShardOf(client);
  return shard < 0 ? std::string() : reactors_[shard]->TakeOutput(client);
}

int ShardHarness::ShardOf(int client) const {
  for (std::size_t i = 0; i < reactors_.size(); ++i) {
    if (reactors_[i]->Has(client) || reactors_[i]->closed(client)) return static_cast<int>(i);
  }
  return -1;
}

bool ShardHarness::Closed(int client) const {
  const int shard = ShardOf(client);
  return shard >= 0 && reactors_[shard]->closed(client);
}

void ShardHarness::Turn() {
  for (auto& shard : shards_) shard->Step();
}

void ShardHarness::Settle(int max_turns) {
  // Idle = two rounds in a row in which every shard would sleep and its reactor made no
  // callback: a batch a peer pushed after a shard's step shows up in the second round.
  int idle_rounds = 0;
  for (int turn = 0; turn < max_turns; ++turn) {
    bool idle = true;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      int64_t slept_for_ns = 0;
      shards_[i]->Step(&slept_for_ns);
      idle &= slept_for_ns != 0 && reactors_[i]->last_dispatched() == 0 && !reactors_[i]->Pending();
    }
    idle_rounds = idle ? idle_rounds + 1 : 0;
    if (idle_rounds == 2) return;
  }
  ADD_FAILURE() << "the shards did not settle within " << max_turns << " turns";
}

void ShardHarness::Advance(int64_t ns, int64_t step_ns) {
  while (ns > 0) {
    const int64_t step = std::min(ns, step_ns);
    clock_.Advance(step);
    ns -= step;
    Settle();
  }
}

}  // namespace tern::testing
