#pragma once
// Republisher: a stream's `republish`: each stored message whose subject matches the
// source is published again on the destination subject (the source's wildcards carried
// over), with nats-server 2.9's headers: Nats-Stream, Nats-Subject, Nats-Sequence,
// Nats-Last-Sequence (the subject's previous sequence, 0 if none) and, headers only,
// Nats-Msg-Size with no payload. A message is republished once it is durable, just before
// its PubAck goes out (nats-server also sends the republish first); a copy is kept until
// then (in one arena, reused), so limits that remove it meanwhile lose nothing.
// Ownership: the stream's home shard.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/jetstream/stream_config.h"
#include "core/subject_transform.h"

namespace tern::core::js {

class JsShard;

class Republisher {
 public:
  // `config` was validated (ParseStreamConfig).
  explicit Republisher(const RePublish& config);

  bool Matches(std::string_view subject) const;
  // A message was stored as `seq`; `last` was its subject's newest sequence before it.
  void Note(uint64_t seq, uint64_t last, std::string_view subject, std::string_view header,
            std::string_view payload);
  // Publishes what is durable (seq <= durable), in order, through `js`. With `failed`
  // (the store failed) what is not durable is dropped: it never will be.
  void Release(uint64_t durable, bool failed, JsShard* js, const std::string& stream);
  bool empty() const { return pending_.empty(); }
  // Something is ready to go (durable now).
  bool Ready(uint64_t durable) const {
    return !pending_.empty() && pending_.front().seq <= durable;
  }

 private:
  struct Pending {
    uint64_t seq, last;
    uint32_t at, subject_len, header_len, payload_len;
  };
  RePublish config_;
  SubjectTransform transform_;
  std::vector<Pending> pending_;
  std::string arena_;
  std::string subject_, header_;  // reused per message
};

}  // namespace tern::core::js
