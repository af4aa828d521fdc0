#pragma once
// Shard: one thread, one reactor, the connections it adopted, and its Interest. It routes
// every message published by its connections: local subscribers get it directly, other
// shards get one copy per shard in an XBatch over the SPSC rings. Ownership: everything a
// Shard holds is touched only by its own thread; other threads may only call Wake().
//
// Loop order, once per turn (see Step()):
//   1. drain the inbound rings (messages, interest changes, barriers, sockets to adopt)
//   2. client timers that are due (pings, deadlines: each fires at its own time), the
//      shard's 100 ms tick, and run-state changes (lame duck, stop)
//   3. finish closing connections (drop their interest)
//   3b. each loop service's Turn (core/loop_service.h: JetStream, the system service)
//   4. push this turn's batches onto the rings; wake sleeping peers
//   5. start one gathered send per connection that has output
//   6. poll the reactor: submit everything, sleep if idle, dispatch completions
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/mutex.h"
#include "core/clock.h"
#include "core/connection.h"
#include "core/imports.h"
#include "core/interest.h"
#include "core/loop_service.h"
#include "core/mqtt_will_service.h"
#include "core/outbound.h"
#include "core/server_context.h"
#include "core/shard_port.h"
#include "core/shard_set.h"
#include "core/system_service.h"
#include "core/xbatch.h"
#include "io/reactor.h"

namespace tern::core {

// The shard is its connections' ShardPort: they call it through that interface only.
class Shard final : public io::ReactorHandler, public ShardPort {
 public:
  // Bytes of batches one shard may have in flight to another before its publishers stall.
  static constexpr uint64_t kCrossShardWindow = 4u << 20;

  Shard(int index, ServerContext* context);
  ~Shard() override;

  bool Init(io::Backend backend, std::string* note, std::string* error);
  // Tests: a reactor of the caller's making (a fake one that never sleeps).
  using ReactorFactory = std::function<std::unique_ptr<io::Reactor>(io::ReactorHandler*)>;
  void Init(const ReactorFactory& make_reactor);
  // Before the shards run, on every shard: how a socket accepted on `listener` becomes a
  // connection (its kind). A new kind of connection registers here; the shard creates it
  // through the factory and talks to it as a Connection.
  // Pinned: the shard that accepts keeps the connection (routes live on shard 0, which
  // sums the node's interest for them) instead of dealing it round-robin.
  void SetConnectionFactory(uint32_t listener, ConnectionFactory make, bool pinned = false);
  // On this shard's thread: a socket this node connected (a route it dialled) becomes a
  // connection of this shard, made by `make`.
  void AdoptConnected(int fd, const ConnectionFactory& make);
  // Shard 0 with a cluster or leafnodes: told every change of the node's interest (see
  // InterestExport). Before the shards start.
  void AddInterestExport(InterestExport* exporter) { interest_exports_.push_back(exporter); }
  // Shard 0 owns the listeners and deals accepted sockets round-robin to all shards.
  bool Listen(int listen_fd, uint32_t listener, std::string* error);
  // The loop, on the shard's own thread: BeginLoop, Step until it returns false, EndLoop.
  void Run();
  // The same a turn at a time, for tests that step several shards from one thread. Step
  // returns false once the shard has stopped; *slept_for_ns gets the timeout it gave the
  // reactor (0: work is waiting; else time to its next deadline).
  void BeginLoop();
  bool Step(int64_t* slept_for_ns = nullptr);
  void EndLoop();
  void Wake() { reactor_->Wake(); }

  int index() const override { return index_; }
  // Any thread: runs `task` on this shard's thread at the start of its next turn. For
  // monitoring and reloads, never for messages.
  void Post(std::function<void()> task);

