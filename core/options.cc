#include "core/options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/auth/jwt.h"
#include "core/conf.h"
#include "core/units.h"

namespace tern::core {
namespace {

// Keys of nats-server's config language that Tern does not serve yet. Those that would
// weaken security if ignored are refused; the rest are reported as warnings.
const std::set<std::string> kRefusedKeys = {"trusted", "trusted_keys"};
const std::set<std::string> kWarnedKeys = {"logtime",
                                           "syslog",
                                           "remote_syslog",
                                           "log_size_limit",
                                           "max_traced_msg_len",
                                           "connect_error_reports",
                                           "reconnect_error_reports",
                                           "https_port",
                                           "http_base_path",
                                           "disable_sublist_cache",
                                           "prof_port",
                                           "server_tags",
                                           "default_js_domain",
                                           "jetstream_max_memory",
                                           "jetstream_max_store",
                                           "max_file_store",
                                           "max_memory_store",
                                           "lame_duck_grace_period_ms",
                                           "auth_timeout",
                                           "tls_timeout",
                                           "ping_interval_jitter",
                                           "mappings",
                                           "syslog_name",
                                           "host_name",
                                           "no_sys_acc"};

}  // namespace

bool ParseAdvertise(const std::string& text, int default_port, std::string* host, int* port) {
  std::string rest = text;
  const auto scheme = rest.find("://");
  if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return false;
    *host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return false;
      port_text = rest.substr(close + 2);
    }
  } else {
    const auto colon = rest.find(':');
    *host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (host->empty()) return false;
  if (port_text.empty()) {
    *port = default_port;
    return true;
  }
  int value = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || value > 65535) return false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return false;
  *port = value;
  return true;
}

namespace {

bool ParseSizeText(const std::string& text, int64_t* out) {
  ConfValue value;
  std::string error;
  if (!ParseConfText("v: " + text, "flag", &value, &error)) return false;
  const ConfValue* v = value.Find("v");
  if (v == nullptr || v->type != ConfValue::Type::kInteger) return false;
  *out = v->integer;
  return true;
}

// Splits "host:port", ":port", "port" or "[v6]:port".
bool ParseListen(const std::string& text, std::string* host, int* port) {
  const auto colon = text.rfind(':');
  std::string port_text = colon == std::string::npos ? text : text.substr(colon + 1);
  int64_t p;
  if (!ParseInteger(port_text, &p)) return false;
  *port = static_cast<int>(p);
  if (colon != std::string::npos && colon > 0) {
    std::string h = text.substr(0, colon);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    *host = h;
  }
  return true;
}

class ConfApplier {
 public:
  ConfApplier(ServerOptions* options, std::string* error) : o_(options), error_(error) {}

  bool Apply(const ConfValue& root) {
    for (const auto& [key, value] : root.map) {
      if (!ApplyKey(key, value)) return false;
    }
    return true;
  }

 private:
  bool Fail(const ConfValue& v, const std::string& what) {
    *error_ = v.Where() + ": " + what;
    return false;
  }

  // An operator JWT: the token itself, or the path of a file holding it.
  bool ReadJwtSetting(const ConfValue& v, std::string* jwt) {
    if (v.type != ConfValue::Type::kString) return Fail(v, "'operator' expects a JWT or a file");
    if (v.text.rfind("eyJ", 0) == 0) {
      *jwt = v.text;
      return true;
    }
    std::ifstream file(v.text);
    if (!file) return Fail(v, "can not read operator JWT file \"" + v.text + "\"");
    std::stringstream text;
    text << file.rdbuf();
    *jwt = auth::ExtractJwt(text.str());
    if (jwt->empty()) return Fail(v, "no JWT in \"" + v.text + "\"");
    return true;
  }

  bool Size(const ConfValue& v, const std::string& key, int64_t* out) {
    if (v.type == ConfValue::Type::kInteger) {
      *out = v.integer;
      return true;
    }
    if (v.type == ConfValue::Type::kString && ParseSizeText(v.text, out)) return true;
    return Fail(v, "'" + key + "' expects a number or size (like 1MB), got '" + v.text + "'");
  }

  bool Duration(const ConfValue& v, const std::string& key, int64_t* ns) {
    if (v.type == ConfValue::Type::kInteger) {  // plain numbers are seconds, as in nats-server
      if (!SecondsToNs(static_cast<double>(v.integer), ns)) {
        return Fail(v, "'" + key + "' of " + v.text + " seconds is out of range");
      }
      o_->warnings.push_back(v.Where() + ": '" + key + "' of " + v.text + " is read as " +
                             std::to_string(v.integer) +
                             " seconds; write a quoted duration such as \"2m\" or \"10s\"");
      return true;
    }
    if (v.type == ConfValue::Type::kString && ParseDuration(v.text, ns)) return true;
    return Fail(v,
                "'" + key + "' expects a duration (like \"2m\" or \"10s\"), got '" + v.text + "'");
  }

