#include "core/socket_connection.h"

#include <algorithm>
#include <cstring>

#include "core/log.h"
#include "core/tls_output.h"
#include "io/reactor.h"

namespace tern::core {

SocketConnection::SocketConnection(ConnectionKind kind, uint64_t id, ShardPort* shard)
    : Connection(kind, id),
      shard_(shard),
      stats_(&shard->stats()),
      out_(&shard->chunk_pool()),
      cipher_(&shard->chunk_pool()),
      ws_out_(&shard->chunk_pool()) {}

void SocketConnection::OnSendDone(int result) {
  if (result < 0) {
    LOG_DEBUG("%s - write error: %s", LogLabel().c_str(), strerror(-result));
    Close(CloseReason::kWriteError, false);
    return;
  }
  WireQueue().Consume(static_cast<std::size_t>(result));
  send_started_ns_ = 0;
  if (!out_.empty() || !ws_out_.empty() || !cipher_.empty()) MarkDirty();
}

void SocketConnection::Stall() {
  if (stalled_ || closing_ || io_ == nullptr) return;
  stalled_ = true;
  shard_->AddStalled(this);
}

void SocketConnection::Unstall() {
  if (!stalled_) return;
  stalled_ = false;
  if (!held_input_.empty() && !closing_) {
    std::string input;
    input.swap(held_input_);
    const std::size_t used = FeedInput(input.data(), input.size());
    if (used < input.size() && !closing_) held_input_.assign(input, used);
  }
  if (!stalled_ && io_ != nullptr && !closing_) shard_->ResumeReading(io_);
}

void SocketConnection::EnableWebsocket(const WsPolicy* policy) {
  ws_ = std::make_unique<WsSession>(policy);
}

void SocketConnection::QueueWebsocketClose(uint16_t code, std::string_view reason) {
  if (ws_ == nullptr || !ws_->upgraded() || ws_->close_sent() || !ws_close_.empty()) return;
  ws_close_ = WsCloseFrame(code, reason);
  MarkDirty();
}

void SocketConnection::TakeInput(const char* data, std::size_t len) {
  if (ws_ != nullptr) return TakeWebsocketInput(data, len);
  TakeProtocolInput(data, len);
}

void SocketConnection::TakeWebsocketInput(const char* data, std::size_t len) {
  if (closing_) return;
  ws_data_.clear();
  ws_reply_.clear();
  const WsSession::Step step = ws_->Feed(std::string_view(data, len), &ws_data_, &ws_reply_);
  if (!ws_reply_.empty()) {
    ws_out_.Append(ws_reply_);
    MarkDirty();
  }
  if (step.upgraded_now) OnWebsocketUpgraded();
  if (!ws_data_.empty() && !closing_) TakeProtocolInput(ws_data_.data(), ws_data_.size());
  if (step.close && !closing_) {
    LOG_DEBUG("%s - %s", LogLabel().c_str(), step.reason.c_str());
    Close(CloseReason::kClientClosed, true);
  }
}

bool SocketConnection::FrameQueued(uint64_t limit) {
  if (!ws_->upgraded() || limit == 0 || out_.empty()) return false;
  const uint64_t wanted = std::min<uint64_t>(limit, out_.pending_bytes());
  iovec iov[io::IoConn::kMaxIov];
  const int count = out_.FillIovecs(iov, io::IoConn::kMaxIov, limit);
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  if (total == 0) return false;
  if (ws_->compresses(total)) {
    ws_flush_.clear();
    for (int i = 0; i < count; ++i) {
      ws_flush_.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    }
    ws_frames_.clear();
    ws_->AppendCompressed(ws_flush_, &ws_frames_);
    ws_out_.Append(ws_frames_);
    out_.Consume(total);
    return total < wanted;
  }
  // One frame per flush, as nats-server sends them; a browser's are cut at 4 KiB.
  const std::size_t max_frame = ws_->max_frame() == 0 ? total : ws_->max_frame();
  std::string header;
  std::size_t left_in_frame = 0;
  std::size_t remaining = total;
  for (int i = 0; i < count; ++i) {
    std::string_view piece(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    while (!piece.empty()) {
      if (left_in_frame == 0) {
        left_in_frame = std::min(max_frame, remaining);
        header.clear();
        ws_->FrameHeader(left_in_frame, &header);
        ws_out_.Append(header);
      }
      const std::size_t n = std::min(left_in_frame, piece.size());
      ws_out_.Append(piece.substr(0, n));
      piece.remove_prefix(n);
      left_in_frame -= n;
      remaining -= n;
    }
  }
  out_.Consume(total);
  return total < wanted;  // stopped at the iovec limit, not at `limit`: more to frame
}

void SocketConnection::TakeProtocolInput(const char* data, std::size_t len) {
  if (closing_) return;
  if (LogEnabled(LogLevel::kTrace)) {
    LOG_TRACE("%s - <<- [%.*s]", LogLabel().c_str(),
              static_cast<int>(std::min<std::size_t>(len, 512)), data);
  }
  if (stalled_) {  // bytes the kernel had handed over before reading was paused
    held_input_.append(data, len);
    return;
  }
  const std::size_t used = FeedInput(data, len);
  if (used < len && !closing_) held_input_.append(data + used, len - used);
}

void SocketConnection::ReceiveBytes(const char* data, std::size_t len) {
  if (tls_ == nullptr) return TakeInput(data, len);
  std::string error;
  tls_plain_.clear();
  if (!tls_->Receive(std::string_view(data, len), &tls_plain_, &error)) {
    LOG_ERROR("%s - TLS handshake error: %s", LogLabel().c_str(), error.c_str());
    Close(CloseReason::kTlsHandshakeError, false);
    return;
  }
  if (tls_->has_output()) MarkDirty();
  if (tls_->handshake_done() && !tls_established_) {
    tls_established_ = true;
    LOG_DEBUG("%s - TLS handshake complete (%s, %s)", LogLabel().c_str(), tls_->version().c_str(),
              tls_->cipher().c_str());
    OnTlsEstablished();
    if (closing_) return;
  }
  if (!tls_plain_.empty()) TakeInput(tls_plain_.data(), tls_plain_.size());
}

bool SocketConnection::StartTls(std::shared_ptr<const tls::TlsContext> context, bool client,
                                const std::string& host) {
  if (!client) {
    tls_ = std::make_unique<tls::TlsSession>(std::move(context));
    return true;
  }
  tls_ = std::make_unique<tls::TlsSession>(std::move(context), host);
  std::string error;
  if (!tls_->Start(&error)) {
    LOG_ERROR("%s - TLS handshake error: %s", LogLabel().c_str(), error.c_str());
    Close(CloseReason::kTlsHandshakeError, false);
    return false;
  }
  MarkDirty();
  return true;
}

void SocketConnection::MarkDirty() {
  if (!dirty) {
    dirty = true;
    shard_->MarkDirty(this);
  }
}

bool SocketConnection::SendQueued(uint64_t limit) {
  OutboundQueue* wire = &out_;
  bool more_to_frame = false;
  if (ws_ != nullptr) {
    more_to_frame = FrameQueued(limit);
    if (!ws_close_.empty() && out_.empty()) {
      ws_out_.Append(ws_close_);
      ws_close_.clear();
    }
    wire = &ws_out_;
    limit = UINT64_MAX;  // the frames go whole; the limit applied to the protocol bytes
  }
  if (tls_ != nullptr) {
    std::string error;
    if (!EncryptQueued(tls_.get(), wire, limit, &cipher_, &tls_scratch_, &error)) {
      LOG_ERROR("%s - %s", LogLabel().c_str(), error.c_str());
      Close(CloseReason::kWriteError, false);
      return false;
    }
    wire = &cipher_;
    limit = UINT64_MAX;  // the ciphertext goes whole; the limit applied to the plaintext
  }
  if (limit == 0 || wire->empty()) return false;
  io_->iov_count = wire->FillIovecs(io_->iov, io::IoConn::kMaxIov, limit);
  if (io_->iov_count == 0) return false;
  send_started_ns_ = shard_->now_ns();
  shard_->Send(io_);
  // More plaintext than one pass encrypted: come back next turn (not while the handshake
  // holds it back, which would spin).
  // (With WebSocket, protocol bytes not framed yet wait for the upgrade or a released
  // hold; more_to_frame says when they can go.)
  if (tls_ != nullptr && tls_->handshake_done() && (ws_ ? !ws_out_.empty() : !out_.empty())) {
    MarkDirty();
  }
  if (more_to_frame) MarkDirty();
  return true;
}

}  // namespace tern::core
