#pragma once
// EncryptQueued: the TLS side of a connection's output, shared by the kinds that speak TLS
// (clients, routes). Plaintext frames wait in one OutboundQueue; once per flush they are
// encrypted (up to a limit: a held PONG) and the session's records appended to the
// ciphertext queue the reactor sends. Pure function of its arguments; called on the
// connection's shard.
#include <cstdint>
#include <string>

#include "core/outbound.h"
#include "core/tls/tls_session.h"

namespace tern::core {

// False with *error if the session refused to encrypt. `scratch` is reused between calls.
bool EncryptQueued(tls::TlsSession* tls, OutboundQueue* plain, uint64_t limit,
                   OutboundQueue* cipher, std::string* scratch, std::string* error);

}  // namespace tern::core
