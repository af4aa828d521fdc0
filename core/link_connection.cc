#include "core/link_connection.h"

#include <algorithm>

#include "core/clock.h"
#include "core/conn_info.h"
#include "core/log.h"

namespace tern::core {
namespace {

// What a closing link may still spend flushing its queue.
constexpr int64_t kCloseFlushNs = 2'000'000'000;

}  // namespace

LinkConnection::LinkConnection(ConnectionKind kind, uint64_t id, ShardPort* shard, std::string ip,
                               int port, const char* kind_name, const char* id_name, Limits limits)
    : SocketConnection(kind, id, shard),
      ip_(std::move(ip)),
      port_(port),
      kind_name_(kind_name),
      id_name_(id_name),
      limits_(limits) {
  link_ = true;
  echo_ = false;
  line_.reserve(256);
}

LinkConnection::~LinkConnection() = default;

std::string LinkConnection::Label() const {
  return ip_ + ":" + std::to_string(port_) + " - " + id_name_ + ":" + std::to_string(id_);
}

void LinkConnection::StartClocks(int64_t first_ping_ns) {
  const int64_t now = shard_->now_ns();
  start_mono_ns_ = now;
  last_in_ns_ = now;
  start_unix_ns_ = WallClockNs();
  next_ping_ns_ = now + first_ping_ns;
}

void LinkConnection::KeepAlive(int64_t now_ns, int64_t max_interval_ns, bool skip_when_active) {
  const ServerOptions& o = shard_->options();
  next_ping_ns_ = now_ns + std::min(o.ping_interval_ns, max_interval_ns);
  if (pings_out_ + 1 > o.ping_max) {
    LOG_ERROR("%s - Stale Connection - Closing", LogLabel().c_str());
    shard_->CountStale();
    SendErrAndClose("Stale Connection", CloseReason::kStaleConnection);
    return;
  }
  if (skip_when_active && rtt_ns_ != 0 && pings_out_ == 0 &&
      now_ns - last_in_ns_ < o.ping_interval_ns) {
    return;
  }
  ++pings_out_;
  if (ping_sent_ns_ == 0) ping_sent_ns_ = now_ns;
  SendProto("PING\r\n");
}

void LinkConnection::OnBytes(const char* data, std::size_t len) {
  if (closing_) return;
  last_in_ns_ = shard_->now_ns();
  ReceiveBytes(data, len);
}

void LinkConnection::OnPeerClosed(int) { Close(CloseReason::kClientClosed, true); }

void LinkConnection::SendProto(std::string_view line) {
  if (closing_) return;
  out_.Append(line);
  MarkDirty();
}

void LinkConnection::SendErrAndClose(std::string_view text, CloseReason reason) {
  std::string line = "-ERR '";
  line.append(text);
  line += "'\r\n";
  SendProto(line);
  Close(reason, true);
}

void LinkConnection::Flush() {
  dirty = false;
  if (io_ == nullptr || io_->send_in_flight || io_->closing) return;
  if (closing_ && !close_after_flush_) return;
  SendQueued(UINT64_MAX);
}

void LinkConnection::Close(CloseReason reason, bool flush) {
  if (closing_) {
    if (!flush) close_after_flush_ = false;
    return;
  }
  closing_ = true;
  close_reason_ = reason;
  close_after_flush_ = flush;
  close_deadline_ns_ = shard_->now_ns() + kCloseFlushNs;
  // A link that never completed its handshake (a duplicate, a refused peer) is routine.
  if (registered_) {
    LOG_INFO("%s - %s connection closed: %s", LogLabel().c_str(), kind_name_,
             CloseReasonText(reason));
  } else {
    LOG_DEBUG("%s - %s connection closed: %s", LogLabel().c_str(), kind_name_,
              CloseReasonText(reason));
  }
  OnLinkClosing();
  registered_ = false;
  shard_->ScheduleClose(this);
}

bool LinkConnection::WantsIoClose() const {
  if (!closing_) return false;
  if (!close_after_flush_) return true;
  return (out_.empty() && cipher_.empty()) || shard_->now_ns() >= close_deadline_ns_;
}

bool LinkConnection::StillCongesting(int64_t now_ns) {
  return !closing_ &&
         congestion_.Still(now_ns, PendingBytes(), limits_.congested_bytes, out_.consumed_total());
}

void LinkConnection::ArmTimer() {
  const int64_t at = NextDeadline();
  if (at != 0 && (!timer.queued() || at < timer.at)) shard_->ArmTimer(this, at);
}

bool LinkConnection::HasRoomForMessage() {
  if (static_cast<int64_t>(PendingBytes()) <= limits_.max_pending_bytes) return true;
  ++dropped_msgs_;
  return false;
}

void LinkConnection::FitHeaders(bool peer_headers, std::string_view* data,
                                std::size_t* header_len) const {
  if (*header_len == 0 || peer_headers) return;
  data->remove_prefix(*header_len);
  *header_len = 0;
}

bool LinkConnection::QueueMessage(std::string_view control_line, std::string_view data) {
  const int64_t pending = static_cast<int64_t>(PendingBytes());
  out_.Append(control_line);
  out_.Append(data);
  out_.Append("\r\n", 2);
  ++out_msgs_;
  out_bytes_ += data.size();
  MarkDirty();
  if (pending + static_cast<int64_t>(data.size()) <= limits_.congested_bytes) return false;
  if (congestion_.Begin(shard_->now_ns(), out_.consumed_total())) shard_->AddCongested(this);
  return StillCongesting(shard_->now_ns());
}

void LinkConnection::OnRoutePing() { SendProto("PONG\r\n"); }

void LinkConnection::OnRoutePong() {
  pings_out_ = 0;
  if (ping_sent_ns_ != 0) {
    rtt_ns_ = shard_->now_ns() - ping_sent_ns_;
    ping_sent_ns_ = 0;
  }
}

void LinkConnection::DescribeLink(ConnInfo* info, bool with_subs) const {
  info->cid = id_;
  info->shard = shard_->index();
  info->ip = ip_;
  info->port = port_;
  info->start_unix_ns = start_unix_ns_;
  info->last_activity_unix_ns = start_unix_ns_ + (last_in_ns_ - start_mono_ns_);
  info->rtt_ns = rtt_ns_;
  info->pending_bytes = out_.pending_bytes();
  info->in_msgs = in_msgs_;
  info->out_msgs = out_msgs_;
  info->in_bytes = in_bytes_;
  info->out_bytes = out_bytes_;
  info->num_subs = static_cast<uint32_t>(subs_.size());
  if (closing_) info->reason = CloseReasonText(close_reason_);
  if (with_subs) {
    for (const auto& [key, sub] : subs_) {
      info->subs.push_back(SubInfo{sub->subject, sub->queue, key, 0, 0});
    }
  }
}

}  // namespace tern::core