  // --- Monitoring, on this shard's thread (from a posted task) ---
  const std::vector<Connection*>& clients() const { return clients_; }
  const std::deque<ConnInfo>& closed_connections() const { return closed_; }
  // One Interest per account, by AccountId.
  const std::vector<std::unique_ptr<Interest>>& interests() const { return interests_; }
  // A reload: new settings from the next message on. When the authorization changed, every
  // connection is checked again (see Connection::Reauthorize).
  void ApplySettings(std::shared_ptr<const LiveSettings> settings);
  const char* backend_name() const { return reactor_->name(); }
  const ServerOptions& options() const override { return settings_->options; }
  const std::string& info_prefix() const override { return settings_->info_prefix; }
  const std::string& cluster_info() const override {
    return seen_state_ == RunState::kLameDuck ? cluster_info_lame_duck_ : cluster_info_;
  }
  // On this shard's thread (a posted task): the cluster's name or client URLs changed;
  // clients that want to know get an INFO.
  void SetClusterInfo(std::string fragment, std::string lame_duck_fragment,
                      std::string cluster_name);
  // The cluster's name as this node knows it now (empty outside a cluster).
  const std::string& cluster_name() const { return cluster_name_; }
  ServerContext& context() override { return *context_; }
  ShardStats& stats() override { return *context_->stats[index_]; }
  ChunkPool& chunk_pool() override { return chunk_pool_; }
  int64_t now_ns() const override { return now_ns_; }

  // --- ShardPort: called by this shard's connections ---
  bool Publish(Connection* from, const Message& msg) override { return Route(msg, from); }
  // Routes a message to every subscriber in its account (and, through imports, to other
  // accounts) that may receive it (MayForward). `from` is the connection it came in on
  // when that is on this shard, null for messages the server itself publishes. Returns
  // true if anyone in the account received it.
  bool Route(const Message& msg, Connection* from);
  // A system account advisory about a client (when anyone there listens for it).
  void PublishClientEvent(const ConnInfo& info, bool connect) override;
  // A service request routed through an import reached no one: tell the requester.
  void NoRespondersFor(Connection* from, std::string_view reply);
  // Internal subscriptions (sink set, no client). `announce` false only before the shards
  // start, when the server tells every shard directly (see Server::Start).
  void AddInternal(Subscription* sub, bool announce = true);
  void RemoveInternal(Subscription* sub);
  // Before the shards start: another shard's internal subscription.
  void ApplyRemoteInterest(int shard, auth::AccountId account, std::string_view subject);
  // Does anyone in the account (on any shard, as far as this shard knows) subscribe to
  // the subject?
  bool HasInterest(auth::AccountId account, std::string_view subject) {
    return !interests_[account]->Match(subject).Empty();
  }
  // Before the shards start: the shard-local subscriptions of account imports and of the
  // system account's requests.
  void StartAccountServices(const ImportRouter::Key& key);
  // JetStream on this shard, one per account that has it. Created before the shard starts.
  // Takes a loop service (core/loop_service.h): its turn, busy flag, deadline and
  // completions join the loop. Before the shard runs, or on its thread.
  LoopService* AddService(std::unique_ptr<LoopService> service);
  // Visits the services (monitoring finds its kind by type). On this shard's thread.
  template <typename Fn>
  void ForEachService(Fn&& fn) const {
    for (const auto& service : services_) fn(*service);
  }
  void AddSubscription(Connection* conn, Subscription* sub) override;
  void RemoveSubscription(Connection* conn, Subscription* sub) override;
  // The barrier epoch that covers every interest change this shard has made so far: the
  // one about to be issued if interest changed this turn, else the last one issued.
  uint64_t CoveringEpoch() const override {
    if (context_->shard_count == 1) return 0;
    return interest_changed_ ? next_epoch_ : next_epoch_ - 1;
  }
  bool EpochAcked(uint64_t epoch) const override { return epoch <= acked_min_; }
  void HoldUntilAcked(Connection* conn) override { held_.push_back(conn); }
  void MarkDirty(Connection* conn) override;
  // The connection's timer fires at `at` (moved there if armed already).
  void ArmTimer(Connection* conn, int64_t at) override { timers_.Schedule(conn, at); }
  void Send(io::IoConn* io) override { reactor_->Send(io); }
  void ScheduleClose(Connection* conn) override;
  void AddCongested(Connection* conn) override { congested_.push_back(conn); }
  void AddStalled(Connection* conn) override;
  void ResumeReading(io::IoConn* io) override { reactor_->ResumeRecv(io); }
  // fdatasync through the reactor; service.OnCompletion(tag, result) follows. Tags below
  // 2^48.
  void SyncData(const LoopService& service, int fd, uint64_t tag);
  void CountSlowConsumer() override { ShardStats::Add(stats().slow_consumers, 1); }
  void CountStale() override { ShardStats::Add(stats().stale_connections, 1); }
  void CloseConnectionOn(int shard, uint64_t conn_id, CloseReason reason) override;
  void WatchMqttWill(std::string key, uint64_t token, int64_t due_ns) override {
    mqtt_wills_->Watch(std::move(key), token, due_ns);
  }

