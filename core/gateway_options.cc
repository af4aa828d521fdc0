#include "core/gateway_options.h"

#include "core/units.h"

namespace tern::core {
namespace {

bool ParsePortText(const std::string& text, int* port) {
  int64_t value = 0;
  if (!ParseInteger(text, &value) || value < -1 || value > 65535) return false;
  *port = static_cast<int>(value);
  return true;
}

bool ParseRemote(const ConfValue& v, RemoteGateway* remote, std::string* error) {
  if (v.type != ConfValue::Type::kMap) return ConfFail(v, "'gateways' expects blocks", error);
  for (const auto& [k, a] : v.map) {
    if (k == "name") {
      if (!ConfString(a, k, &remote->name, error)) return false;
    } else if (k == "url" || k == "urls") {
      for (const ConfValue* item : ConfItems(a)) {
        std::string text;
        if (!ConfString(*item, k, &text, error)) return false;
        RouteUrl url;
        if (!ParseRouteUrl(text, &url)) {
          return ConfFail(*item, "invalid gateway URL \"" + text + "\"", error);
        }
        remote->urls.push_back(url);
        remote->url_texts.push_back(text);
      }
    } else if (k == "tls") {
      if (!tls::ParseTlsBlock(a, &remote->tls, error, /*client_only=*/true)) return false;
      remote->tls_context = tls::TlsContext::Create(remote->tls, error);
      if (remote->tls_context == nullptr) {
        *error = a.Where() + ": gateway " + *error;
        return false;
      }
    } else {
      return ConfFail(a, "unknown gateway remote option '" + k + "'", error);
    }
  }
  if (remote->name.empty()) return ConfFail(v, "gateway without a 'name'", error);
  if (remote->urls.empty()) {
    return ConfFail(v, "gateway \"" + remote->name + "\" has no 'url' or 'urls'", error);
  }
  return true;
}

}  // namespace

bool ParseGatewayBlock(const ConfValue& block, GatewayOptions* out,
                       std::vector<std::string>* warnings, std::string* error) {
  if (block.type != ConfValue::Type::kMap)
    return ConfFail(block, "'gateway' expects a block", error);
  bool has_port = false;
  for (const auto& [key, v] : block.map) {
    std::string text;
    if (key == "name") {
      if (!ConfString(v, key, &out->name, error)) return false;
      if (out->name.find(' ') != std::string::npos) {
        return ConfFail(v, "gateway name cannot contain spaces", error);
      }
    } else if (key == "listen") {
      if (!ConfString(v, key, &text, error)) return false;
      const auto colon = text.rfind(':');
      if (!ParsePortText(colon == std::string::npos ? text : text.substr(colon + 1), &out->port)) {
        return ConfFail(v, "bad gateway listen address", error);
      }
      if (colon != std::string::npos && colon > 0) out->host = text.substr(0, colon);
      has_port = true;
    } else if (key == "host" || key == "net") {
      if (!ConfString(v, key, &out->host, error)) return false;
    } else if (key == "port") {
      if (!ConfString(v, key, &text, error)) return false;
      if (!ParsePortText(text, &out->port)) return ConfFail(v, "bad gateway port", error);
      has_port = true;
    } else if (key == "advertise" || key == "gateway_advertise") {
      if (!ConfString(v, key, &out->advertise, error)) return false;
    } else if (key == "reject_unknown" || key == "reject_unknown_cluster") {
      if (v.type != ConfValue::Type::kBool) {
        return ConfFail(v, "'" + key + "' expects true or false", error);
      }
      out->reject_unknown = v.boolean;
    } else if (key == "authorization") {
      if (v.type != ConfValue::Type::kMap) {
        return ConfFail(v, "gateway 'authorization' expects a block", error);
      }
      for (const auto& [k, a] : v.map) {
        if (k == "user" || k == "username") {
          if (!ConfString(a, k, &out->user, error)) return false;
        } else if (k == "password" || k == "pass") {
          if (!ConfString(a, k, &out->password, error)) return false;
        } else if (k == "timeout") {
          if (a.type == ConfValue::Type::kInteger && a.integer >= 0) {
            out->auth_timeout_ns = a.integer * 1'000'000'000;
          } else if (a.type == ConfValue::Type::kFloat && a.number >= 0) {
            out->auth_timeout_ns = static_cast<int64_t>(a.number * 1e9);
          } else if (a.type != ConfValue::Type::kString ||
                     !ParseDuration(a.text, &out->auth_timeout_ns)) {
            return ConfFail(a, "gateway authorization 'timeout' expects seconds", error);
          }
        } else {
          return ConfFail(a, "gateway authorization '" + k + "' is not supported yet", error);
        }
      }
    } else if (key == "gateways") {
      for (const ConfValue* item : ConfItems(v)) {
        RemoteGateway remote;
        if (!ParseRemote(*item, &remote, error)) return false;
        out->gateways.push_back(std::move(remote));
      }
    } else if (key == "tls") {
      if (!tls::ParseTlsBlock(v, &out->tls, error)) return false;
      if (!out->tls.enabled())
        return ConfFail(v, "gateway tls needs cert_file and key_file", error);
      out->tls_context = tls::TlsContext::Create(out->tls, error, /*both_roles=*/true);
      if (out->tls_context == nullptr) {
        *error = v.Where() + ": gateway " + *error;
        return false;
      }
    } else if (key == "connect_retries") {
      warnings->push_back(v.Where() + ": gateway option '" + key +
                          "' is not implemented yet and is ignored (gateways are redialled)");
    } else {
      return ConfFail(v, "unknown gateway option '" + key + "'", error);
    }
  }
  if (out->name.empty()) return ConfFail(block, "gateway has no 'name'", error);
  if (!has_port) return ConfFail(block, "gateway has no 'listen' or 'port'", error);
  out->enabled = true;
  return true;
}

}  // namespace tern::core
