#pragma once
// Stream: one JetStream stream on its home shard. It owns the stream's StreamLog, its
// consumers and its internal subscriptions (its subjects, its ack and flow-control
// subjects). Publishes are checked (dedup, expectations, rollup) and appended while they
// are routed; their PubAcks wait for the turn's group commit. Ownership: the home shard.
#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jetstream/api_error.h"
#include "core/jetstream/registry.h"
#include "core/jetstream/republish.h"
#include "core/jetstream/snapshot.h"
#include "core/jetstream/source_link.h"
#include "core/jetstream/stream_config.h"
#include "core/subject_transform.h"
#include "core/subscription.h"
#include "storage/stream_log.h"

namespace tern::core::js {

class Consumer;
class JsShard;
struct ApiRequest;

class Stream final : public InternalSink {
 public:
  // Tags from kSourceTag on: link i's deliveries at kSourceTag + 2i, its replies one above.
  enum Tag { kSubjectTag = 1, kAckTag = 2, kFlowControlTag = 3, kSourceTag = 100 };

  // Opens (or with `create`, creates) the stream's directory and log.
  // `figures` is what the registry already lists for it (null: new ones).
  static std::unique_ptr<Stream> Open(JsShard* js, StreamConfig config, int64_t created_ns,
                                      bool create, ApiError* error,
                                      std::shared_ptr<StreamFigures> figures);
  ~Stream() override;

  const std::string& name() const { return config_.name; }
  const StreamConfig& config() const { return config_; }
  int64_t created_ns() const { return created_ns_; }
  storage::StreamLog& log() { return *log_; }
  JsShard* js() const { return js_; }
  const std::shared_ptr<StreamFigures>& figures() const { return figures_; }
  const std::string& dir() const { return dir_; }

  // Internal subscriptions for the subjects, acks and flow control.
  void Subscribe(bool announce, std::vector<std::string>* subjects);
  void Unsubscribe();
  ApiError Update(const StreamConfig& next);
  // Removes the stream: consumers told, subscriptions dropped, files deleted.
  void Destroy();
  nlohmann::json Info(const nlohmann::json& request) const;
  nlohmann::json State() const;

  // A stream-specific API request (stream name in the subject); `op` is what follows
  // "$JS.API.", `rest` the tokens after the stream name.
  void HandleApi(const ApiRequest& r, std::string_view op, std::string_view rest);

  void Turn(int64_t now_ns);
  // Consumer acks received while routing: applied before the turn's API requests, so that
  // a client that acks and then asks for ConsumerInfo sees its ack (as in nats-server).
  void ApplyIncomingAcks();
  // The fdatasync started by the last turn finished (0 or -errno).
  void OnSyncDone(int result);
  bool Busy() const;
  int64_t NextDeadline() const;
  // Loads consumers from the store (at start).
  void LoadConsumers();
  // A durable consumer declared in the config file: created, updated, or (if the change
  // is not allowed) reported. False with *error if the declaration itself is invalid.
  bool DeclareConsumer(const std::string& where, const nlohmann::json& config, std::string* error);
  // After an ack: interest and work-queue streams drop what every consumer has acked.
  void MaybeRemoveAcked(uint64_t seq);
  std::size_t consumer_count() const { return consumers_.size(); }
  // What the stream's state and listings show: not the hidden (direct) consumers.
  std::size_t visible_consumer_count() const;

  // Mirrors and sources (source_link.h). A mirrored message keeps the origin's sequence:
  // SkipTo leaves sequences up to `last` empty first. False if the store refused it.
  bool StoreMirrored(std::string_view subject, std::string_view header, std::string_view payload,
                     int64_t time_ns);
  void StoreSourced(std::string_view subject, std::string_view header, std::string_view payload);
  void SkipTo(uint64_t last);
  void PublishFigures();
  // `for_origin`: a mirror answering for the stream it mirrors (mirror_direct).
  void ApiDirectGet(const ApiRequest& r, std::string_view subject_tail, bool for_origin);
  // An ack of a snapshot chunk: $JS.SNAPSHOT.ACK.<stream>.<token>.<tail>.
  void OnSnapshotAck(std::string_view token, std::string_view tail);
  // JetStream figures for /jsz: {name, created, config?, state, consumer_detail?}.
  nlohmann::json MonitorDetail(bool with_config, bool with_consumers) const;

