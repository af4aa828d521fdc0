// Client: the TLS side of sending (see core/tls/). Plaintext frames are queued in out_ as
// on any connection; once per flush they are encrypted into cipher_, which is what the
// reactor sends.
#include "core/client.h"
#include "core/log.h"

namespace tern::core {

void Client::FlushTls(uint64_t limit) {
  if (tls_->handshake_done() && limit > 0 && !out_.empty()) {
    iovec iov[io::IoConn::kMaxIov];
    const int count = out_.FillIovecs(iov, io::IoConn::kMaxIov, limit);
    std::size_t encrypted = 0;
    std::string error;
    for (int i = 0; i < count; ++i) {
      if (!tls_->Send(std::string_view(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len),
                      &error)) {
        LOG_ERROR("%s:%d - cid:%lu - %s", ip_.c_str(), port_, static_cast<unsigned long>(id_),
                  error.c_str());
        Close(CloseReason::kWriteError, false);
        return;
      }
      encrypted += iov[i].iov_len;
    }
    out_.Consume(encrypted);
  }
  tls_->TakeOutput(&tls_scratch_);
  if (!tls_scratch_.empty()) {
    cipher_.Append(tls_scratch_);
    tls_scratch_.clear();
  }
  if (cipher_.empty()) return;
  io_->iov_count = cipher_.FillIovecs(io_->iov, io::IoConn::kMaxIov, UINT64_MAX);
  if (io_->iov_count == 0) return;
  send_started_ns_ = shard_->now_ns();
  shard_->Send(io_);
  ArmTimer();  // the write deadline
  // More plaintext than one pass encrypted: come back next turn.
  if (!out_.empty() && limit > 0) MarkDirty();
}

}  // namespace tern::core
