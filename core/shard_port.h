#pragma once
// ShardPort: what a connection may ask of the shard that owns it: the clock, the live
// settings and stats, routing a message, adding and removing interest, the SUB/PING
// barrier, scheduling output, timers and closes, and back-pressure. Every connection kind
// (core/connection.h) talks to its shard through this and nothing else, so a new kind
// needs no change to Shard. Implemented by Shard; called only on the owning shard's thread.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/auth/accounts.h"
#include "core/conn_info.h"
#include "core/message.h"
#include "core/outbound.h"
#include "core/server_context.h"
#include "core/subscription.h"
#include "io/reactor.h"

namespace tern::core {

class Connection;
enum class CloseReason;  // core/connection.h

class ShardPort {
 public:
  // How long a congested subscriber may hold its publishers back per episode.
  static constexpr int64_t kStallBudgetNs = 250'000'000;

  virtual int64_t now_ns() const = 0;
  virtual const ServerOptions& options() const = 0;
  // INFO fields common to every connection, ending with ','.
  virtual const std::string& info_prefix() const = 0;
  // With a cluster, the client INFO fields it adds: `"cluster":"name",` and, once other
  // nodes are known, `"connect_urls":[...],`. Empty without a cluster.
  virtual const std::string& cluster_info() const = 0;
  virtual ServerContext& context() = 0;
  virtual ShardStats& stats() = 0;
  virtual ChunkPool& chunk_pool() = 0;
  virtual int index() const = 0;

  // Routes a message that came in on `from` (core/shard.h, Route).
  virtual bool Publish(Connection* from, const Message& msg) = 0;
  virtual void AddSubscription(Connection* conn, Subscription* sub) = 0;
  virtual void RemoveSubscription(Connection* conn, Subscription* sub) = 0;
  // A system account advisory about a connection (when anyone there listens for it).
  virtual void PublishClientEvent(const ConnInfo& info, bool connect) = 0;

  // The SUB/PING barrier: the epoch that covers this shard's interest changes so far,
  // whether every peer has applied it, and holding a connection until it has.
  virtual uint64_t CoveringEpoch() const = 0;
  virtual bool EpochAcked(uint64_t epoch) const = 0;
  virtual void HoldUntilAcked(Connection* conn) = 0;

  // Output, timers, closing.
  virtual void MarkDirty(Connection* conn) = 0;
  virtual void ArmTimer(Connection* conn, int64_t at) = 0;
  virtual void Send(io::IoConn* io) = 0;
  virtual void ScheduleClose(Connection* conn) = 0;
  // Closes connection `conn_id` of shard `shard` (this one or another: then at that shard's
  // next turn), if it is still open. For a session taken over by a new connection.
  virtual void CloseConnectionOn(int shard, uint64_t conn_id, CloseReason reason) = 0;
  // MQTT 5.0 Will Delay: will `token` of client `key`, held in the MqttRegistry, is due at
  // `due_ns`; this shard publishes it then unless it was cancelled (MqttWillService).
  virtual void WatchMqttWill(std::string key, uint64_t token, int64_t due_ns) = 0;

  // Back-pressure: a subscriber falling behind, a publisher not being read.
  virtual void AddCongested(Connection* conn) = 0;
  virtual void AddStalled(Connection* conn) = 0;
  virtual void ResumeReading(io::IoConn* io) = 0;
  virtual void CountSlowConsumer() = 0;
  virtual void CountStale() = 0;

 protected:
  ~ShardPort() = default;
};

}  // namespace tern::core
