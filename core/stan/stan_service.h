#pragma once
// StanService: NATS Streaming (STAN) clients served on JetStream (docs/STAN.md). It answers
// the STAN requests (connect, close, pings, subscriptions), heartbeats the clients, and makes
// each channel's stream. Publishes are taken on the sender's shard by a StanGate (one per
// shard), which this service keeps informed through the StanDirectory. It talks to
// JetStream only through the $JS.API subjects and the channels' subjects, as a client would.
// Messages reach it while the shard routes (OnInternalMessage): they are copied and handled in the
// next turn. Ownership: shard 0's thread; one per server.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <nlohmann/json_fwd.hpp>

#include "core/loop_service.h"
#include "core/stan/stan_directory.h"
#include "core/stan/stan_view.h"
#include "core/stan_options.h"
#include "core/subscription.h"

namespace tern::core {

class Shard;
class StanGate;

class StanService final : public InternalSink, public LoopService {
 public:
  StanService(Shard* shard, const StanOptions& options,
              std::shared_ptr<stan::StanDirectory> directory);
  ~StanService() override;
  // Where clients publish (`_STAN.pub.<cluster id>`; the gates subscribe to it).
  const std::string& pub_prefix() const { return pub_prefix_; }
  // Before the shards start: the gates, by shard.
  void SetGates(std::vector<StanGate*> gates) { gates_ = std::move(gates); }
  // On shard 0's thread (posted by a gate): the gate has publishes for a channel it does not
  // know; the answer is posted back to it once the channel's stream is made or refused.
  void OpenChannelFor(StanGate* gate, const std::string& name);
  // Before the shards start: subscribes on shard 0 and lists the subjects, which the other
  // shards must learn of directly.
  void Start(std::vector<std::string>* subjects);
  void Turn(int64_t now_ns) override;
  bool Busy() const override { return arrived_count_ > 0; }
  int64_t NextDeadline() const override;
  // What the monitoring endpoints show (stan_view.cc); shard 0's thread.
  void Snapshot(StanView* out) const;

 private:
  static constexpr int64_t kApiTimeoutNs = 10'000'000'000;
  enum Tag : int {
    kConnect,
    kPing,
    kSubscribe,
    kUnsubscribe,
    kSubClose,
    kClose,
    kApiReply,
    kHeartbeatReply,
    kDeliver,  // JetStream pushing a channel's message to one subscription
    kAck       // a subscriber acknowledging, on its ack inbox
  };
  struct Arrived {
    int tag;
    std::string subject, reply, data;
  };
  struct StanClient {
    std::string id, heartbeat_inbox, conn_id;
    int64_t next_heartbeat_ns = 0;
    uint64_t heartbeat_outstanding = 0;  // the reply token awaited; 0 = none
    int64_t heartbeat_deadline_ns = 0;
    int64_t failed_heartbeats = 0;
  };
  // A connect for an id already registered, waiting to learn whether the old client is alive.
  struct DuplicateProbe {
    std::string request, reply;
    uint64_t token = 0;
    int64_t deadline_ns = 0;
  };
  struct Channel {
    bool ready = false;  // its stream is made
    std::string stream, subject;
    StanChannelLimits limits;      // resolved: 0 is unlimited
    int64_t last_activity_ns = 0;  // its last publish, or when its last subscription went
    int feeds = 0;                 // online subscriptions' feeds on it
    bool deleting = false;         // inactive: being deleted
    std::shared_ptr<stan::GateChannel> entry;  // what the gates see of it
    std::vector<StanGate*> waiting_gates;      // while the stream is being made
    std::vector<uint64_t> waiting_feeds;       // likewise
  };
  // What feeds one subscription, or every member of a queue group: a push consumer on the
  // channel's stream whose deliver subject only this service subscribes to, and only while
  // a member is online (so an offline durable's consumer keeps its messages). Its
  // deliveries go to the member with the fewest unacknowledged (docs/STAN.md).
  struct Feed {
    uint64_t id = 0;
    std::string channel, group;   // group: the queue group's name ("dur:group" if durable)
    std::string durable_key;      // a durable's (plain or queue), else empty
    std::string consumer;         // its name, once made (a durable's: from its key)
    std::string deliver, config;  // config: as last sent, for updates
    int64_t sent_max_ack_pending = 0, sent_ack_wait_s = 0;  // in the config last sent
    std::unique_ptr<Subscription> deliver_sub;
    bool started = false, ready = false;
    bool pruning = false;           // asking the stream which unacknowledged messages it still has
    std::vector<uint64_t> members;  // in the order the next pick looks at them
    struct Unacked {
      uint64_t member;
      std::string ack_subject;   // $JS.ACK...
      int64_t delivered_ns = 0;  // last (re)delivery
    };
    std::map<uint64_t, Unacked> unacked;                     // by stream sequence
    std::vector<std::pair<std::string, std::string>> early;  // (reply, data) before ready
  };
  // One SubscriptionRequest granted: a client's subscription, or its membership of a group.
  struct StanSub {
    uint64_t id = 0, feed = 0;
    std::string client_id, channel, inbox, ack_inbox, reply;  // reply: the request's
    std::string request;                                      // the SubscriptionRequest
    std::string durable_name;                                 // a plain durable's
    int32_t max_in_flight = 1, ack_wait_s = 30;
    uint32_t pending = 0;    // delivered, not yet acknowledged
    uint64_t last_sent = 0;  // the highest sequence delivered to it
    bool answered = false;
  };
  // A $JS.API request or a channel publish in flight, by its reply token.
  struct ApiCall {
    enum class Kind {
      kCreateStream,
      kUpdateStream,
      kStreamInfo,    // for a subscription starting at a sequence
      kConsumerInfo,  // does a durable's consumer exist already?
      kCreateConsumer,
      kDeleteConsumer,
      kOther  // answered through `done`
    } kind;
    std::string channel, guid, reply;
    int64_t deadline_ns = 0;
    uint64_t feed = 0;
    std::function<void(const std::string& error, const nlohmann::json& answer)> done;
  };

