#pragma once
// SourceLink: one stream this stream takes messages from (its mirror, or one of its
// sources), followed as nats-server 2.9 follows it: through an ephemeral push consumer it
// creates on the origin with an API request (`$JS.API.CONSUMER.CREATE.<origin>`, or the
// external API prefix), delivering to `$JS.M.<id>` / `$JS.S.<id>` with flow control and
// heartbeats. The consumer is made again from the last origin sequence taken when the
// deliveries show a gap, a heartbeat disagrees, or nothing is heard for 3 s (at most every
// 2 s). Because it speaks only the API and subjects, the origin may be on any shard, in
// another account (imports) or another domain. Ownership: the stream's home shard.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jetstream/stream_config.h"
#include "core/subject_transform.h"

namespace tern::core {
struct Message;
}

namespace tern::core::js {

class Stream;

class SourceLink {
 public:
  // `last_taken`: the origin sequence this stream already holds (0: none).
  SourceLink(Stream* stream, bool mirror, StreamSource config, uint64_t last_taken);

  // How sourced messages name it in Nats-Stream-Source: the name, or name:hash(api).
  static std::string IndexName(const StreamSource& config);
  const StreamSource& config() const { return config_; }
  bool mirror() const { return mirror_; }
  // The internal subscriptions it needs: deliveries and create replies.
  const std::string& deliver_subject() const { return deliver_subject_; }
  const std::string& reply_subject() const { return reply_subject_; }

  // While routing (nothing is sent from here; answers wait for Turn).
  void OnDelivery(const Message& msg, int64_t now_ns);
  void OnCreateReply(std::string_view payload, int64_t now_ns);

  // The stream's turn: sends what is due (the consumer request, flow-control answers).
  void Turn(int64_t now_ns);
  bool Busy() const { return !answers_.empty() || next_check_ns_ == 0; }
  int64_t NextDeadline() const { return next_check_ns_; }

  // StreamInfo's `mirror` / `sources` entry.
  nlohmann::json Info(int64_t now_ns) const;

 private:
  void Recreate(int64_t now_ns);
  void SendCreate(int64_t now_ns);
  void TakeMirrored(const Message& msg, uint64_t sseq, uint64_t dseq, int64_t ts);
  void TakeSourced(const Message& msg, uint64_t sseq, uint64_t dseq);
  std::string ApiPrefix() const;
  // 2.10's subject_transforms: rewrites *subject by the first entry that takes it; false
  // when none does (with entries configured).
  bool Transform(std::string_view* subject);

  Stream* stream_;
  bool mirror_;
  StreamSource config_;
  std::string index_name_;  // in Nats-Stream-Source: name, or name:hash(external api)
  std::string deliver_subject_;
  std::string reply_subject_;
  std::string consumer_;  // the origin's name for our consumer; empty until it answers
  uint64_t sseq_ = 0;     // last origin sequence taken
  uint64_t dseq_ = 0;     // last consumer sequence taken
  uint64_t lag_ = 0;
  int64_t last_heard_ns_ = 0;  // 0: never (active -1)
  int64_t created_at_ns_ = 0;  // monotonic, when the link was made
  int64_t last_request_ns_ = 0;
  bool want_create_ = true;
  bool waiting_reply_ = false;
  int64_t next_check_ns_ = 0;
  nlohmann::json error_;              // the last create error; null when none
  std::vector<std::string> answers_;  // subjects to publish an empty message to (FC)
  std::string scratch_;               // a sourced message's header block
  std::vector<std::optional<SubjectTransform>> transforms_;  // per config_.transforms entry
  std::string transformed_;
};

}  // namespace tern::core::js
