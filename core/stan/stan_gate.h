#pragma once
// StanGate: takes STAN publishes on the shard of the client that sent them and stores each
// in its channel's stream from there, so that a publish crosses the server once, as a
// JetStream publish does, and shard 0 is not every STAN message's path. It checks the
// PubMsg against the StanDirectory (a registered client, a channel whose stream is made),
// publishes it to the channel's subject with a reply that has the stream answer the client
// with STAN's PubAck (core/stan/pub_ack_reply.h), and answers what it refuses itself. A
// channel it does not know yet is asked of shard 0's StanService, which makes it; the
// channel's publishes wait here, in order, until it answers. Messages reach it while the
// shard routes (a shard-local subscription): they are copied into one buffer and handled in
// the shard's next turn, without an allocation each. Ownership: its shard's thread; one per
// shard.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/loop_service.h"
#include "core/stan/protocol.h"
#include "core/stan/stan_directory.h"
#include "core/subscription.h"

namespace tern::core {

class Shard;
class StanService;

class StanGate final : public InternalSink, public LoopService {
 public:
  StanGate(Shard* shard, std::shared_ptr<stan::StanDirectory> directory, std::string pub_prefix,
           Shard* service_shard, StanService* service);
  ~StanGate() override;
  // Before the shards start: the shard-local subscription to the publish subjects (shard
  // 0's is told to routes and leafnodes, so publishes from other nodes come in there).
  void Start();
  void Turn(int64_t now_ns) override;
  bool Busy() const override { return !arrived_.empty(); }
  int64_t NextDeadline() const override;
  Shard* shard() const { return shard_; }
  // On this shard's thread, from the service: the channel's stream is made (error empty),
  // or the channel is refused; the publishes that waited for it go on.
  void OnChannelResolved(const std::string& name, const std::string& error);
  // On this shard's thread, from the service (or a turn): once it serves, what was held goes
  // on.
  void Resume();

 private:
  struct Span {
    uint32_t reply_at, reply_len, data_at, data_len;
  };
  struct Held {
    std::string reply, data;
  };

  void OnInternalMessage(const Subscription& sub, const Message& msg) override;
  // The snapshot in force, read again when the directory's version moved.
  const stan::DirectorySnapshot& Directory();
  void Handle(std::string_view reply, std::string_view data, bool wait_for_interest = true);
  void Answer(std::string_view reply, std::string_view guid, std::string_view error);
  // Lookups in the directory, each remembering its last answer for the snapshot in force.
  bool KnownClient(const stan::DirectorySnapshot& directory, const stan::PubMsg& pub);
  stan::GateChannel* FindChannel(const stan::DirectorySnapshot& directory, std::string_view name);
  // Made channels whose publishes still wait for their stream's interest on this shard.
  void CheckConfirming();

  Shard* shard_;
  std::shared_ptr<stan::StanDirectory> directory_;
  std::string pub_prefix_;
  Shard* service_shard_;
  StanService* service_;
  std::unique_ptr<Subscription> sub_;
  int64_t now_ns_ = 0;
  uint64_t seen_version_ = UINT64_MAX;
  std::shared_ptr<const stan::DirectorySnapshot> snapshot_;
  // This turn's arrivals: their replies and PubMsgs one after another in bytes_.
  std::string bytes_;
  std::vector<Span> arrived_, batch_;  // batch_: the turn's, being handled
  std::string batch_bytes_;
  std::vector<Held> before_serving_;                             // until the service serves
  absl::flat_hash_map<std::string, std::vector<Held>> waiting_;  // by channel being made
  absl::flat_hash_map<std::string, int64_t> confirming_;         // made: deadline of the wait
  std::string store_reply_, ack_;                                // reused
  std::string known_client_, last_channel_name_;
  bool known_client_by_conn_ = false;
  uint64_t known_client_version_ = UINT64_MAX, last_channel_version_ = UINT64_MAX;
  stan::GateChannel* last_channel_ = nullptr;
  bool last_channel_confirmed_ = false;  // its stream's subscription is known on this shard
};

}  // namespace tern::core
