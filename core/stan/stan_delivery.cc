// StanService's deliveries (docs/STAN.md, "Subscriptions"): a message JetStream pushes to a
// feed goes to one member as a MsgProto (its sequence, time and delivery count read from the
// $JS.ACK reply), and the member's Ack for it becomes a +ACK to that reply.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/shard.h"
#include "core/stan/protocol.h"
#include "core/stan/stan_service.h"

namespace tern::core {
namespace {

uint64_t ParseNumber(std::string_view text) {
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

uint64_t TrailingId(std::string_view subject) {
  return ParseNumber(subject.substr(subject.rfind('.') + 1));
}

struct AckInfo {
  uint64_t delivered = 0, sequence = 0;
  int64_t timestamp_ns = 0;
};

// $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>, or
// with a domain and an account hash after ACK and a token more at the end.
bool ParseAckSubject(std::string_view subject, AckInfo* out) {
  constexpr std::size_t kMaxTokens = 16;  // a JetStream ack subject has 9 or 12
  std::string_view tokens[kMaxTokens];
  std::size_t count = 0;
  for (std::size_t start = 0;;) {
    if (count == kMaxTokens) return false;
    const std::size_t dot = subject.find('.', start);
    tokens[count++] = subject.substr(start, dot - start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::size_t at = 0;
  if (count == 9) {
    at = 4;
  } else if (count >= 11) {
    at = 6;
  } else {
    return false;
  }
  out->delivered = ParseNumber(tokens[at]);
  out->sequence = ParseNumber(tokens[at + 1]);
  out->timestamp_ns = static_cast<int64_t>(ParseNumber(tokens[at + 3]));
  return out->sequence != 0;
}

}  // namespace

void StanService::OnDeliver(const Arrived& in) {
  auto it = feeds_.find(TrailingId(in.subject));
  if (it == feeds_.end() || it->second.deliver != in.subject) return;
  // Only messages: these consumers have no heartbeats or flow control.
  if (in.reply.rfind("$JS.ACK.", 0) != 0) return;
  Feed& feed = it->second;
  Deliver(feed, in.reply, in.data);
}

uint64_t StanService::PickMember(Feed& feed) {
  // As nats-streaming-server: the member with the fewest unacknowledged among those below
  // their maxInFlight (else the first), and a member picked from the front goes to the back.
  if (feed.members.size() == 1) return feed.members.front();
  std::size_t best = 0;
  bool found = false;
  for (std::size_t i = 0; i < feed.members.size(); ++i) {
    const StanSub& sub = stan_subs_[feed.members[i]];
    if (!sub.answered || sub.pending >= static_cast<uint32_t>(sub.max_in_flight)) continue;
    if (!found || sub.pending < stan_subs_[feed.members[best]].pending) best = i;
    found = true;
  }
  const uint64_t picked = feed.members[best];
  if (best == 0 && feed.members.size() > 1) {
    feed.members.erase(feed.members.begin());
    feed.members.push_back(picked);
  }
  return picked;
}

void StanService::Deliver(Feed& feed, std::string_view ack_subject, std::string_view data) {
  AckInfo info;
  if (feed.members.empty() || !ParseAckSubject(ack_subject, &info)) return;
  bool any_answered = false;
  for (uint64_t id : feed.members) {
    if (stan_subs_[id].answered) {
      any_answered = true;
      break;
    }
  }
  if (!any_answered) {
    // No member told of its subscription yet: a MsgProto must not come before that.
    feed.early.emplace_back(ack_subject, data);
    return;
  }
  const uint64_t member = PickMember(feed);
  StanSub& sub = stan_subs_[member];
  auto [pending, fresh] = feed.unacked.try_emplace(info.sequence);
  if (!fresh && pending->second.member != member) {
    // Redelivered to another member: the first one's count lets go of it.
    if (auto before = stan_subs_.find(pending->second.member); before != stan_subs_.end()) {
      --before->second.pending;
    }
  }
  if (fresh || pending->second.member != member) ++sub.pending;
  pending->second.member = member;
  pending->second.ack_subject.assign(ack_subject);
  pending->second.delivered_ns = now_ns_;
  const stan::MsgProto msg{
      .sequence = info.sequence,
      .subject = feed.channel,
      .data = data,
      .timestamp = info.timestamp_ns,
      .redelivered = info.delivered > 1,
      .redelivery_count = info.delivered > 1 ? static_cast<uint32_t>(info.delivered - 1) : 0};
  proto_out_.clear();
  stan::Encode(msg, &proto_out_);
  Send(sub.inbox, {}, proto_out_);
  sub.last_sent = std::max(sub.last_sent, info.sequence);
  ++out_msgs_;
  out_bytes_ += data.size();
}

void StanService::OnAck(const Arrived& in) {
  auto sub = stan_subs_.find(TrailingId(in.subject));
  if (sub == stan_subs_.end() || sub->second.ack_inbox != in.subject) return;
  auto feed = feeds_.find(sub->second.feed);
  stan::Ack ack;
  if (feed == feeds_.end() || !stan::Decode(in.data, &ack)) return;
  // Nothing is sent back for an ack, and one for a sequence not pending is ignored. In a
  // group, any member may acknowledge what another was given.
  auto pending = feed->second.unacked.find(ack.sequence);
  if (pending == feed->second.unacked.end()) return;
  Send(pending->second.ack_subject, {}, "+ACK");
  if (auto owner = stan_subs_.find(pending->second.member); owner != stan_subs_.end()) {
    --owner->second.pending;
  }
  feed->second.unacked.erase(pending);
}

// Overdue: not redelivered within twice its ack wait (and a second), so JetStream no
// longer has it.
int64_t StanService::NextPruneNs() const {
  int64_t next = 0;
  for (const auto& [id, feed] : feeds_) {
    if (feed.unacked.empty() || feed.pruning) continue;
    const int64_t due = feed.unacked.begin()->second.delivered_ns +
                        2 * feed.sent_ack_wait_s * 1'000'000'000 + 1'000'000'000;
    if (next == 0 || due < next) next = due;
  }
  return next;
}

void StanService::PruneUnacked(int64_t now_ns) {
  for (auto& [id, feed] : feeds_) {
    if (feed.unacked.empty() || feed.pruning) continue;
    // Limits remove from the front: the lowest sequence is the one to look at.
    const int64_t due = feed.unacked.begin()->second.delivered_ns +
                        2 * feed.sent_ack_wait_s * 1'000'000'000 + 1'000'000'000;
    if (now_ns < due) continue;
    feed.pruning = true;
    const uint64_t feed_id = id;
    Call("$JS.API.STREAM.INFO." + channels_[feed.channel].stream, "",
         [this, feed_id](const std::string& error, const nlohmann::json& answer) {
           auto it = feeds_.find(feed_id);
           if (it == feeds_.end()) return;
           Feed& found = it->second;
           found.pruning = false;
           uint64_t first = 0;
           if (error.empty() && answer.contains("state") && answer.at("state").is_object()) {
             first = answer.at("state").value("first_seq", uint64_t{0});
           }
           for (auto u = found.unacked.begin(); u != found.unacked.end() && u->first < first;) {
             if (auto owner = stan_subs_.find(u->second.member); owner != stan_subs_.end()) {
               --owner->second.pending;
             }
             u = found.unacked.erase(u);
           }
           // Still held (or no answer): look again after another overdue period.
           if (!found.unacked.empty()) found.unacked.begin()->second.delivered_ns = now_ns_;
         });
  }
}

}  // namespace tern::core
