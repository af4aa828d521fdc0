#include "core/tls_output.h"

#include "io/reactor.h"

namespace tern::core {

bool EncryptQueued(tls::TlsSession* tls, OutboundQueue* plain, uint64_t limit,
                   OutboundQueue* cipher, std::string* scratch, std::string* error) {
  if (tls->handshake_done() && limit > 0 && !plain->empty()) {
    iovec iov[io::IoConn::kMaxIov];
    const int count = plain->FillIovecs(iov, io::IoConn::kMaxIov, limit);
    std::size_t encrypted = 0;
    for (int i = 0; i < count; ++i) {
      if (!tls->Send(std::string_view(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len),
                     error)) {
        return false;
      }
      encrypted += iov[i].iov_len;
    }
    plain->Consume(encrypted);
  }
  tls->TakeOutput(scratch);
  if (!scratch->empty()) {
    cipher->Append(*scratch);
    scratch->clear();
  }
  return true;
}

}  // namespace tern::core
