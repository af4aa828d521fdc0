#pragma once
// TlsConfig and TlsContext: the server's TLS settings (the `tls {}` block and --tls*
// flags, in nats-server's forms) and the OpenSSL context built from them once, at start
// or reload. A TlsContext is immutable and shared by every shard (OpenSSL allows SSL_new
// on one SSL_CTX from many threads).
#include <cstdint>
#include <memory>
#include <string>

#include "core/conf.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace tern::core::tls {

struct TlsConfig {
  std::string cert_file, key_file, ca_file;
  bool verify = false;          // clients must present a certificate the CA signed
  bool verify_and_map = false;  // ... and it names the user (no password)
  int64_t timeout_ns = int64_t{2} * 1'000'000'000;  // handshake deadline
  std::string min_version;                          // "1.2" (default) or "1.3"
  std::string cipher_suites;  // OpenSSL cipher list for TLS 1.2; empty = OpenSSL's
  // The client starts the handshake before the server says anything; INFO then goes out
  // encrypted (the clients' "TLS first" option).
  bool handshake_first = false;
  // A context that only connects out (a leafnode remote): a certificate is optional, the
  // server's is checked against ca_file or the system's roots unless `insecure`.
  bool client_only = false;
  bool insecure = false;
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// Reads `tls { cert_file, key_file, ca_file, verify, timeout, min_version, cipher_suites }`.
// `client_only`: the block of a connection this server makes (cert_file optional,
// `insecure` honoured).
bool ParseTlsBlock(const ConfValue& block, TlsConfig* config, std::string* error,
                   bool client_only = false);

class TlsContext {
 public:
  // Loads certificate, key and CA; false with *error naming the file and OpenSSL's reason.
  // `both_roles`: sessions may also connect out (routes dial their peers with it).
  static std::shared_ptr<TlsContext> Create(const TlsConfig& config, std::string* error,
                                            bool both_roles = false);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ssl_ctx() const { return ctx_; }
  const TlsConfig& config() const { return config_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  TlsConfig config_;
};

// OpenSSL's error queue as text (and emptied).
std::string OpenSslErrors();

}  // namespace tern::core::tls
