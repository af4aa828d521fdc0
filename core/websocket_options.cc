#include "core/websocket_options.h"

#include "core/cluster_options.h"
#include "core/units.h"

namespace tern::core {
namespace {

bool ParseBool(const ConfValue& v, const std::string& key, bool* out, std::string* error) {
  if (v.type != ConfValue::Type::kBool) {
    return ConfFail(v, "websocket '" + key + "' expects true or false", error);
  }
  *out = v.boolean;
  return true;
}

}  // namespace

bool ParseWebsocketBlock(const ConfValue& block, WebsocketOptions* out,
                         std::vector<std::string>* warnings, std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "'websocket' expects a block", error);
  }
  bool has_port = false;
  const ConfValue* tls_block = nullptr;
  for (const auto& [key, v] : block.map) {
    std::string text;
    const ListenKey listen =
        ReadListenKey(key, v, "websocket", &out->host, &out->port, &has_port, error);
    if (listen == ListenKey::kFailed) return false;
    if (listen == ListenKey::kRead) {
      // listen, host, port
    } else if (key == "advertise") {
      if (!ConfString(v, key, &out->advertise, error)) return false;
    } else if (key == "no_tls") {
      if (!ParseBool(v, key, &out->no_tls, error)) return false;
    } else if (key == "tls") {
      if (!tls::ParseTlsBlock(v, &out->tls, error)) return false;
      tls_block = &v;
    } else if (key == "same_origin") {
      if (!ParseBool(v, key, &out->policy.same_origin, error)) return false;
    } else if (key == "allowed_origins" || key == "allowed_origin" || key == "allow_origins" ||
               key == "allow_origin" || key == "origins" || key == "origin") {
      for (const ConfValue* item : ConfItems(v)) {
        if (!ConfString(*item, key, &text, error)) return false;
        out->policy.allowed_origins.push_back(text);
      }
    } else if (key == "compression" || key == "compress") {
      if (!ParseBool(v, key, &out->policy.compression, error)) return false;
    } else if (key == "handshake_timeout") {
      if (v.type == ConfValue::Type::kInteger && v.integer >= 0) {
        out->handshake_timeout_ns = v.integer * 1'000'000'000;
      } else if (v.type != ConfValue::Type::kString ||
                 !ParseDuration(v.text, &out->handshake_timeout_ns)) {
        return ConfFail(v, "websocket 'handshake_timeout' expects seconds or a duration", error);
      }
    } else if (key == "authorization" || key == "authentication") {
      if (!out->auth.ParseBlock(v, "websocket", error)) return false;
    } else if (key == "no_auth_user") {
      if (!ConfString(v, key, &out->auth.no_auth_user, error)) return false;
    } else if (key == "jwt_cookie") {
      if (!ConfString(v, key, &out->jwt_cookie, error)) return false;
    } else {
      return ConfFail(v, "unknown websocket option '" + key + "'", error);
    }
  }
  if (!has_port) return true;
  if (tls_block == nullptr && !out->no_tls) {
    return ConfFail(block, "websocket requires TLS configuration", error);
  }
  if (tls_block != nullptr) {
    out->tls_context = tls::TlsContext::Create(out->tls, error);
    if (out->tls_context == nullptr) {
      *error = tls_block->Where() + ": websocket " + *error;
      return false;
    }
    out->policy.tls = true;
  }
  out->enabled = true;
  return true;
}

bool ResolveWebsocketAuth(const auth::AuthConfig& server, WebsocketOptions* ws,
                          std::string* error) {
  ws->auth.effective.reset();
  if (!ws->enabled) return true;
  if (!ws->jwt_cookie.empty() && !server.op.enabled()) {
    *error =
        "trusted operators or trusted keys configuration is required for JWT "
        "authentication via cookie \"" +
        ws->jwt_cookie + "\"";
    return false;
  }
  return ws->auth.Resolve(server, "websocket", error);
}

}  // namespace tern::core