  void OnInternalMessage(const Subscription& sub, const Message& msg) override;
  void Handle(const Arrived& in);
  void OnConnect(const Arrived& in);
  void Register(std::string_view request, const std::string& reply);
  void OnPing(const Arrived& in);
  void OnClose(const Arrived& in);
  // Subscriptions (stan_subscriptions.cc) and their deliveries (stan_delivery.cc).
  void OnSubscribe(const Arrived& in);
  void StartFeed(Feed& feed);
  void FinishFeedCall(const ApiCall& call, const std::string& error, const nlohmann::json& answer);
  // Creates or updates the feed's consumer from `config` (its members' settings added).
  void PutConsumer(Feed& feed, nlohmann::json config);
  void FeedReady(Feed& feed, std::string_view error);
  void AnswerSub(StanSub& sub, std::string_view error);
  void OnDeliver(const Arrived& in);
  void Deliver(Feed& feed, std::string_view ack_subject, std::string_view data);
  uint64_t PickMember(Feed& feed);
  void OnAck(const Arrived& in);
  // Unacknowledged messages the channel's limits removed are never redelivered, nor acked:
  // once the oldest is overdue, the stream's first sequence says which to let go of.
  void PruneUnacked(int64_t now_ns);
  int64_t NextPruneNs() const;
  void OnUnsubscribe(const Arrived& in, bool close);
  // Takes a subscription away (closed: a durable's consumer stays, offline). The last
  // member of a feed takes the feed with it.
  void DropSub(uint64_t id, bool close);
  void DropFeed(Feed& feed, bool keep_consumer);
  uint64_t ApiCallFor(ApiCall::Kind kind, uint64_t feed, const std::string& subject,
                      const std::string& body);
  // Sets the consumer again if its members' settings moved since the config last sent.
  void RefreshConsumer(Feed& feed);
  // Writes the subscription's record, then answers it.
  void PersistAndAnswer(uint64_t sub_id);
  // State kept across restarts (stan_state.cc): one record per client, feed and
  // subscription in the state stream, the last one per subject kept.
  void Call(const std::string& subject, const std::string& body,
            std::function<void(const std::string& error, const nlohmann::json& answer)> done);
  void BeginRestore();
  void ReadState(uint64_t seq);
  void ApplyRecord(std::string_view subject, std::string_view record);
  void FinishRestore();
  void WriteState(const std::string& key, const nlohmann::json& record,
                  std::function<void(const std::string& error)> done = {});
  void ForgetState(const std::string& key);
  nlohmann::json ClientRecord(const StanClient& client) const;
  nlohmann::json FeedRecord(const Feed& feed) const;
  nlohmann::json SubRecord(const StanSub& sub) const;
  void OnHeartbeatReply(uint64_t token);
  void OnApiReply(uint64_t token, std::string_view body);
  // Every call goes in calls_ through here, which keeps next_call_check_ns_.
  void TrackCall(uint64_t token, ApiCall call);
  void FinishCall(ApiCall call, std::string_view body);
  void DispatchAnswer(ApiCall call, const std::string& error, const nlohmann::json& answer);
  void RunTimers();
  // Answers the calls past their deadline with an error (also while restoring).
  void ExpireCalls();
  void CreateChannelStream(const std::string& name, bool update);
  // Channels (stan_channels.cc). Finds or makes one; nullptr (and the error) when
  // max_channels says no or it is being deleted.
  Channel* OpenChannel(const std::string& name, std::string_view* error);
  Channel& AddChannel(const std::string& name, const std::string& stream);
  void OnChannelAnswer(const ApiCall& call, const std::string& error);
  // At start-up, after the state stream: the channels' streams, from `offset` on.
  void ListChannels(uint64_t offset);
  void RetireInactiveChannels();
  // After every gate has seen the channel closed: deleted, unless a publish came since `seen`.
  void DeleteInactiveChannel(const std::string& channel_name, int64_t seen);
  // Drops the offline durables' unacknowledged messages of a deleted channel's stream.
  void ForgetOfflineUnacked(const std::string& stream);
  StanSubView SubView(const Feed& feed, const StanSub& sub) const;
  void ScheduleInactivityCheck();
  // Tells the gates of a change in the clients or the channels (in force at once).
  void PublishDirectory();
  // Posts the answer for a channel to a gate that asked for it.
  void ResolveGate(StanGate* gate, const std::string& name, std::string error);
  void RemoveClient(const std::string& id);
  void Send(std::string_view subject, std::string_view reply, std::string_view data);
  void Subscribe(const std::string& subject, int tag, std::vector<std::string>* subjects);
  std::string Token(std::string_view prefix, uint64_t token) const;
  // The JetStream storage of the channels' and the state's streams.
  const char* StorageName() const {
    return options_.store == StanOptions::Store::kMemory ? "memory" : "file";
  }