  bool Bool(const ConfValue& v, const std::string& key, bool* out) {
    if (v.type != ConfValue::Type::kBool) return Fail(v, "'" + key + "' expects true or false");
    *out = v.boolean;
    return true;
  }

  bool String(const ConfValue& v, const std::string& key, std::string* out) {
    if (v.type == ConfValue::Type::kMap || v.type == ConfValue::Type::kArray) {
      return Fail(v, "'" + key + "' expects a string");
    }
    *out = v.text;
    return true;
  }

  bool ApplyKey(const std::string& key, const ConfValue& v) {
    int64_t n = 0;
    if (key == "port") {
      if (!Size(v, key, &n)) return false;
      o_->port = static_cast<int>(n);
    } else if (key == "listen") {
      std::string text = v.type == ConfValue::Type::kInteger ? std::to_string(v.integer) : v.text;
      if (!ParseListen(text, &o_->host, &o_->port)) return Fail(v, "bad listen address");
    } else if (key == "host" || key == "net") {
      return String(v, key, &o_->host);
    } else if (key == "server_name") {
      return String(v, key, &o_->server_name);
    } else if (key == "client_advertise") {
      if (!String(v, key, &o_->client_advertise)) return false;
      std::string host;
      int port = 0;
      if (!ParseAdvertise(o_->client_advertise, 1, &host, &port)) {
        return Fail(v, "invalid client_advertise \"" + o_->client_advertise + "\"");
      }
    } else if (key == "no_header_support") {
      return Bool(v, key, &o_->no_header_support);
    } else if (key == "max_payload") {
      if (!Size(v, key, &o_->max_payload)) return false;
      if (o_->max_payload <= 0) return Fail(v, "max_payload must be positive");
    } else if (key == "max_closed_clients") {
      if (!Size(v, key, &o_->max_closed_clients)) return false;
      if (o_->max_closed_clients == 0) o_->max_closed_clients = 10000;  // as nats-server
    } else if (key == "max_connections" || key == "max_conn") {
      return Size(v, key, &o_->max_connections);
    } else if (key == "max_subscriptions" || key == "max_subs") {
      return Size(v, key, &o_->max_subscriptions);
    } else if (key == "max_pending") {
      return Size(v, key, &o_->max_pending);
    } else if (key == "max_control_line") {
      if (!Size(v, key, &n)) return false;
      o_->max_control_line = static_cast<std::size_t>(n);
    } else if (key == "ping_interval") {
      return Duration(v, key, &o_->ping_interval_ns);
    } else if (key == "ping_max") {
      if (!Size(v, key, &n)) return false;
      o_->ping_max = static_cast<int>(n);
    } else if (key == "write_deadline") {
      return Duration(v, key, &o_->write_deadline_ns);
    } else if (key == "lame_duck_duration") {
      return Duration(v, key, &o_->lame_duck_duration_ns);
    } else if (key == "lame_duck_grace_period") {
      return Duration(v, key, &o_->lame_duck_grace_period_ns);
    } else if (key == "debug") {
      return Bool(v, key, &o_->debug);
    } else if (key == "trace") {
      return Bool(v, key, &o_->trace);
    } else if (key == "logfile" || key == "log_file") {
      return String(v, key, &o_->log_file);
    } else if (key == "pidfile" || key == "pid_file") {
      return String(v, key, &o_->pid_file);
    } else if (key == "ports_file_dir") {
      return String(v, key, &o_->ports_file_dir);
    } else if (key == "http_port" || key == "monitor_port") {
      if (!Size(v, key, &n)) return false;
      o_->http_port = static_cast<int>(n);
    } else if (key == "http") {
      std::string text = v.type == ConfValue::Type::kInteger ? std::to_string(v.integer) : v.text;
      if (!ParseListen(text, &o_->http_host, &o_->http_port)) return Fail(v, "bad http address");
    } else if (key == "jetstream") {
      if (v.type == ConfValue::Type::kBool) {
        o_->jetstream = v.boolean;
      } else if (v.type == ConfValue::Type::kMap) {
        o_->jetstream = true;
        for (const auto& [k, sub] : v.map) {
          if (k == "store_dir" || k == "store") {
            if (!String(sub, k, &o_->store_dir)) return false;
          } else if (k == "enabled" || k == "enable") {
            if (!Bool(sub, k, &o_->jetstream)) return false;
          } else if (k == "domain") {
            if (!String(sub, k, &o_->js_domain)) return false;
            if (o_->js_domain.empty() ||
                o_->js_domain.find_first_of(" \t.*>") != std::string::npos) {
              return Fail(sub, "invalid JetStream domain \"" + o_->js_domain +
                                   "\": a name without spaces, dots or wildcards");
            }
          } else if (k == "streams") {
            if (sub.type != ConfValue::Type::kArray) return Fail(sub, "'streams' expects an array");
            for (const ConfValue& stream : sub.array) {
              if (stream.type != ConfValue::Type::kMap) {
                return Fail(stream, "each stream expects a block");
              }
              o_->declared_streams.push_back(stream);
            }
          } else {
            o_->warnings.push_back(sub.Where() + ": jetstream option '" + k +
                                   "' is not implemented yet and is ignored");
          }
        }
      } else if (v.type == ConfValue::Type::kString &&
                 (v.text == "enabled" || v.text == "enable")) {
        o_->jetstream = true;
      } else {
        return Fail(v, "'jetstream' expects true/false or a block");
      }
    } else if (key == "cluster") {
      o_->cluster_source = ConfText(v);
      return ParseClusterBlock(v, &o_->cluster, &o_->warnings, error_);
    } else if (key == "gateway") {
      o_->gateway_source = ConfText(v);
      return ParseGatewayBlock(v, &o_->gateway, &o_->warnings, error_);
    } else if (key == "websocket" || key == "ws") {
      return ParseWebsocketBlock(v, &o_->websocket, &o_->warnings, error_);
    } else if (key == "mqtt") {
      return ParseMqttBlock(v, &o_->mqtt, &o_->warnings, error_);
    } else if (key == "streaming") {
      return ParseStreamingBlock(v, &o_->streaming, &o_->warnings, error_);
    } else if (key == "leafnodes" || key == "leaf") {
      o_->leaf_source = ConfText(v);
      return ParseLeafNodesBlock(v, &o_->leaf, &o_->warnings, error_);
    } else if (key == "store_dir") {
      return String(v, key, &o_->store_dir);
    } else if (key == "tls") {
      o_->tls_source += "tls:" + ConfText(v) + ";";
      return tls::ParseTlsBlock(v, &o_->tls, error_);
    } else if (key == "authorization") {
      o_->auth_source += "authorization:" + ConfText(v) + ";";
      return auth::ParseAuthorization(v, &o_->auth, error_);
    } else if (key == "accounts") {
      o_->auth_source += "accounts:" + ConfText(v) + ";";
      // Users may change on reload; the accounts themselves (names and order, exports,
      // imports, JetStream) are what every shard's routing was built for.
      for (const auto& [name, block] : v.map) {
        o_->accounts_source += "account " + name + ":";
        for (const auto& [k, sub] : block.map) {
          if (k != "users") o_->accounts_source += k + "=" + ConfText(sub) + ";";
        }
      }
      return auth::ParseAccounts(v, &o_->auth.accounts, &o_->auth.users, error_);
    } else if (key == "operator" || key == "operators" || key == "operator_jwt") {
      o_->accounts_source += "operator:" + ConfText(v) + ";";
      for (const ConfValue* item : ConfItems(v)) {
        std::string jwt;
        if (!ReadJwtSetting(*item, &jwt)) return false;
        o_->auth.op.operator_jwts.push_back(jwt);
      }
    } else if (key == "resolver") {
      o_->accounts_source += "resolver:" + ConfText(v) + ";";
      if (v.type != ConfValue::Type::kString) {
        return Fail(v, "resolver: only MEMORY is supported (with resolver_preload)");
      }
      o_->auth.op.resolver = v.text;
    } else if (key == "resolver_preload") {
      o_->accounts_source += "resolver_preload:" + ConfText(v) + ";";
      if (v.type != ConfValue::Type::kMap) return Fail(v, "'resolver_preload' expects a block");
      for (const auto& [account, jwt] : v.map) {
        if (jwt.type != ConfValue::Type::kString) return Fail(jwt, "expects an account JWT");
        o_->auth.op.preload.emplace_back(account, auth::ExtractJwt(jwt.text));
      }
    } else if (key == "system_account" || key == "system") {
      o_->accounts_source += "system_account:" + v.text + ";";
      return String(v, key, &o_->auth.accounts.system_name);
    } else if (key == "no_auth_user") {
      o_->auth_source += "no_auth_user:" + v.text + ";";
      return String(v, key, &o_->auth.no_auth_user);
    } else if (kRefusedKeys.count(key)) {
      return Fail(v, "'" + key +
                         "' is not supported yet; refusing to start without the security "
                         "it asks for");
    } else if (kWarnedKeys.count(key)) {
      o_->warnings.push_back(v.Where() + ": '" + key + "' is not implemented yet and is ignored");
    } else {
      return Fail(v, "unknown configuration key '" + key + "'");
    }
    return true;
  }

  ServerOptions* o_;
  std::string* error_;
};

}  // namespace

bool LoadConfigFile(const std::string& path, ServerOptions* options, std::string* error) {
  ConfValue root;
  if (!ParseConfFile(path, &root, error)) return false;
  ConfApplier applier(options, error);
  return applier.Apply(root);
}

bool LoadConfigText(const std::string& text, const std::string& name, ServerOptions* options,
                    std::string* error) {
  ConfValue root;
  if (!ParseConfText(text, name, &root, error)) return false;
  ConfApplier applier(options, error);
  return applier.Apply(root);
}

}  // namespace tern::core
