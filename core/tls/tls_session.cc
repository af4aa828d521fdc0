#include "core/tls/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace tern::core::tls {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

}  // namespace

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context) : context_(std::move(context)) {
  ssl_ = SSL_new(context_->ssl_ctx());
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);  // "no data yet", not end of file
  SSL_set_bio(ssl_, in, out);      // the SSL owns both from here
  SSL_set_accept_state(ssl_);
}

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context, const std::string& host)
    : TlsSession(std::move(context)) {
  SSL_set_connect_state(ssl_);
  const TlsConfig& config = context_->config();
  if (!config.ca_file.empty() || (config.client_only && !config.insecure)) {
    SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      SSL_set1_host(ssl_, host.c_str());
      SSL_set_tlsext_host_name(ssl_, host.c_str());
    }
  }
}

bool TlsSession::Start(std::string* error) {
  ERR_clear_error();
  return Handshake(error);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::Handshake(std::string* error) {
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    return true;
  }
  const int reason = SSL_get_error(ssl_, rc);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) return true;
  *error = "TLS handshake error: " + OpenSslErrors();
  return false;
}

bool TlsSession::Receive(std::string_view cipher, std::string* plain, std::string* error) {
  ERR_clear_error();
  if (!cipher.empty() &&
      BIO_write(SSL_get_rbio(ssl_), cipher.data(), static_cast<int>(cipher.size())) !=
          static_cast<int>(cipher.size())) {
    *error = "TLS: cannot buffer input";
    return false;
  }
  if (!handshake_done_ && (!Handshake(error) || !handshake_done_)) return error->empty();
  char buffer[kReadChunk];
  while (true) {
    const int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n > 0) {
      plain->append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    const int reason = SSL_get_error(ssl_, n);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) return true;
    if (reason == SSL_ERROR_ZERO_RETURN) return true;  // close_notify: the socket end follows
    *error = "TLS error: " + OpenSslErrors();
    return false;
  }
}

bool TlsSession::Send(std::string_view plain, std::string* error) {
  ERR_clear_error();
  while (!plain.empty()) {
    const int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) {
      *error = "TLS write error: " + OpenSslErrors();
      return false;
    }
    plain.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool TlsSession::has_output() const { return BIO_ctrl_pending(SSL_get_wbio(ssl_)) > 0; }

void TlsSession::TakeOutput(std::string* out) {
  BIO* wbio = SSL_get_wbio(ssl_);
  const std::size_t pending = BIO_ctrl_pending(wbio);
  if (pending == 0) return;
  const std::size_t at = out->size();
  out->resize(at + pending);
  const int n = BIO_read(wbio, out->data() + at, static_cast<int>(pending));
  out->resize(at + (n > 0 ? static_cast<std::size_t>(n) : 0));
}

std::vector<std::string> TlsSession::PeerIdentities() const {
  std::vector<std::string> out;
  X509* cert = handshake_done_ ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (cert == nullptr) return out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int kind : {GEN_EMAIL, GEN_DNS, GEN_URI}) {
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != kind) continue;
      const ASN1_IA5STRING* text = name->d.ia5;  // rfc822Name, dNSName, uniformResourceIdentifier
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                       static_cast<std::size_t>(ASN1_STRING_length(text)));
    }
  }
  GENERAL_NAMES_free(names);
  BIO* bio = BIO_new(BIO_s_mem());
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0) out.emplace_back(data, static_cast<std::size_t>(len));
  }
  BIO_free(bio);
  return out;
}

std::string TlsSession::version() const { return handshake_done_ ? SSL_get_version(ssl_) : ""; }

std::string TlsSession::cipher() const { return handshake_done_ ? SSL_get_cipher_name(ssl_) : ""; }

}  // namespace tern::core::tls
