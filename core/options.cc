#include "core/options.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "core/conf.h"
#include "core/signal_command.h"

namespace tern::core {
namespace {

// Keys of nats-server's config language that Tern does not serve yet. Those that would
// weaken security if ignored are refused; the rest are reported as warnings.
const std::set<std::string> kRefusedKeys = {
    "accounts",       "tls",     "operator",    "resolver", "resolver_preload",
    "system_account", "trusted", "trusted_keys"};
const std::set<std::string> kWarnedKeys = {"cluster",
                                           "gateway",
                                           "leafnodes",
                                           "websocket",
                                           "mqtt",
                                           "logtime",
                                           "syslog",
                                           "remote_syslog",
                                           "log_size_limit",
                                           "max_traced_msg_len",
                                           "connect_error_reports",
                                           "reconnect_error_reports",
                                           "https_port",
                                           "http_base_path",
                                           "client_advertise",
                                           "no_header_support",
                                           "disable_sublist_cache",
                                           "max_closed_clients",
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
                                           "host_name"};

bool ParseSizeText(const std::string& text, int64_t* out) {
  ConfValue value;
  std::string error;
  if (!ParseConfText("v: " + text, "flag", &value, &error)) return false;
  const ConfValue* v = value.Find("v");
  if (v == nullptr || v->type != ConfValue::Type::kInteger) return false;
  *out = v->integer;
  return true;
}

bool ParseInt(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

// Splits "host:port", ":port", "port" or "[v6]:port".
bool ParseListen(const std::string& text, std::string* host, int* port) {
  const auto colon = text.rfind(':');
  std::string port_text = colon == std::string::npos ? text : text.substr(colon + 1);
  int64_t p;
  if (!ParseInt(port_text, &p)) return false;
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
    } else if (key == "max_payload") {
      if (!Size(v, key, &o_->max_payload)) return false;
      if (o_->max_payload <= 0) return Fail(v, "max_payload must be positive");
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
    } else if (key == "store_dir") {
      return String(v, key, &o_->store_dir);
    } else if (key == "tls") {
      o_->tls_source += "tls:" + ConfText(v) + ";";
      return tls::ParseTlsBlock(v, &o_->tls, error_);
    } else if (key == "authorization") {
      o_->auth_source += "authorization:" + ConfText(v) + ";";
      return auth::ParseAuthorization(v, &o_->auth, error_);
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

struct Flag {
  std::string name;   // as written, without dashes
  std::string value;  // after '=' if present
  bool has_value = false;
};

// --tls, --tlscert F, --tlskey F, --tlscacert F, --tlsverify: as nats-server, they
// replace the file's tls settings. Then the TLS context is built (certificates loaded).
bool ApplyTlsFlags(const std::vector<Flag>& flags, ServerOptions* options, std::string* error) {
  tls::TlsConfig& tls = options->tls;
  bool any = false;
  for (const Flag& f : flags) {
    const bool on = !f.has_value || f.value == "true" || f.value == "1";
    if (f.name == "tlscert") {
      tls.cert_file = f.value;
    } else if (f.name == "tlskey") {
      tls.key_file = f.value;
    } else if (f.name == "tlscacert") {
      tls.ca_file = f.value;
    } else if (f.name == "tlsverify") {
      tls.verify = on;
    } else if (f.name != "tls") {
      continue;
    }
    any = true;
    options->tls_source += "flag " + f.name + ":" + f.value + ";";
  }
  if (any && (tls.cert_file.empty() || tls.key_file.empty())) {
    *error = "TLS needs both --tlscert and --tlskey";
    return false;
  }
  if (tls.verify && tls.ca_file.empty()) {
    *error = "--tlsverify needs --tlscacert to check client certificates against";
    return false;
  }
  if (!tls.enabled()) return true;
  options->tls_context = tls::TlsContext::Create(tls, error);
  return options->tls_context != nullptr;
}

// --auth TOKEN, --user U --pass P: they replace what the config file says, as in
// nats-server.
bool ApplyAuthFlags(const std::vector<Flag>& flags, ServerOptions* options, std::string* error) {
  std::string token, user, pass;
  bool have_token = false, have_user = false, have_pass = false;
  for (const Flag& f : flags) {
    if (f.name == "auth") {
      token = f.value;
      have_token = true;
    } else if (f.name == "user") {
      user = f.value;
      have_user = true;
    } else if (f.name == "pass") {
      pass = f.value;
      have_pass = true;
    }
  }
  auth::AuthConfig& auth = options->auth;
  if (have_token) {
    if (token.empty()) {
      *error = "--auth needs a token";
      return false;
    }
    auth.token = token;
    auth.users.clear();
    options->auth_source += "flag auth:" + token + ";";
  }
  if (have_user || have_pass) {
    if (user.empty() || pass.empty()) {
      *error = "--user and --pass go together";
      return false;
    }
    if (have_token) {
      *error = "--auth can not be combined with --user/--pass";
      return false;
    }
    auth.token.clear();
    auth.users.clear();
    auth.users.push_back(auth::User{user, pass, "", nullptr});
    options->auth_source += "flag user:" + user + ":" + pass + ";";
  }
  return auth::ValidateAuth(auth, error);
}

}  // namespace

bool SecondsToNs(double seconds, int64_t* ns) {
  const double value = seconds * 1e9;
  if (!(value >= 0) || value > 9.0e18) return false;  // also rejects NaN
  *ns = static_cast<int64_t>(value);
  return true;
}

bool ParseDuration(const std::string& text, int64_t* ns) {
  if (text.empty()) return false;
  int64_t seconds;
  if (ParseInt(text, &seconds)) return SecondsToNs(static_cast<double>(seconds), ns);
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    char* end = nullptr;
    const double amount = std::strtod(text.c_str() + i, &end);
    if (end == text.c_str() + i) return false;
    i = end - text.c_str();
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    double factor;
    if (unit == "ns") {
      factor = 1;
    } else if (unit == "us" || unit == "µs") {
      factor = 1e3;
    } else if (unit == "ms") {
      factor = 1e6;
    } else if (unit == "s") {
      factor = 1e9;
    } else if (unit == "m") {
      factor = 60e9;
    } else if (unit == "h") {
      factor = 3600e9;
    } else {
      return false;
    }
    total += amount * factor;
  }
  if (!(total >= 0) || total > 9.0e18) return false;
  *ns = static_cast<int64_t>(total);
  return true;
}

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

std::string UsageText() {
  return R"(Usage: tern-server [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 = random)
    -n, --name, --server_name <name> Server name (default: the server id)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring (-1 = random)
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
        --signal <cmd>[=<pid>]       Send a signal to a running server: ldm, stop,
                                     quit, term, reopen or reload (pid, or pid file)
        --ports_file_dir <dir>       Write <executable>_<pid>.ports there
        --shards <n>                 Shards (threads, one io loop each; default: one per core)
        --io <uring|epoll>           I/O backend (default: uring, epoll if refused)

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS (with --tlscert and --tlskey)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for the server certificate
        --tlsverify                  Require and verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Logging Options:
    -l, --log <file>                 File to redirect log output
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace

JetStream Options:
    -js, --jetstream                 Enable JetStream
    -sd, --store_dir <dir>           Set the storage directory
        --js_sync <inline|ring>      Where a stream's fdatasync runs: on the shard thread
                                     (default) or through its io_uring (docs/JETSTREAM.md)

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
)";
}

ParseResult ParseCommandLine(int argc, const char* const* argv, ServerOptions* options,
                             std::string* error) {
  static const std::set<std::string> kBoolFlags = {
      "D",    "debug", "V",       "trace", "DV", "js",      "jetstream", "h",
      "help", "v",     "version", "t",     "T",  "logtime", "tls",       "tlsverify"};
  static const std::set<std::string> kValueFlags = {"a",
                                                    "addr",
                                                    "net",
                                                    "p",
                                                    "port",
                                                    "n",
                                                    "name",
                                                    "server_name",
                                                    "l",
                                                    "log",
                                                    "P",
                                                    "pid",
                                                    "ports_file_dir",
                                                    "m",
                                                    "http_port",
                                                    "sd",
                                                    "store_dir",
                                                    "c",
                                                    "config",
                                                    "shards",
                                                    "io",
                                                    "js_sync",
                                                    "signal",
                                                    "sl",
                                                    "user",
                                                    "pass",
                                                    "auth",
                                                    "tlscert",
                                                    "tlskey",
                                                    "tlscacert"};
  static const std::set<std::string> kRefusedFlags = {"routes",
                                                      "cluster",
                                                      "cluster_name",
                                                      "cluster_advertise",
                                                      "connect_retries",
                                                      "no_advertise",
                                                      "ms",
                                                      "https_port",
                                                      "syslog",
                                                      "r",
                                                      "remote_syslog",
                                                      "VV",
                                                      "DVV",
                                                      "client_advertise",
                                                      "log_size_limit",
                                                      "max_traced_msg_len",
                                                      "help_tls"};
  std::vector<Flag> resolved;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      *error = "unexpected argument '" + arg + "'";
      return ParseResult::kExitError;
    }
    Flag flag;
    flag.name = arg.substr(arg[1] == '-' ? 2 : 1);
    const auto eq = flag.name.find('=');
    if (eq != std::string::npos) {
      flag.value = flag.name.substr(eq + 1);
      flag.name = flag.name.substr(0, eq);
      flag.has_value = true;
    }
    if (kRefusedFlags.count(flag.name)) {
      *error = "flag -" + flag.name + " is not supported by this version of tern-server";
      return ParseResult::kExitError;
    }
    if (!kValueFlags.count(flag.name) && !kBoolFlags.count(flag.name)) {
      *error = "flag provided but not defined: -" + flag.name;
      return ParseResult::kExitError;
    }
    if (kValueFlags.count(flag.name) && !flag.has_value) {
      if (i + 1 >= argc) {
        *error = "flag needs an argument: -" + flag.name;
        return ParseResult::kExitError;
      }
      flag.value = argv[++i];
      flag.has_value = true;
    }
    resolved.push_back(flag);
  }
  auto truthy = [](const Flag& f, bool* out) {
    if (!f.has_value || f.value == "true" || f.value == "1") {
      *out = true;
    } else if (f.value == "false" || f.value == "0") {
      *out = false;
    } else {
      return false;
    }
    return true;
  };
  bool test_config = false;
  std::string signal_spec;
  for (const Flag& f : resolved) {
    if (f.name == "h" || f.name == "help") {
      std::fputs(UsageText().c_str(), stdout);
      return ParseResult::kExitOk;
    }
    if (f.name == "v" || f.name == "version") {
      std::printf("tern-server: v%s (NATS protocol level %s)\n", TERN_VERSION,
                  kNatsProtocolVersion);
      return ParseResult::kExitOk;
    }
    if (f.name == "c" || f.name == "config") options->config_file = f.value;
    if (f.name == "signal" || f.name == "sl") signal_spec = f.value;
  }
  if (!options->config_file.empty() && !LoadConfigFile(options->config_file, options, error)) {
    return ParseResult::kExitError;
  }
  for (const Flag& f : resolved) {
    const std::string& n = f.name;
    int64_t number = 0;
    bool on = false;
    if (kBoolFlags.count(n) && !truthy(f, &on)) {
      *error = "invalid boolean value \"" + f.value + "\" for -" + n;
      return ParseResult::kExitError;
    }
    if (n == "a" || n == "addr" || n == "net") {
      options->host = f.value;
    } else if (n == "p" || n == "port") {
      if (!ParseInt(f.value, &number) || number < -1 || number > 65535) {
        *error = "invalid port \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->port = static_cast<int>(number);
    } else if (n == "n" || n == "name" || n == "server_name") {
      options->server_name = f.value;
    } else if (n == "l" || n == "log") {
      options->log_file = f.value;
    } else if (n == "P" || n == "pid") {
      options->pid_file = f.value;
    } else if (n == "ports_file_dir") {
      options->ports_file_dir = f.value;
    } else if (n == "m" || n == "http_port") {
      if (!ParseInt(f.value, &number) || number < -1 || number > 65535) {
        *error = "invalid monitoring port \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->http_port = static_cast<int>(number);
    } else if (n == "sd" || n == "store_dir") {
      options->store_dir = f.value;
    } else if (n == "js" || n == "jetstream") {
      options->jetstream = on;
    } else if (n == "D" || n == "debug") {
      options->debug = on;
    } else if (n == "V" || n == "trace") {
      options->trace = on;
    } else if (n == "DV") {
      options->debug = options->trace = on;
    } else if (n == "t") {
      test_config = on;
    } else if (n == "shards") {
      if (!ParseInt(f.value, &number) || number < 1 || number > 128) {
        *error = "invalid --shards \"" + f.value + "\" (1 to 128)";
        return ParseResult::kExitError;
      }
      options->shards = static_cast<int>(number);
    } else if (n == "io") {
      if (f.value == "uring" || f.value == "io_uring") {
        options->io = io::Backend::kUring;
      } else if (f.value == "epoll") {
        options->io = io::Backend::kEpoll;
      } else {
        *error = "invalid --io \"" + f.value + "\" (uring or epoll)";
        return ParseResult::kExitError;
      }
    } else if (n == "js_sync") {
      if (f.value != "inline" && f.value != "ring") {
        *error = "invalid --js_sync \"" + f.value + "\" (inline or ring)";
        return ParseResult::kExitError;
      }
      options->js_sync_in_ring = f.value == "ring";
    }
  }
  if (!ApplyAuthFlags(resolved, options, error)) return ParseResult::kExitError;
  if (!ApplyTlsFlags(resolved, options, error)) return ParseResult::kExitError;
  if (!signal_spec.empty()) {
    if (!SendSignalCommand(signal_spec, options->pid_file, argv[0], error)) {
      return ParseResult::kExitError;
    }
    return ParseResult::kExitOk;
  }
  if (test_config) {
    std::printf("tern-server: configuration file %s test is successful\n",
                options->config_file.c_str());
    return ParseResult::kExitOk;
  }
  return ParseResult::kRun;
}

}  // namespace tern::core
