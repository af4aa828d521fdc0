#include "core/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/units.h"

namespace tern::core::tls {
namespace {

bool Fail(const ConfValue& v, const std::string& what, std::string* error) {
  *error = v.Where() + ": " + what;
  return false;
}

}  // namespace

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char line[256];
    ERR_error_string_n(code, line, sizeof(line));
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

bool ParseTlsBlock(const ConfValue& block, TlsConfig* config, std::string* error,
                   bool client_only) {
  config->client_only = client_only;
  if (block.type != ConfValue::Type::kMap) return Fail(block, "'tls' expects a block", error);
  for (const auto& [key, v] : block.map) {
    const bool text = v.type == ConfValue::Type::kString;
    if (key == "cert_file" || key == "key_file" || key == "ca_file") {
      if (!text) return Fail(v, "'" + key + "' expects a file name", error);
      (key == "cert_file"  ? config->cert_file
       : key == "key_file" ? config->key_file
                           : config->ca_file) = v.text;
    } else if (key == "verify") {
      if (v.type != ConfValue::Type::kBool) return Fail(v, "'verify' expects true or false", error);
      config->verify = v.boolean;
    } else if (key == "timeout") {
      if (v.type == ConfValue::Type::kInteger || v.type == ConfValue::Type::kFloat) {
        const double seconds =
            v.type == ConfValue::Type::kInteger ? static_cast<double>(v.integer) : v.number;
        if (!SecondsToNs(seconds, &config->timeout_ns) || config->timeout_ns == 0) {
          return Fail(v, "'timeout' must be a positive number of seconds", error);
        }
      } else if (!text || !ParseDuration(v.text, &config->timeout_ns)) {
        return Fail(v, "'timeout' expects seconds or a duration", error);
      }
    } else if (key == "min_version") {
      if (!text || (v.text != "1.2" && v.text != "1.3")) {
        return Fail(v, "'min_version' expects \"1.2\" or \"1.3\"", error);
      }
      config->min_version = v.text;
    } else if (key == "cipher_suites") {
      if (v.type != ConfValue::Type::kArray)
        return Fail(v, "'cipher_suites' expects a list", error);
      for (const ConfValue& suite : v.array) {
        if (!config->cipher_suites.empty()) config->cipher_suites += ":";
        config->cipher_suites += suite.text;
      }
    } else if (key == "handshake_first" || key == "first") {
      if (v.type != ConfValue::Type::kBool) {
        // nats-server also takes a delay after which it falls back to INFO first.
        return Fail(v,
                    "'handshake_first' expects true or false (a fallback delay is not supported)",
                    error);
      }
      config->handshake_first = v.boolean;
    } else if (key == "verify_and_map") {
      if (v.type != ConfValue::Type::kBool)
        return Fail(v, "'verify_and_map' expects true/false", error);
      config->verify_and_map = v.boolean;
      if (v.boolean) config->verify = true;
    } else if (key == "verify_cert_and_check_known_urls" || key == "pinned_certs" ||
               key == "ocsp_peer" || key == "cert_store" || key == "cert_match") {
      return Fail(v, "tls option '" + key + "' is not supported yet; refusing to start without it",
                  error);
    } else if (key == "insecure" && client_only) {
      if (v.type != ConfValue::Type::kBool) {
        return Fail(v, "'insecure' expects true or false", error);
      }
      config->insecure = v.boolean;
    } else if (key == "curve_preferences" || key == "insecure") {
      // Accepted for compatibility; OpenSSL's defaults apply.
    } else {
      return Fail(v, "unknown tls option '" + key + "'", error);
    }
  }
  if (client_only ? config->cert_file.empty() != config->key_file.empty()
                  : config->cert_file.empty() || config->key_file.empty()) {
    return Fail(block,
                client_only ? "'tls' needs both cert_file and key_file, or neither"
                            : "'tls' needs cert_file and key_file",
                error);
  }
  if (config->verify && config->ca_file.empty()) {
    return Fail(block, "'verify' needs ca_file to check client certificates against", error);
  }
  return true;
}

std::shared_ptr<TlsContext> TlsContext::Create(const TlsConfig& config, std::string* error,
                                               bool both_roles) {
  std::shared_ptr<TlsContext> context(new TlsContext);
  context->config_ = config;
  SSL_CTX* ctx = SSL_CTX_new(config.client_only ? TLS_client_method()
                             : both_roles       ? TLS_method()
                                                : TLS_server_method());
  context->ctx_ = ctx;
  if (ctx == nullptr) {
    *error = "TLS: " + OpenSslErrors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, config.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  if (config.client_only && config.ca_file.empty()) SSL_CTX_set_default_verify_paths(ctx);
  if (config.client_only && config.cert_file.empty()) {
    // no certificate of its own to present
  } else if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    *error = "TLS: cannot load certificate " + config.cert_file + ": " + OpenSslErrors();
    return nullptr;
  }
  if (!config.key_file.empty() &&
      (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(ctx) != 1)) {
    *error = "TLS: cannot load key " + config.key_file + ": " + OpenSslErrors();
    return nullptr;
  }
  if (!config.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
    *error = "TLS: cannot load CA " + config.ca_file + ": " + OpenSslErrors();
    return nullptr;
  }
  if (!config.cipher_suites.empty() &&
      SSL_CTX_set_cipher_list(ctx, config.cipher_suites.c_str()) != 1) {
    *error = "TLS: no usable cipher in \"" + config.cipher_suites + "\": " + OpenSslErrors();
    return nullptr;
  }
  if (config.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return context;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

}  // namespace tern::core::tls