 private:
  // ReactorHandler
  void OnAccept(int fd, uint32_t listener) override;
  void OnData(io::IoConn* conn, const char* data, std::size_t len) override;
  void OnRecvEnd(io::IoConn* conn, int err) override;
  void OnSendDone(io::IoConn* conn, int result) override;
  void OnReleased(io::IoConn* conn) override;
  void OnSyncDone(uint64_t token, int result) override;
  void OnWoken() override { now_ns_ = context_->clock->MonotonicNs(); }
  void OnAcceptError(int err) override;
  void OnIoError(const char* what, int err) override;

  void AdoptSocket(int fd, uint32_t listener, uint64_t client_id);
  void AddConnection(int fd, const ConnectionFactory& make, uint64_t client_id);
  void DrainRings();
  // Processes items from *offset on; stops early (false) when subscribers congest.
  bool ProcessBatch(const XBatch* batch, int from, uint32_t* offset);
  void FinishInbound(XBatch* batch, int from);
  void DeliverForwarded(const XItem& item);
  // The shard of the pick-th remote member of the group (pick < group.remote_total).
  int PickRemoteMember(const std::vector<uint32_t>& members, uint32_t pick) const;
  // A routed message for a group with no member left on this node: nats-server passes it
  // to a member behind another route (a second hop) rather than drop it. Null if there is
  // none (or the message did not come from a route); never the route it came on.
  Subscription* SecondHopMember(const QueueMatch& group, const Message& msg) const;
  // Queue picks on this shard: the members' total weight that may take the message, and
  // the member at `pick` (< that weight).
  // `fallback` counts only the members behind leafnode links, else only the others.
  uint32_t EligibleWeight(const QueueMatch& group, const Message& msg, const Connection* from,
                          bool echo, bool fallback) const;
  Subscription* PickLocal(const QueueMatch& group, const Message& msg, const Connection* from,
                          bool echo, bool fallback, uint32_t pick) const;
  bool DeliverToMember(const Message& msg, const QueueMatch& group, Subscription* member);
  // Links matched by the message being routed (once each, with their queue picks), sent
  // after the match by DeliverToLinks.
  void AddLinkTarget(Connection* link, std::string_view queue);
  bool DeliverToLinks(const Message& msg);
  bool DeliverLocal(const Message& msg, Subscription* sub);
  void FinishAutoUnsubscribes();
  void AnnounceInterest(int delta, const Subscription& sub);
  // Tells the interest exporters (shard 0); `holder` is the subscription's connection.
  void ExportInterest(const Subscription& sub, int delta, const Connection* holder);
  void CountSubscriptions(int delta);
  XBatch* OutboxFor(int dest, uint32_t bytes);
  void PushOutboxes();
  void FlushClients();
  void ProcessCloses();
  void RunTimers();
  void RunClientTimers();
  void CheckRunState();
  void ReleaseHeldClients();
  bool InboundPending();
  void RecycleBatch(XBatch* batch);
  void RunPostedTasks();
  void RememberClosed(const Connection& conn);
  // Drops subscribers that stopped congesting; true while any still does.
  bool UpdateCongestion();
  void UpdateStalls();
  bool WindowFull(int dest) const { return in_flight_[dest] >= kCrossShardWindow; }

