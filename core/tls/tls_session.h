#pragma once
// TlsSession: one connection's TLS state machine over memory buffers, so that the socket
// I/O stays with the shard's reactor (io_uring or epoll): ciphertext from the socket goes
// in, plaintext for the parser comes out; plaintext to send goes in, ciphertext for the
// socket comes out. Ownership: the connection's Client, on its shard.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tls/tls_context.h"

typedef struct ssl_st SSL;

namespace tern::core::tls {

class TlsSession {
 public:
  explicit TlsSession(std::shared_ptr<const TlsContext> context);
  // The connecting side (a route this node dials): the peer's certificate is checked
  // against the context's CA and must name `host` (a DNS name or an IP address). Start()
  // then produces the first handshake message.
  TlsSession(std::shared_ptr<const TlsContext> context, const std::string& host);
  bool Start(std::string* error);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext from the peer; appends the plaintext it yields to *plain. False (with
  // *error) when the session failed (bad handshake, bad certificate, corrupt record).
  bool Receive(std::string_view cipher, std::string* plain, std::string* error);
  // Encrypts plaintext; the records wait in the session until TakeOutput().
  bool Send(std::string_view plain, std::string* error);
  // Moves the ciphertext waiting to go out (handshake messages, records) into *out.
  void TakeOutput(std::string* out);
  bool has_output() const;

  bool handshake_done() const { return handshake_done_; }
  std::string version() const;
  std::string cipher() const;
  // What the client's certificate says it is, in the order verify_and_map tries them
  // (as nats-server): e-mail, DNS and URI names, then the subject in RFC 2253 form.
  std::vector<std::string> PeerIdentities() const;

 private:
  bool Handshake(std::string* error);

  std::shared_ptr<const TlsContext> context_;  // outlives ssl_
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
};

}  // namespace tern::core::tls
