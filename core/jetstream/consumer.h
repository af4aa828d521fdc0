#pragma once
// Consumer: one consumer of a stream, on the stream's home shard. It tracks what it has
// delivered and what is acknowledged, queues pull requests, pushes to a deliver subject
// while someone listens, redelivers after ack_wait / backoff, sends idle heartbeats, and
// saves its state to the store (durables) at most once per tick. Ownership: the stream.
#include <absl/container/btree_map.h>
#include <absl/container/btree_set.h>

#include <absl/container/flat_hash_set.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/jetstream/advisories.h"
#include "core/jetstream/api_error.h"
#include "core/jetstream/consumer_config.h"
#include "core/jetstream/rate_limit.h"
#include "storage/record.h"

namespace tern::core::js {

class Stream;

class Consumer {
 public:
  Consumer(Stream* stream, std::string name, ConsumerConfig config, int64_t created_ns);

  // Sets the starting point from the deliver policy (a new consumer).
  void Start();
  // Restores saved state (at server start); false if there was none.
  bool Restore();
  // Writes config (and for durables the state) to the store.
  bool SaveMeta(std::string* error);
  void SaveState();
  // The files SaveMeta and SaveState write (meta.json, state.json), as JSON: backups too.
  nlohmann::json MetaJson() const;
  nlohmann::json StateJson() const;

  const std::string& name() const { return name_; }
  const ConsumerConfig& config() const { return config_; }
  void set_config(const ConsumerConfig& config);
  nlohmann::json Info() const;

  // "$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>" with this payload.
  void OnAck(uint64_t stream_seq, std::string_view reply, std::string_view payload);
  void OnPullRequest(std::string_view reply, std::string_view body);
  void OnFlowControlReply() { fc_outstanding_ = false; }
  // The stream appended or removed messages.
  void Notify() { dirty_ = true; }

  void Turn(int64_t now_ns);
  bool Busy() const { return dirty_; }
  int64_t NextDeadline() const { return next_deadline_; }
  // An ephemeral consumer without interest (push) or requests (pull) for too long.
  bool Expired(int64_t now_ns) const;
  // Tells waiting pull requests the consumer is gone and removes saved state.
  void Shutdown(bool deleted);
  // Has this consumer finished with the stream sequence (acked, or never to deliver it)?
  bool DoneWith(uint64_t seq, std::string_view subject) const;

 private:
  struct Pending {
    uint64_t consumer_seq;  // of its latest delivery (each redelivery takes a new one)
    uint32_t deliveries;
    int64_t deadline;             // monotonic ns; redeliver after
    uint64_t first_consumer_seq;  // of its first delivery: where the ack floor stands
    int64_t delivered_at = 0;     // monotonic ns of the last delivery or +WPI (ack metrics)
  };
  // A pending message as its advisories and ack metrics describe it.
  DeliveryEvent EventFor(uint64_t stream_seq, const Pending& pending) const;
  struct PullRequest {
    std::string reply;
    int64_t batch = 1;
    int64_t max_bytes = 0;
    int64_t expires_at = 0;  // monotonic ns; 0 = never
    bool no_wait = false;
    int64_t heartbeat_ns = 0;
    int64_t next_heartbeat = 0;
    int64_t delivered = 0;
    int64_t bytes = 0;
    // The reply subject is one this consumer's own stream stores: see Deliver().
    bool into_own_stream = false;
  };

  enum class Source { kRedelivery, kLastPerSubject, kNew };
  struct Candidate {
    storage::StoredMessage msg;
    Source source;
    uint32_t deliveries;
  };
  // The next message to deliver, without taking it (so a request's max_bytes can refuse).
  bool Peek(Candidate* next);
  // Sends the message to `to`. With `copy`, from a copy: a delivery the stream itself
  // stores may evict (and unmap) the segment the message is read from while it is routed.
  void Deliver(const Candidate& next, std::string_view to, bool copy = false);
  bool StoredByOwnStream(std::string_view subject) const;
  // replay_policy original: is a message stored at stored_ns due now?
  bool ReplayDue(int64_t stored_ns);
  std::size_t DeliverySize(const Candidate& next) const;
  void DeliverPull(int64_t now);
  void DeliverPush(int64_t now);
  void ExpireRequests(int64_t now);
  void CheckRedeliveries(int64_t now);
  void SendStatus(std::string_view to, int status, std::string_view text, int64_t pending_msgs,
                  int64_t pending_bytes);
  void SendHeartbeat(std::string_view to);
  uint64_t NumPending() const;
  void Acked(uint64_t seq);
  int64_t AckWaitFor(uint32_t deliveries) const;
  std::string StateDir() const;
  void RestoreFrom(const nlohmann::json& state);  // throws on malformed state

  Stream* stream_;
  std::string name_;
  ConsumerConfig config_;
  int64_t created_ns_;

  uint64_t next_seq_ = 1;  // the next stream sequence to look at
  uint64_t delivered_stream_ = 0;
  uint64_t delivered_consumer_ = 0;
  std::vector<uint64_t> last_per_subject_;  // initial last_per_subject sequences
  std::size_t lps_at_ = 0;
  absl::btree_map<uint64_t, Pending> pending_;  // by stream sequence
  absl::btree_set<uint64_t> redeliver_;         // due for redelivery
  uint64_t redelivered_count_ = 0;
  // Stream sequences delivered more than once and not acked since (nats-server's
  // num_redelivered: one that ran out of deliveries stays counted).
  absl::flat_hash_set<uint64_t> redelivered_seqs_;
  int64_t earliest_deadline_ = 0;  // of pending_, 0 = none
  uint64_t pending_estimate_ = 0;  // NumPending() at the start of a delivery run
  std::deque<PullRequest> waiting_;

  bool dirty_ = true;
  bool state_dirty_ = false;
  int64_t next_deadline_ = 0;
  int64_t last_delivery_wall_ns_ = 0;  // ConsumerInfo delivered.last_active (0: none yet)
  int64_t last_ack_wall_ns_ = 0;       // ConsumerInfo ack_floor.last_active
  int64_t last_active_ = 0;            // monotonic: last request, interest or delivery
  int64_t last_delivery_ = 0;          // monotonic: for idle heartbeats
  int64_t last_saved_ = 0;
  bool fc_outstanding_ = false;
  uint64_t fc_bytes_ = 0;
  bool push_bound_ = false;
  int64_t replay_base_now_ = 0;     // original-pace replay: when it started (monotonic)
  int64_t replay_base_stored_ = 0;  // and the stored time of its first message
  int64_t replay_wait_until_ = 0;
  RateLimit rate_limit_;         // rate_limit_bps (push)
  int64_t rate_wait_until_ = 0;  // the next delivery waits for the bucket until then
  void SetRateLimit();
  std::string ack_reply_;      // reused per delivery
  std::string delivery_copy_;  // reused: deliveries into the consumer's own stream
};

}  // namespace tern::core::js
