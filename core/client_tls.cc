// Client: the TLS side of sending (see core/tls/). Plaintext frames are queued in out_ as
// on any connection; once per flush they are encrypted into cipher_, which is what the
// reactor sends.
#include "core/client.h"
#include "core/log.h"
#include "core/tls_output.h"

namespace tern::core {

void Client::FlushTls(uint64_t limit) {
  std::string error;
  if (!EncryptQueued(tls_.get(), &out_, limit, &cipher_, &tls_scratch_, &error)) {
    LOG_ERROR("%s:%d - cid:%lu - %s", ip_.c_str(), port_, static_cast<unsigned long>(id_),
              error.c_str());
    Close(CloseReason::kWriteError, false);
    return;
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