  int index_;
  ServerContext* context_;
  std::shared_ptr<const LiveSettings> settings_;
  base::Mutex posted_mutex_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(posted_mutex_);
  std::atomic<bool> has_posted_{false};
  std::deque<ConnInfo> closed_;  // the most recent closed connections, oldest first
  std::unique_ptr<io::Reactor> reactor_;
  std::vector<std::unique_ptr<Interest>> interests_;  // by AccountId
  std::size_t local_subscriptions_ = 0;
  std::unique_ptr<ImportRouter> imports_;  // null when no account imports anything
  bool draining_imports_ = false;
  uint64_t event_seq_ = 0;
  SystemService* system_service_ = nullptr;  // one of services_
  MqttWillService* mqtt_wills_ = nullptr;    // one of services_
  ChunkPool chunk_pool_;
  std::vector<Connection*> clients_;  // every connection, of every kind
  std::size_t links_ = 0;             // of which routes (not clients: not in the stats)
  std::vector<Connection*> dirty_;
  std::vector<Connection*> flushing_;
  std::vector<Connection*> closing_;
  std::vector<Connection*> held_;
  std::vector<Connection*> congested_;  // local subscribers past 3/4 of max_pending
  std::vector<std::pair<Connection*, int64_t>> stalled_;  // publishers not being read, since
  std::vector<Subscription*> auto_unsub_;                 // reached their max during this publish
  int64_t now_ns_ = 0;
  int64_t idle_ns_ = 0;  // time asleep in the reactor since Run() began
  int64_t loop_started_ns_ = 0;
  int64_t sleep_started_ns_ = 0;  // set while the reactor may sleep
  int64_t next_timer_ns_ = 0;     // the shard's own tick: lame duck, stop, busy time
  // Accepting paused after an accept error (fd limit): when to resume, and the next
  // back-off (doubling from 10 ms to 1 s, as nats-server; reset by a successful accept).
  int64_t accept_resume_ns_ = 0;
  int64_t accept_backoff_ns_ = 0;
  int64_t io_error_logged_ns_ = 0;  // I/O errors are logged at most once a second
  uint64_t io_errors_unlogged_ = 0;
  io::TimerHeap<Connection, &Connection::timer> timers_;  // each connection's next deadline
  uint64_t accepted_ = 0;
  bool listening_ = false;
  std::vector<ConnectionFactory> factories_;  // by listener id
  std::vector<bool> pinned_;                  // by listener id
  std::vector<InterestExport*> interest_exports_;
  std::string cluster_info_;            // ShardPort::cluster_info
  std::string cluster_info_lame_duck_;  // the same in lame duck mode: other nodes only
  std::string cluster_name_;
  struct LinkTarget {
    Connection* link = nullptr;
    std::vector<std::string_view> queues;
  };
  std::vector<LinkTarget> link_targets_;  // reused: [0, link_target_count_) are this message's
  std::size_t link_target_count_ = 0;
  RunState seen_state_ = RunState::kRunning;
  int64_t stop_deadline_ns_ = 0;
  int64_t lame_duck_close_at_ns_ = 0;

  // Cross-shard output: the batch being filled and sealed batches waiting for ring space.
  struct Outbox {
    XBatch* filling = nullptr;
    std::deque<XBatch*> sealed;
  };
  std::vector<Outbox> outboxes_;
  ShardSet outbox_dirty_;  // outboxes with a batch to push (being filled or sealed)
  // Standard-size batches between uses: up to 256 (16 MiB) for bursts, trimmed back to 8
  // about once a second when unused.
  IdleTrimmedPool<XBatch*, &XBatch::Destroy> batch_pool_{256, 8};
  int64_t next_pool_trim_ns_ = 0;
  std::vector<uint64_t> in_flight_;  // per destination: bytes pushed and not yet returned
  // Peers whose rings may still hold batches: announced ones this turn left (a cap on
  // batches per ring per turn, or congestion) are drained first next turn.
  static constexpr int kMaxBatchesPerRing = 256;
  ShardSet undrained_;
  bool sweep_rings_ = false;  // next drain looks at every peer's ring (set once per tick)
  // A batch whose processing stopped part-way because subscribers congested.
  XBatch* partial_ = nullptr;
  int partial_from_ = 0;
  uint32_t partial_offset_ = 0;
  std::vector<std::vector<std::string_view>> queue_picks_;  // per shard, reused per message

  // Interest barrier: next epoch to issue, and the lowest epoch every peer has acked.
  bool interest_changed_ = false;
  uint64_t next_epoch_ = 1;
  std::vector<uint64_t> acked_;
  uint64_t acked_min_ = 0;

  std::minstd_rand rng_;
  // Invariant checks (TERN_DCHECK): inside an internal sink's callback; Route nesting.
  bool in_sink_ = false;
  int route_depth_ = 0;
  // Loop services, in turn order; a completion token carries the index above bit 48.
  std::vector<std::unique_ptr<LoopService>> services_;
};

}  // namespace tern::core
