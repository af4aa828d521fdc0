// Stream: what its mirror and sources (source_link.h) store through.
#include <charconv>

#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/message.h"

namespace tern::core::js {

bool Stream::StoreMirrored(std::string_view subject, std::string_view header,
                           std::string_view payload, int64_t time_ns) {
  const bool republish = republisher_ != nullptr && republisher_->Matches(subject);
  const uint64_t previous = republish ? LastSeqOfSubject(subject) : 0;
  absl::StatusOr<uint64_t> seq = log_->AppendAt(time_ns, subject, header, payload);
  if (!seq.ok()) return false;
  if (republish) republisher_->Note(*seq, previous, subject, header, payload);
  has_new_ = true;
  js_->MarkBusy();
  if (config_.retention == Retention::kInterest && consumers_.empty()) log_->Delete(*seq);
  return true;
}

void Stream::StoreSourced(std::string_view subject, std::string_view header,
                          std::string_view payload) {
  // The common path: de-duplication, limits, republish apply; no reply, so no PubAck.
  std::string data;
  data.reserve(header.size() + payload.size());
  data.append(header).append(payload);
  Message msg;
  msg.subject = subject;
  msg.data = data;
  msg.header_len = header.size();
  msg.account = js_->account();
  Store(msg);
}

void Stream::SkipTo(uint64_t last) {
  const storage::LogState state = log_->State();
  if (last <= state.last_seq) return;
  if (state.msgs == 0) {
    // An empty stream simply continues after `last`, as nats-server's SkipMsg does.
    storage::PurgeRequest purge;
    purge.below = last + 1;
    (void)log_->Purge(purge);
    has_new_ = true;
    return;
  }
  // Sequences the origin no longer holds stay here as deleted ones (tombstones).
  for (uint64_t seq = state.last_seq + 1; seq <= last; ++seq) {
    absl::StatusOr<uint64_t> placeholder = log_->Append(config_.name, {}, {});
    if (!placeholder.ok()) return;
    log_->Delete(*placeholder);
  }
  has_new_ = true;
}

uint64_t Stream::LastSourced(const std::string& index_name) const {
  const storage::LogState state = log_->State();
  storage::StoredMessage msg;
  for (uint64_t seq = state.last_seq; seq >= state.first_seq && seq > 0; --seq) {
    if (!log_->Read(seq, &msg) || msg.header.empty()) continue;
    auto value = HeaderValue(msg.header, "Nats-Stream-Source");
    if (!value) continue;
    const std::size_t space = value->rfind(' ');
    if (space == std::string_view::npos || value->substr(0, space) != index_name) continue;
    uint64_t origin_seq = 0;
    const std::string_view number = value->substr(space + 1);
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), origin_seq);
    if (ec == std::errc() && end == number.data() + number.size()) return origin_seq;
  }
  return 0;
}

}  // namespace tern::core::js
