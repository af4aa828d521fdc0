#include "core/jetstream/republish.h"

#include <charconv>

#include "core/jetstream/js_shard.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

void AppendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(": ").append(value).append("\r\n");
}

void AppendHeader(std::string* out, std::string_view name, uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  AppendHeader(out, name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

}  // namespace

Republisher::Republisher(const RePublish& config) : config_(config) {
  std::string error;
  SubjectTransform::Make(config_.src, config_.dest, &transform_, &error);
}

bool Republisher::Matches(std::string_view subject) const {
  return SubjectMatches(config_.src, subject);
}

void Republisher::Note(uint64_t seq, uint64_t last, std::string_view subject,
                       std::string_view header, std::string_view payload) {
  if (pending_.empty()) arena_.clear();
  pending_.push_back(Pending{seq, last, static_cast<uint32_t>(arena_.size()),
                             static_cast<uint32_t>(subject.size()),
                             static_cast<uint32_t>(header.size()),
                             static_cast<uint32_t>(config_.headers_only ? 0 : payload.size())});
  arena_.append(subject).append(header);
  if (config_.headers_only) {
    // Only the size is sent: keep it where the payload would be.
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, payload.size()).ptr;
    pending_.back().payload_len = static_cast<uint32_t>(end - digits);
    arena_.append(digits, static_cast<std::size_t>(end - digits));
  } else {
    arena_.append(payload);
  }
}

void Republisher::Release(uint64_t durable, bool failed, JsShard* js, const std::string& stream) {
  std::size_t sent = 0;
  for (; sent < pending_.size(); ++sent) {
    const Pending& p = pending_[sent];
    if (p.seq > durable) break;
    const std::string_view subject(arena_.data() + p.at, p.subject_len);
    const std::string_view header(arena_.data() + p.at + p.subject_len, p.header_len);
    const std::string_view tail(arena_.data() + p.at + p.subject_len + p.header_len, p.payload_len);
    transform_.Apply(subject, &subject_);
    // The message's own headers first (without their closing blank line), then ours.
    header_.clear();
    if (header.size() >= 4) {
      header_.append(header.substr(0, header.size() - 2));
    } else {
      header_.append("NATS/1.0\r\n");
    }
    AppendHeader(&header_, "Nats-Stream", stream);
    AppendHeader(&header_, "Nats-Subject", subject);
    AppendHeader(&header_, "Nats-Sequence", p.seq);
    AppendHeader(&header_, "Nats-Last-Sequence", p.last);
    if (config_.headers_only) AppendHeader(&header_, "Nats-Msg-Size", tail);
    header_.append("\r\n");
    js->Send(subject_, {}, header_, config_.headers_only ? std::string_view() : tail);
  }
  if (failed) sent = pending_.size();
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(sent));
  if (pending_.empty()) arena_.clear();
}

}  // namespace tern::core::js
