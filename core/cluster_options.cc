#include "core/cluster_options.h"

#include "core/auth/auth_config.h"
#include "core/units.h"

namespace tern::core {
namespace {

bool ParsePort(const std::string& text, int* port) {
  int64_t value = 0;
  if (!ParseInteger(text, &value) || value < -1 || value > 65535) return false;
  *port = static_cast<int>(value);
  return true;
}

}  // namespace

bool ParseHostPort(const std::string& text, std::string* host, int* port) {
  const auto colon = text.rfind(':');
  if (!ParsePort(colon == std::string::npos ? text : text.substr(colon + 1), port)) return false;
  if (colon != std::string::npos && colon > 0) {
    std::string h = text.substr(0, colon);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    *host = h;
  }
  return true;
}

ListenKey ReadListenKey(const std::string& key, const ConfValue& v, const std::string& listener,
                        std::string* host, int* port, bool* has_port, std::string* error) {
  std::string text;
  if (key == "listen") {
    if (!ConfString(v, key, &text, error)) return ListenKey::kFailed;
    if (!ParseHostPort(text, host, port)) {
      ConfFail(v, "bad " + listener + " listen address", error);
      return ListenKey::kFailed;
    }
    *has_port = true;
  } else if (key == "host" || key == "net") {
    if (!ConfString(v, key, host, error)) return ListenKey::kFailed;
  } else if (key == "port") {
    std::string ignored;
    if (!ConfString(v, key, &text, error)) return ListenKey::kFailed;
    if (!ParseHostPort(text, &ignored, port)) {
      ConfFail(v, "bad " + listener + " port", error);
      return ListenKey::kFailed;
    }
    *has_port = true;
  } else {
    return ListenKey::kOther;
  }
  return ListenKey::kRead;
}

bool ParseRouteUrl(const std::string& text, RouteUrl* out) {
  std::string rest = text;
  const auto scheme = rest.find("://");
  if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    out->user = userinfo.substr(0, colon);
    if (colon != std::string::npos) out->password = userinfo.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  if (!ParseHostPort(rest, &out->host, &out->port)) return false;
  return !out->host.empty() && out->port > 0;
}

bool ParseClusterListen(const std::string& url, ClusterOptions* out, std::string* error) {
  std::string rest = url;
  const auto scheme = rest.find("://");
  if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto at = rest.rfind('@');
  if (at != std::string::npos) {  // --cluster nats://user:pass@host:port sets route auth
    const std::string userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    out->user = userinfo.substr(0, colon);
    if (colon != std::string::npos) out->password = userinfo.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  if (!ParseHostPort(rest, &out->host, &out->port)) {
    *error = "invalid cluster listen address \"" + url + "\"";
    return false;
  }
  out->enabled = true;
  return true;
}

bool ParseRouteList(const std::string& list, ClusterOptions* out, std::string* error) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string url = list.substr(start, comma - start);
    while (!url.empty() && url.front() == ' ') url.erase(0, 1);
    while (!url.empty() && url.back() == ' ') url.pop_back();
    if (!url.empty()) {
      RouteUrl parsed;
      if (!ParseRouteUrl(url, &parsed)) {
        *error = "invalid route URL \"" + url + "\"";
        return false;
      }
      out->routes.push_back(url);
    }
    start = comma + 1;
  }
  return true;
}

