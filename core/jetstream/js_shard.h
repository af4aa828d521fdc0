#pragma once
// JsShard: JetStream on one shard. It owns the streams whose home is this shard (and so
// their logs and consumers), receives $JS.API requests through an internal subscription
// (every shard has one; only the shard that owns what a request touches answers it), and
// runs once per loop turn: API requests, group commit and PubAcks, consumer deliveries and
// timers. Ownership: its shard's thread only; the Registry is the one shared part.
#include <absl/container/flat_hash_map.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/jetstream/api_error.h"
#include "core/jetstream/registry.h"
#include "core/jetstream/restore.h"
#include "core/jetstream/stream_config.h"
#include "core/loop_service.h"
#include "core/subscription.h"

namespace tern::core {
class Shard;
}

namespace tern::core::js {

class Stream;
class StreamRestore;
struct DeclaredStream;

// One API request, copied out of the routing path.
struct ApiRequest {
  std::string subject;
  std::string reply;
  std::string header;
  std::string payload;
  std::string target;  // DIRECT.GET: the stream that answers (Registry::DirectResponder)
};

class JsShard final : public InternalSink, public LoopService {
 public:
  JsShard(Shard* shard, Registry* registry);
  ~JsShard() override;

  // Before the shards start: subscribes the API and opens this shard's streams from the
  // store. Returns the subjects of its internal subscriptions, which every other shard is
  // then told about directly.
  bool Start(std::vector<std::string>* internal_subjects, std::string* error);
  // Before the shards start: creates or updates a stream declared in the config file
  // (declared.h). False (with *error) stops the server; a change the stream does not
  // allow is logged and the stored configuration is kept.
  bool ApplyDeclared(const DeclaredStream& declared, std::vector<std::string>* internal_subjects,
                     std::string* error);
  void Turn(int64_t now_ns) override;
  // Work is waiting that must not sleep (unsynced appends, queued requests).
  bool Busy() const override;
  // The earliest timer (monotonic ns) any stream or consumer waits for; 0 if none.
  int64_t NextDeadline() const override;

  Shard* shard() const { return shard_; }
  Registry* registry() const { return registry_; }
  auth::AccountId account() const { return registry_->account_id(); }
  // Does anyone in this JetStream's account subscribe to the subject?
  bool HasInterest(std::string_view subject) const;
  int64_t now_ns() const { return now_ns_; }
  // Publishes a message from the server (replies, deliveries). Not while routing.
  bool Send(std::string_view subject, std::string_view reply, std::string_view header,
            std::string_view payload, std::string_view display = {});
  // Answers an API request: `body` plus the type, or the error.
  // `count_error`: an error counts among the account's API errors (AccountInfo).
  void Reply(std::string_view reply, nlohmann::json body, const char* type,
             const ApiError& error = {}, bool count_error = true);
  void ReplyStatus(std::string_view reply, int status, std::string_view text);
  void MarkBusy() { busy_ = true; }
  // Starts an fdatasync for a stream through the shard's reactor; returns its token.
  uint64_t StartSync(Stream* stream, int fd);
  // Forgets a stream's sync in flight (the stream is going away).
  void CancelSync(uint64_t token) { syncs_.erase(token); }
  // A stream's fdatasync finished.
  void OnCompletion(uint64_t token, int result) override;
  // Monitoring (/jsz), on this shard's thread: this shard's streams in name order.
  std::vector<nlohmann::json> MonitorStreams(bool with_config, bool with_consumers) const;

 private:
  using Request = ApiRequest;
  void OnInternalMessage(const Subscription& sub, const Message& msg) override;
  int OwnerOf(std::string_view api) const;
  void Handle(const Request& request);
  void AccountInfo(const Request& r);
  // The StreamConfig in a CREATE/UPDATE request for stream `name`.
  ApiError ParseRequestConfig(const Request& r, const std::string& name, StreamConfig* config);
  // Registers, opens and subscribes a new stream on this shard.
  ApiError CreateStream(const StreamConfig& config, bool announce,
                        std::vector<std::string>* internal_subjects, Stream** created);
  void StreamCreate(const Request& r, const std::string& name);
  void StreamUpdate(const Request& r, const std::string& name);
  void StreamDelete(const Request& r, const std::string& name);
  void StreamNamesOrList(const Request& r, bool list);
  // STREAM.RESTORE and its chunks on $JS.SNAPSHOT.RESTORE.<stream>.<token> (restore_api.cc).
  void StreamRestoreRequest(const Request& r, const std::string& name);
  void RestoreChunk(const Request& r);
  void CompleteRestore(StreamRestore* restore, const Request& r);
  void ExpireRestores(int64_t now_ns);
  bool LoadStreams(std::string* error);
  // Opens a stream from its directory in the store and registers it (not subscribed).
  Stream* OpenStored(const std::string& name, std::string* problem);
  Stream* Find(const std::string& name);
  void Subscribe(const std::string& subject, int tag);

  Shard* shard_;
  Registry* registry_;
  int64_t now_ns_ = 0;
  bool busy_ = false;
  std::vector<std::unique_ptr<Subscription>> api_subs_;
  absl::flat_hash_map<std::string, std::unique_ptr<Stream>> streams_;
  std::vector<Request> requests_;
  std::vector<Request> handling_;
  const Request* audited_ = nullptr;  // the API request being answered, if it is audited
  std::string scratch_;
  absl::flat_hash_map<uint64_t, Stream*> syncs_;  // in flight, by token
  absl::flat_hash_map<std::string, std::unique_ptr<StreamRestore>> restores_;  // by stream
  uint64_t next_sync_token_ = 1;
};

}  // namespace tern::core::js