  Shard* shard_;
  const StanOptions& options_;
  int64_t now_ns_ = 0;
  std::string discover_, pings_, pub_prefix_, sub_requests_, unsub_requests_, sub_close_requests_,
      close_requests_, api_inbox_, heartbeat_inbox_;
  std::vector<std::unique_ptr<Subscription>> subs_;
  std::vector<Arrived> arrived_, batch_;           // records reused (see OnInternalMessage)
  std::size_t arrived_count_ = 0;                  // those of arrived_ in use
  std::string proto_out_;                          // a MsgProto being written
  std::map<std::string, StanClient> clients_;      // by client id
  std::map<std::string, std::string> by_conn_id_;  // conn id -> client id
  std::map<std::string, DuplicateProbe> probes_;   // by client id
  std::map<std::string, Channel> channels_;        // by channel name
  absl::flat_hash_map<uint64_t, ApiCall> calls_;   // a store each per publish in flight
  std::map<uint64_t, std::string> heartbeats_;     // reply token -> client id (or probe's id)
  std::map<uint64_t, StanSub> stan_subs_;          // by id
  std::map<uint64_t, Feed> feeds_;                 // by id
  std::map<std::string, uint64_t> durables_;       // online plain durables: key -> feed id
  std::map<std::string, uint64_t> groups_;         // "<channel> <group>" -> feed id
  // Offline durables' unacknowledged messages ($JS.ACK subjects), NAKed when they resume so
  // that they come again at once, as nats-streaming-server redelivers them.
  std::map<std::string, std::vector<std::string>> offline_unacked_;  // by durable key
  // Offline durables (plain, and durable queue groups with no member) as their last
  // subscription left them, for the monitoring endpoints; each kept in the state stream
  // ("o.<its feed's id>") so that a restart shows them before they resume.
  struct OfflineDurable {
    std::string channel;
    StanSubView view;
    uint64_t record = 0;
  };
  std::map<std::string, OfflineDurable> offline_durables_;  // by durable key
  void KeepOffline(const std::string& key, OfflineDurable offline);
  void ForgetOffline(const std::string& key);
  uint64_t out_msgs_ = 0, out_bytes_ = 0;  // publishes in: counted by the gates
  std::shared_ptr<stan::StanDirectory> directory_;
  std::vector<StanGate*> gates_;
  // Starting: the state stream is not read yet. Restoring: being read; until then requests
  // wait in held_.
  enum class Phase { kStarting, kRestoring, kServing } phase_ = Phase::kServing;
  std::deque<Arrived> held_;
  std::string state_stream_, state_prefix_;
  int64_t next_inactivity_check_ns_ = 0;  // 0: no channel has max_inactivity to watch
  std::string reply_secret_;              // in JetStream replies' and heartbeats' reply subjects
  std::string run_nonce_;  // in deliver subjects: this run's never meet an earlier run's
  uint64_t next_token_ = 0;
  int64_t next_call_check_ns_ = 0;  // the earliest call deadline (0: none)
};

}  // namespace tern::core