bool ParseClusterBlock(const ConfValue& block, ClusterOptions* out,
                       std::vector<std::string>* warnings, std::string* error) {
  if (block.type != ConfValue::Type::kMap)
    return ConfFail(block, "'cluster' expects a block", error);
  bool has_port = false;
  for (const auto& [key, v] : block.map) {
    std::string text;
    if (key == "name") {
      if (!ConfString(v, key, &out->name, error)) return false;
      if (out->name.find(' ') != std::string::npos) {
        return ConfFail(v, "cluster name cannot contain spaces", error);
      }
    } else if (key == "listen") {
      if (!ConfString(v, key, &text, error)) return false;
      if (!ParseHostPort(text, &out->host, &out->port)) {
        return ConfFail(v, "bad cluster listen address", error);
      }
      has_port = true;
    } else if (key == "host" || key == "net") {
      if (!ConfString(v, key, &out->host, error)) return false;
    } else if (key == "port") {
      if (!ConfString(v, key, &text, error)) return false;
      if (!ParsePort(text, &out->port)) return ConfFail(v, "bad cluster port", error);
      has_port = true;
    } else if (key == "advertise" || key == "cluster_advertise") {
      if (!ConfString(v, key, &out->advertise, error)) return false;
    } else if (key == "no_advertise") {
      if (v.type != ConfValue::Type::kBool)
        return ConfFail(v, "'no_advertise' expects true or false", error);
      out->no_advertise = v.boolean;
    } else if (key == "connect_retries") {
      if (v.type != ConfValue::Type::kInteger || v.integer < 0) {
        return ConfFail(v, "'connect_retries' expects a number of attempts", error);
      }
      out->connect_retries = static_cast<int>(v.integer);
    } else if (key == "routes") {
      for (const ConfValue* item : ConfItems(v)) {
        if (!ConfString(*item, key, &text, error)) return false;
        RouteUrl parsed;
        if (!ParseRouteUrl(text, &parsed)) {
          return ConfFail(*item, "invalid route URL \"" + text + "\"", error);
        }
        out->routes.push_back(text);
      }
    } else if (key == "authorization") {
      if (v.type != ConfValue::Type::kMap) {
        return ConfFail(v, "cluster 'authorization' expects a block", error);
      }
      for (const auto& [k, a] : v.map) {
        if (k == "user" || k == "username") {
          if (!ConfString(a, k, &out->user, error)) return false;
        } else if (k == "password" || k == "pass") {
          if (!ConfString(a, k, &out->password, error)) return false;
        } else if (k == "timeout") {
          double seconds = a.type == ConfValue::Type::kInteger ? static_cast<double>(a.integer)
                           : a.type == ConfValue::Type::kFloat ? a.number
                                                               : -1;
          if (seconds < 0 && a.type == ConfValue::Type::kString &&
              ParseDuration(a.text, &out->auth_timeout_ns)) {
            continue;
          }
          if (seconds < 0)
            return ConfFail(a, "cluster authorization 'timeout' expects seconds", error);
          out->auth_timeout_ns = static_cast<int64_t>(seconds * 1e9);
        } else {
          return ConfFail(
              a,
              "cluster authorization '" + k + "' is not supported (user, password and timeout are)",
              error);
        }
      }
    } else if (key == "tls") {
      if (!tls::ParseTlsBlock(v, &out->tls, error)) return false;
      if (!out->tls.enabled()) {
        return ConfFail(v, "cluster tls needs cert_file and key_file", error);
      }
      out->tls_context = tls::TlsContext::Create(out->tls, error, /*both_roles=*/true);
      if (out->tls_context == nullptr) {
        *error = v.Where() + ": cluster " + *error;
        return false;
      }
    } else if (key == "permissions") {
      if (v.type != ConfValue::Type::kMap) {
        return ConfFail(v, "cluster 'permissions' expects a block", error);
      }
      auto permissions = std::make_shared<auth::Permissions>();
      for (const auto& [k, side] : v.map) {
        if (k == "import") {
          permissions->publish.emplace();
          if (!auth::ReadSubjectPermission(side, "import", &*permissions->publish, error)) {
            return false;
          }
        } else if (k == "export") {
          permissions->subscribe.emplace();
          if (!auth::ReadSubjectPermission(side, "export", &*permissions->subscribe, error)) {
            return false;
          }
        } else {
          return ConfFail(side, "cluster permissions has 'import' and 'export', not '" + k + "'",
                          error);
        }
      }
      out->permissions = std::move(permissions);
    } else if (key == "pool_size" || key == "compression" || key == "accounts") {
      warnings->push_back(v.Where() + ": cluster option '" + key +
                          "' is not implemented yet and is ignored");
    } else {
      return ConfFail(v, "unknown cluster option '" + key + "'", error);
    }
  }
  // nats-server: a cluster block needs a port (listen or port) to be served.
  out->enabled = has_port || out->enabled;
  if (!out->enabled)
    warnings->push_back(block.Where() + ": cluster block without a port is ignored");
  return true;
}

}  // namespace tern::core
