#include "core/jetstream/source_link.h"

#include <openssl/sha.h>

#include <charconv>

#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/message.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kSilenceNs = 3 * kSecond;         // nothing heard for this long: recreate
constexpr int64_t kRetryNs = 2 * kSecond;           // at most one request per this
constexpr int64_t kReplyWaitNs = 5 * kSecond;       // a create request unanswered this long
constexpr int64_t kCheckEveryNs = 1 * kSecond;      // nats-server's ticker
constexpr int64_t kHeartbeatNs = 1 * kSecond;       // asked of the origin's consumer
constexpr int64_t kAckWaitNs = 79'200'000'000'000;  // 22 h, nats-server's value

bool ParseUint(std::string_view text, uint64_t* value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

// nats-server's getHash: the first 8 bytes of SHA-256, each as one of 62 characters.
std::string Hash8(std::string_view text) {
  static constexpr char kChars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string out(8, 'x');
  for (int i = 0; i < 8; ++i) out[i] = kChars[digest[i] % 62];
  return out;
}

// A `$JS.ACK` reply's numbers: delivery count, stream and consumer sequences, time,
// pending; and the consumer's name. Both the 9-token form and the 2.10 form with domain and
// account hash (12 tokens) are read.
struct AckInfo {
  std::string_view consumer;
  uint64_t delivered = 0, sseq = 0, dseq = 0, pending = 0;
  int64_t ts = 0;
};

bool ParseAckReply(std::string_view reply, AckInfo* out) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  while (start <= reply.size()) {
    const std::size_t dot = reply.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? reply.size() : dot;
    tokens.push_back(reply.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::size_t base;  // index of the stream name
  if (tokens.size() == 9) {
    base = 2;
  } else if (tokens.size() >= 11) {
    base = 4;
  } else {
    return false;
  }
  if (tokens[0] != "$JS" || tokens[1] != "ACK") return false;
  uint64_t ts = 0;
  out->consumer = tokens[base + 1];
  return ParseUint(tokens[base + 2], &out->delivered) && ParseUint(tokens[base + 3], &out->sseq) &&
         ParseUint(tokens[base + 4], &out->dseq) && ParseUint(tokens[base + 5], &ts) &&
         ParseUint(tokens[base + 6], &out->pending) && (out->ts = static_cast<int64_t>(ts), true);
}

}  // namespace

SourceLink::SourceLink(Stream* stream, bool mirror, StreamSource config, uint64_t last_taken)
    : stream_(stream), mirror_(mirror), config_(std::move(config)), sseq_(last_taken) {
  index_name_ = IndexName(config_);
  const std::string id = RandomName();
  std::string prefix = config_.deliver_prefix.empty() ? "$JS" : config_.deliver_prefix;
  deliver_subject_ = prefix + (mirror_ ? ".M." : ".S.") + id;
  reply_subject_ = "$JSC.R." + RandomName();
  created_at_ns_ = stream_->js()->now_ns();
  for (const StreamSubjectTransform& t : config_.transforms) {
    SubjectTransform transform;
    std::string problem;  // validated with the config
    if (!t.dest.empty() &&
        SubjectTransform::Make(t.src.empty() ? ">" : t.src, t.dest, &transform, &problem)) {
      transforms_.emplace_back(std::move(transform));
    } else {
      transforms_.emplace_back();
    }
  }
}

std::string SourceLink::IndexName(const StreamSource& config) {
  return config.external() ? config.name + ":" + Hash8(config.api_prefix) : config.name;
}

std::string SourceLink::ApiPrefix() const {
  return config_.api_prefix.empty() ? "$JS.API" : config_.api_prefix;
}

void SourceLink::Turn(int64_t now_ns) {
  for (const std::string& subject : answers_) stream_->js()->Send(subject, {}, {}, {});
  answers_.clear();
  // Heard nothing (data or heartbeat) for 3 s, or a request went unanswered: again.
  const int64_t heard = last_heard_ns_ != 0 ? last_heard_ns_ : created_at_ns_;
  if (!want_create_ && !waiting_reply_ && now_ns - heard > kSilenceNs) want_create_ = true;
  if (waiting_reply_ && now_ns - last_request_ns_ > kReplyWaitNs) {
    waiting_reply_ = false;
    want_create_ = true;
  }
  if (want_create_ && (last_request_ns_ == 0 || now_ns - last_request_ns_ >= kRetryNs)) {
    SendCreate(now_ns);
  }
  next_check_ns_ = now_ns + kCheckEveryNs;
}

void SourceLink::Recreate(int64_t now_ns) {
  (void)now_ns;
  consumer_.clear();
  want_create_ = true;
  stream_->js()->MarkBusy();
}

void SourceLink::SendCreate(int64_t now_ns) {
  want_create_ = false;
  waiting_reply_ = true;
  last_request_ns_ = now_ns;
  error_ = nullptr;  // cleared when the next request goes, as nats-server does
  consumer_.clear();
  dseq_ = 0;
  nlohmann::ordered_json config;
  if (sseq_ > 0) {
    config["deliver_policy"] = "by_start_sequence";
    config["opt_start_seq"] = sseq_ + 1;
  } else if (config_.opt_start_seq > 0) {
    config["deliver_policy"] = "by_start_sequence";
    config["opt_start_seq"] = config_.opt_start_seq;
  } else if (!config_.opt_start_time.empty()) {
    config["deliver_policy"] = "by_start_time";
    config["opt_start_time"] = config_.opt_start_time;
  } else {
    config["deliver_policy"] = "all";
  }
  config["ack_policy"] = "none";
  config["ack_wait"] = kAckWaitNs;
  config["max_deliver"] = 1;
  if (!config_.filter_subject.empty()) config["filter_subject"] = config_.filter_subject;
  if (config_.transforms.size() == 1) {
    config["filter_subject"] = config_.transforms[0].src.empty() ? ">" : config_.transforms[0].src;
  } else if (!config_.transforms.empty()) {
    nlohmann::json filters = nlohmann::json::array();
    for (const auto& t : config_.transforms) filters.push_back(t.src.empty() ? ">" : t.src);
    config["filter_subjects"] = filters;
  }
  config["replay_policy"] = "instant";
  config["idle_heartbeat"] = kHeartbeatNs;
  config["flow_control"] = true;
  config["deliver_subject"] = deliver_subject_;
  config["num_replicas"] = 0;
  config["direct"] = true;
  std::string subject = ApiPrefix() + ".CONSUMER.CREATE." + config_.name;
  nlohmann::ordered_json body;
  body["stream_name"] = config_.name;
  if (!config_.filter_subject.empty() || config_.transforms.size() == 1) {
    const std::string name = (mirror_ ? "mirror-" : "src-") + RandomName();
    subject += "." + name + "." + config["filter_subject"].get<std::string>();
    if (!mirror_) config["name"] = name;
  }
  body["config"] = std::move(config);
  stream_->js()->Send(subject, reply_subject_, {}, body.dump());
}

void SourceLink::OnCreateReply(std::string_view payload, int64_t now_ns) {
  waiting_reply_ = false;
  const nlohmann::json reply = ParseClientJson(payload);
  if (reply.is_discarded() || !reply.is_object()) return;
  if (auto err = reply.find("error"); err != reply.end()) {
    error_ = *err;
    want_create_ = true;  // again in 2 s
    return;
  }
  consumer_ = reply.value("name", "");
  last_heard_ns_ = now_ns;
  const nlohmann::json delivered = reply.value("delivered", nlohmann::json::object());
  const uint64_t origin_seq = delivered.value("stream_seq", uint64_t{0});
  dseq_ = delivered.value("consumer_seq", uint64_t{0});
  // The origin starts past what it no longer holds: a mirror keeps sequences aligned.
  if (mirror_ && origin_seq > sseq_) {
    stream_->SkipTo(origin_seq);
    sseq_ = origin_seq;
  }
}

void SourceLink::OnDelivery(const Message& msg, int64_t now_ns) {
  const std::string_view header = msg.header();
  if (header.starts_with("NATS/1.0 100")) {  // a heartbeat or a flow-control request
    last_heard_ns_ = now_ns;
    if (!msg.reply.empty()) {
      answers_.emplace_back(msg.reply);
      stream_->js()->MarkBusy();
      return;
    }
    if (auto stalled = HeaderValue(header, "Nats-Consumer-Stalled"); stalled && !stalled->empty()) {
      answers_.emplace_back(*stalled);
      stream_->js()->MarkBusy();
    }
    uint64_t last_consumer = 0;
    if (auto last = HeaderValue(header, "Nats-Last-Consumer");
        last && ParseUint(*last, &last_consumer) && !consumer_.empty() && last_consumer != dseq_) {
      Recreate(now_ns);
    }
    return;
  }
  AckInfo ack;
  if (!ParseAckReply(msg.reply, &ack) || ack.delivered > 1) return;
  if (ack.consumer != consumer_) return;  // an older consumer's delivery
  last_heard_ns_ = now_ns;
  lag_ = ack.pending > 0 ? ack.pending - 1 : 0;
  if (mirror_) {
    stream_->figures()->mirror_current.store(ack.pending < 10, std::memory_order_relaxed);
    TakeMirrored(msg, ack.sseq, ack.dseq, ack.ts);
  } else {
    TakeSourced(msg, ack.sseq, ack.dseq);
  }
}

void SourceLink::TakeMirrored(const Message& msg, uint64_t sseq, uint64_t dseq, int64_t ts) {
  if (sseq <= sseq_) return;  // already held
  if (sseq != sseq_ + 1) {
    // The origin skipped sequences it no longer holds: tombstones keep them aligned. Any
    // other gap means deliveries were lost: start again after the last one taken.
    if (dseq != dseq_ + 1) return Recreate(0);
    stream_->SkipTo(sseq - 1);
  }
  std::string_view subject = msg.shown_subject();
  Transform(&subject);  // a mirror keeps the origin's sequences: what no entry takes is kept
  if (!stream_->StoreMirrored(subject, msg.header(), msg.payload(), ts)) {
    return Recreate(0);
  }
  sseq_ = sseq;
  dseq_ = dseq;
}

void SourceLink::TakeSourced(const Message& msg, uint64_t sseq, uint64_t dseq) {
  if (dseq != dseq_ + 1) {
    if (dseq > dseq_ + 1) Recreate(0);
    return;
  }
  // Nats-Stream-Source names the last hop only: an earlier one is taken out.
  std::string_view header = msg.header();
  scratch_.clear();
  if (!header.empty()) {
    std::size_t line_start = header.find("\r\n");
    scratch_.assign(header.substr(0, line_start == std::string_view::npos ? 0 : line_start + 2));
    while (line_start != std::string_view::npos && line_start + 2 < header.size()) {
      const std::size_t begin = line_start + 2;
      const std::size_t end = header.find("\r\n", begin);
      if (end == std::string_view::npos || end == begin) break;
      const std::string_view line = header.substr(begin, end - begin);
      if (!line.starts_with("Nats-Stream-Source:")) scratch_.append(line).append("\r\n");
      line_start = end;
    }
    scratch_.append("\r\n");
  } else {
    scratch_ = "NATS/1.0\r\n\r\n";
  }
  AddHeader(&scratch_, "Nats-Stream-Source", index_name_ + " " + std::to_string(sseq));
  std::string_view subject = msg.shown_subject();
  if (!Transform(&subject)) {  // not taken by any subject_transforms entry
    sseq_ = sseq;
    dseq_ = dseq;
    return;
  }
  stream_->StoreSourced(subject, scratch_, msg.payload());
  sseq_ = sseq;
  dseq_ = dseq;
}

bool SourceLink::Transform(std::string_view* subject) {
  if (config_.transforms.empty()) return true;
  for (std::size_t i = 0; i < config_.transforms.size(); ++i) {
    const StreamSubjectTransform& t = config_.transforms[i];
    if (!t.src.empty() && !SubjectMatches(t.src, *subject)) continue;
    if (!t.dest.empty() && transforms_[i]) {
      transforms_[i]->Apply(*subject, &transformed_);
      *subject = transformed_;
    }
    return true;
  }
  return false;
}

nlohmann::json SourceLink::Info(int64_t now_ns) const {
  nlohmann::json info;
  info["name"] = config_.name;
  if (config_.external()) {
    info["external"] = {{"api", config_.api_prefix}, {"deliver", config_.deliver_prefix}};
  }
  info["lag"] = lag_;
  info["active"] = last_heard_ns_ == 0 ? int64_t{-1} : now_ns - last_heard_ns_;
  if (!error_.is_null()) info["error"] = error_;
  return info;
}

}  // namespace tern::core::js