 private:
  void NoteStoreFailure();
  void MakeTransform();
  void UpdateHealth();
  Stream(JsShard* js, StreamConfig config, int64_t created_ns, std::string dir,
         std::shared_ptr<StreamFigures> figures);
  void OnInternalMessage(const Subscription& sub, const Message& msg) override;
  void Store(const Message& msg);
  // Makes the links for `mirror` and `sources` (none yet) and subscribes their subjects.
  void StartLinks(bool announce, std::vector<std::string>* subjects);
  // The origin sequence of the newest message taken from a source (Nats-Stream-Source).
  uint64_t LastSourced(const std::string& index_name) const;
  // Would storing `adding` more bytes pass the account's limit for this storage kind?
  bool AccountFull(std::size_t adding) const;
  ApiError CheckExpectations(std::string_view subject, std::string_view header,
                             std::string_view msg_id) const;
  void QueueAck(std::string_view reply, uint64_t seq, bool duplicate);
  void QueueError(std::string_view reply, const ApiError& error);
  void ReleaseAcks();
  void RememberMsgId(std::string_view id, uint64_t seq, int64_t time_ns);
  void ExpireMsgIds(int64_t wall_ns);
  void RebuildMsgIds();
  uint64_t LastSeqOfSubject(std::string_view subject) const;
  bool WriteMeta(ApiError* error);
  storage::StreamLimits Limits() const;

  // API (stream_api.cc, consumer_api.cc)
  void ApiInfo(const ApiRequest& r);
  void ApiPurge(const ApiRequest& r);
  void ApiMsgGet(const ApiRequest& r);
  void ApiMsgDelete(const ApiRequest& r);
  void ApiConsumerCreate(const ApiRequest& r, std::string_view name, std::string_view filter,
                         bool legacy_durable);
  void ApiConsumerInfo(const ApiRequest& r, std::string_view name);
  void ApiConsumerDelete(const ApiRequest& r, std::string_view name);
  void ApiConsumerNamesOrList(const ApiRequest& r, bool list);
  void ApiNext(const ApiRequest& r, std::string_view consumer);
  void ApiSnapshot(const ApiRequest& r);  // backup_api.cc
  void PumpSnapshot(int64_t now_ns);
  bool FindMessage(const nlohmann::json& body, storage::StoredMessage* msg, ApiError* error);
  void OnAck(std::string_view subject, std::string_view reply, std::string_view payload);
  void RemoveConsumer(const std::string& name, bool deleted);

  JsShard* js_;
  StreamConfig config_;
  int64_t created_ns_;
  std::string dir_;
  std::unique_ptr<storage::Env> memory_env_;
  std::unique_ptr<storage::StreamLog> log_;
  std::shared_ptr<StreamFigures> figures_;
  std::unique_ptr<Republisher> republisher_;   // with `republish`
  std::optional<SubjectTransform> transform_;  // with 2.10's `subject_transform`
  std::string transformed_subject_;
  std::vector<std::unique_ptr<SourceLink>> links_;  // the mirror, or the sources
  std::unique_ptr<StreamSnapshot> snapshot_;        // a STREAM.SNAPSHOT being sent
  std::vector<std::unique_ptr<Subscription>> subs_;
  std::map<std::string, std::unique_ptr<Consumer>, std::less<>> consumers_;  // sorted for listing
  bool has_new_ = false;  // appended since consumers last looked

  // Msg-Id de-duplication within duplicate_window.
  absl::flat_hash_map<std::string, uint64_t> msg_ids_;
  std::deque<std::pair<int64_t, std::string>> msg_id_order_;  // (wall time, id)
  std::string last_msg_id_;

  // PubAcks waiting for the group commit: reply (and error body) bytes in one arena.
  struct PendingAck {
    uint32_t reply_at, reply_len;
    uint32_t body_at, body_len;  // error body; 0 length for a success ack
    uint64_t seq;                // releasable once durable
    bool duplicate;
  };
  // Consumer acks received while routing, applied in the turn: consumer name, reply and
  // payload bytes back to back in an arena (no allocation per ack once warm). The
  // "applying" pair is swapped in while they are handled, so both keep their capacity.
  struct PendingIncomingAck {
    uint32_t at;
    uint32_t consumer_len, reply_len, payload_len;
    uint64_t seq;
  };
  std::vector<PendingIncomingAck> incoming_acks_, applying_acks_;
  std::string incoming_arena_, applying_arena_;
  std::string ack_arena_;
  std::vector<PendingAck> acks_;
  std::string ack_body_;
  int64_t next_expiry_check_ = 0;
  int64_t next_figures_ns_ = 0;
  // Group commit through the reactor: at most one fdatasync in flight.
  bool sync_in_flight_ = false;
  int64_t sync_started_ns_ = 0;  // monotonic, for the sync latency histogram
  // Health (/healthz): a failed sync is sticky; failing writes clear when one succeeds.
  // A stream with either is counted once in Registry::failed_streams.
  bool store_failed_ = false;
  bool write_failing_ = false;
  bool counted_unhealthy_ = false;
  uint64_t sync_token_ = 0;
  storage::StreamLog::AsyncSync sync_job_;
  bool figures_stale_ = false;  // the log changed since figures_ were last published
};

}  // namespace tern::core::js
