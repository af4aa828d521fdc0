#include "core/socket_connection.h"

#include <algorithm>
#include <cstring>

#include "core/log.h"
#include "core/tls_output.h"

namespace tern::core {

SocketConnection::SocketConnection(ConnectionKind kind, uint64_t id, ShardPort* shard)
    : Connection(kind, id),
      shard_(shard),
      stats_(&shard->stats()),
      out_(&shard->chunk_pool()),
      cipher_(&shard->chunk_pool()) {}

void SocketConnection::OnSendDone(int result) {
  if (result < 0) {
    LOG_DEBUG("%s - write error: %s", LogLabel().c_str(), strerror(-result));
    Close(CloseReason::kWriteError, false);
    return;
  }
  (tls_ ? cipher_ : out_).Consume(static_cast<std::size_t>(result));
  send_started_ns_ = 0;
  if (!out_.empty() || !cipher_.empty()) MarkDirty();
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

void SocketConnection::TakeInput(const char* data, std::size_t len) {
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
  if (tls_ != nullptr) {
    std::string error;
    if (!EncryptQueued(tls_.get(), &out_, limit, &cipher_, &tls_scratch_, &error)) {
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
  if (tls_ != nullptr && !out_.empty() && tls_->handshake_done()) MarkDirty();
  return true;
}

}  // namespace tern::core
