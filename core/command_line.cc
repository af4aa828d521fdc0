// The tern-server command line: nats-server's flags (single or double dash, `-flag value`
// or `-flag=value`), applied over the config file they may name. Runs once, in main().
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/signal_command.h"

namespace tern::core {
namespace {

struct Flag {
  std::string name;   // as written, without dashes
  std::string value;  // after '=' if present
  bool has_value = false;
};

// The flags only a binary started as nats-streaming-server takes (docs/STAN.md, "Moving a
// deployment"): its store type and directory, its own config file, its debug and trace.
const std::set<std::string> kStanValueFlags = {"st",          "store", "dir",        "sc",
                                               "stan_config", "ns",    "nats_server"};
const std::set<std::string> kStanBoolFlags = {"SD", "stan_debug", "SV", "stan_trace", "SDV"};

bool StartedAsNatsStreamingServer(const char* argv0) {
  const std::string name = argv0 == nullptr ? "" : argv0;
  const auto slash = name.rfind('/');
  return name.substr(slash == std::string::npos ? 0 : slash + 1) == "nats-streaming-server";
}

// --streaming, -cid and nats-streaming-server's limits and heartbeat flags (docs/STAN.md).
// A cluster id turns streaming on, as --streaming does; streaming turns JetStream on, where
// its channels live. Started as nats-streaming-server, streaming is on and, unless told,
// the store is MEMORY, as that server's default.
bool ApplyStanFlags(const std::vector<Flag>& flags, bool as_nss, ServerOptions* options,
                    std::string* error) {
  StanOptions& stan = options->streaming;
  if (as_nss) stan.enabled = true;
  for (const Flag& f : flags) {
    const std::string& n = f.name;
    int64_t* count = nullptr;
    int64_t* duration = nullptr;
    if (n == "st" || n == "store") {
      if (!ParseStanStoreType(f.value, &stan.store, error)) return false;
    } else if (n == "dir") {
      stan.dir = f.value;
    } else if (n == "ns" || n == "nats_server") {
      *error = "-" + n +
               " (an external NATS server) is not served: tern-server is the NATS server, point "
               "the clients at it";
      return false;
    } else if (n == "SD" || n == "stan_debug") {
      options->debug = true;
    } else if (n == "SV" || n == "stan_trace") {
      options->trace = true;
    } else if (n == "SDV") {
      options->debug = options->trace = true;
    } else if (n == "mb" || n == "max_bytes") {
      if (!ParseSize(f.value, &stan.limits.max_bytes) || stan.limits.max_bytes < 0) {
        *error = "invalid size \"" + f.value + "\" for -" + n + " (such as 1000000, 512MB or 1GB)";
        return false;
      }
    } else if (n == "streaming") {
      stan.enabled = !f.has_value || f.value == "true" || f.value == "1";
    } else if (n == "cid" || n == "cluster_id") {
      if (!IsValidStanClusterId(f.value)) {
        *error = "invalid cluster id \"" + f.value + "\": only letters, digits, '-' and '_'";
        return false;
      }
      stan.cluster_id = f.value;
      stan.enabled = true;
    } else if (n == "hbi" || n == "hb_interval") {
      duration = &stan.hb_interval_ns;
    } else if (n == "hbt" || n == "hb_timeout") {
      duration = &stan.hb_timeout_ns;
    } else if (n == "hbf" || n == "hb_fail_count") {
      count = &stan.hb_fail_count;
    } else if (n == "mc" || n == "max_channels") {
      count = &stan.limits.max_channels;
    } else if (n == "msu" || n == "max_subs") {
      count = &stan.limits.max_subs;
    } else if (n == "mm" || n == "max_msgs") {
      count = &stan.limits.max_msgs;
    } else if (n == "ma" || n == "max_age") {
      duration = &stan.limits.max_age_ns;
    } else if (n == "mi" || n == "max_inactivity") {
      duration = &stan.limits.max_inactivity_ns;
    }
    if (count != nullptr && (!ParseInteger(f.value, count) || *count < 0)) {
      *error = "invalid value \"" + f.value + "\" for -" + n + " (a number of at least 0)";
      return false;
    }
    if (duration != nullptr && !ParseDuration(f.value, duration)) {
      *error = "invalid duration \"" + f.value + "\" for -" + n;
      return false;
    }
  }
  if (stan.enabled && (stan.hb_interval_ns <= 0 || stan.hb_timeout_ns <= 0)) {
    *error = "streaming heartbeat interval and timeout must be positive";
    return false;
  }
  if (stan.enabled) {
    options->jetstream = true;
    if (stan.store == StanOptions::Store::kDefault) {
      stan.store = as_nss ? StanOptions::Store::kMemory : StanOptions::Store::kFile;
    }
    if (options->store_dir.empty() && !stan.dir.empty()) options->store_dir = stan.dir;
  }
  return true;
}

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

// Users of configured accounts stay; the flags stand for the global account's.
void DropGlobalUsers(auth::AuthConfig* auth) {
  std::erase_if(auth->users, [](const auth::User& u) { return u.account.empty(); });
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
    DropGlobalUsers(&auth);
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
    DropGlobalUsers(&auth);
    auth.users.push_back(auth::User{user, pass, "", nullptr, "", auth::kGlobalAccount, {}});
    auth.single_user = auth.users.size() == 1;
    options->auth_source += "flag user:" + user + ":" + pass + ";";
  }
  return auth::ValidateAuth(&auth, error);
}

}  // namespace

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

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries

Streaming (STAN) Options (docs/STAN.md):
        --streaming                  Serve NATS Streaming clients (channels on JetStream)
    -cid, --cluster_id <id>          Streaming cluster id (default: test-cluster)
    -mc, -msu, -mm <n>               Max channels, subscriptions per channel, messages
    -mb <size>                       Max bytes per channel (1GB, 512MB or a number)
    -ma, -mi <duration>              Max age of messages, max inactivity of a channel
    -hbi, -hbt <duration>, -hbf <n>  Client heartbeat interval, timeout, failures allowed
    Started as nats-streaming-server, streaming is on and -st <FILE|MEMORY>, -dir <dir>,
    -sc <file>, -SD, -SV, -SDV are taken as well.

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
)";
}

namespace {

// Every account a leafnode link is bound to must exist (a remote's `account`, the leafnode
// users' accounts): a typo would otherwise surface only when a link comes up.
bool CheckLeafAccounts(const ServerOptions& options, std::string* error) {
  const auth::Accounts& accounts = options.auth.accounts;
  auto known = [&](const std::string& name) {
    if (name.empty() || name == "$G") return true;
    return accounts.size() > 0 && accounts.Find(name) >= 0;
  };
  const LeafOptions& leaf = options.leaf;
  for (const LeafRemote& remote : leaf.remotes) {
    if (!known(remote.account)) {
      *error = "leafnode remote account \"" + remote.account + "\" is not defined";
      return false;
    }
  }
  if (!known(leaf.account)) {
    *error = "leafnode authorization account \"" + leaf.account + "\" is not defined";
    return false;
  }
  for (const LeafUser& user : leaf.users) {
    if (!known(user.account)) {
      *error =
          "leafnode user \"" + user.user + "\" account \"" + user.account + "\" is not defined";
      return false;
    }
  }
  return true;
}

}  // namespace

ParseResult ParseCommandLine(int argc, const char* const* argv, ServerOptions* options,
                             std::string* error) {
  static const std::set<std::string> kBoolFlags = {
      "D",         "debug",   "V",    "trace",     "DV",           "js",
      "jetstream", "h",       "help", "v",         "version",      "t",
      "T",         "logtime", "tls",  "tlsverify", "no_advertise", "streaming"};
  static const std::set<std::string> kValueFlags = {"a",
                                                    "addr",
                                                    "net",
                                                    "p",
                                                    "port",
                                                    "n",
                                                    "name",
                                                    "server_name",
                                                    "client_advertise",
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
                                                    "tlscacert",
                                                    "routes",
                                                    "cluster",
                                                    "cluster_listen",
                                                    "cluster_name",
                                                    "cluster_advertise",
                                                    "connect_retries",
                                                    "mqtt_port",
                                                    "cid",
                                                    "cluster_id",
                                                    "hbi",
                                                    "hb_interval",
                                                    "hbt",
                                                    "hb_timeout",
                                                    "hbf",
                                                    "hb_fail_count",
                                                    "mc",
                                                    "max_channels",
                                                    "msu",
                                                    "max_subs",
                                                    "mm",
                                                    "max_msgs",
                                                    "mb",
                                                    "max_bytes",
                                                    "ma",
                                                    "max_age",
                                                    "mi",
                                                    "max_inactivity"};
  static const std::set<std::string> kRefusedFlags = {
      "ms",      "https_port",     "syslog",
      "r",       "remote_syslog",  "VV",
      "DVV",     "log_size_limit", "max_traced_msg_len",
      "help_tls"};
  const bool as_nss = StartedAsNatsStreamingServer(argv[0]);
  auto value_flag = [&](const std::string& name) {
    return kValueFlags.count(name) != 0 || (as_nss && kStanValueFlags.count(name) != 0);
  };
  auto bool_flag = [&](const std::string& name) {
    return kBoolFlags.count(name) != 0 || (as_nss && kStanBoolFlags.count(name) != 0);
  };
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
    if (!value_flag(flag.name) && !bool_flag(flag.name)) {
      *error = "flag provided but not defined: -" + flag.name;
      return ParseResult::kExitError;
    }
    if (value_flag(flag.name) && !flag.has_value) {
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
  // nats-streaming-server's own config file (-sc): the same language, read after -c.
  for (const Flag& f : resolved) {
    if ((f.name == "sc" || f.name == "stan_config") && !LoadConfigFile(f.value, options, error)) {
      return ParseResult::kExitError;
    }
  }
  for (const Flag& f : resolved) {
    const std::string& n = f.name;
    int64_t number = 0;
    bool on = false;
    if (bool_flag(n) && !truthy(f, &on)) {
      *error = "invalid boolean value \"" + f.value + "\" for -" + n;
      return ParseResult::kExitError;
    }
    if (n == "a" || n == "addr" || n == "net") {
      options->host = f.value;
    } else if (n == "p" || n == "port") {
      if (!ParseInteger(f.value, &number) || number < -1 || number > 65535) {
        *error = "invalid port \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->port = static_cast<int>(number);
    } else if (n == "n" || n == "name" || n == "server_name") {
      options->server_name = f.value;
    } else if (n == "client_advertise") {
      std::string host;
      int port = 0;
      if (!ParseAdvertise(f.value, 1, &host, &port)) {
        *error = "invalid client_advertise \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->client_advertise = f.value;
    } else if (n == "cluster" || n == "cluster_listen") {
      if (!ParseClusterListen(f.value, &options->cluster, error)) return ParseResult::kExitError;
    } else if (n == "routes") {
      options->cluster.routes.clear();  // the flag replaces the config file's list
      if (!ParseRouteList(f.value, &options->cluster, error)) return ParseResult::kExitError;
    } else if (n == "cluster_name") {
      options->cluster.name = f.value;
    } else if (n == "cluster_advertise") {
      options->cluster.advertise = f.value;
    } else if (n == "no_advertise") {
      options->cluster.no_advertise = on;
    } else if (n == "connect_retries") {
      if (!ParseInteger(f.value, &number) || number < 0) {
        *error = "invalid connect_retries \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->cluster.connect_retries = static_cast<int>(number);
    } else if (n == "l" || n == "log") {
      options->log_file = f.value;
    } else if (n == "P" || n == "pid") {
      options->pid_file = f.value;
    } else if (n == "ports_file_dir") {
      options->ports_file_dir = f.value;
    } else if (n == "m" || n == "http_port") {
      if (!ParseInteger(f.value, &number) || number < -1 || number > 65535) {
        *error = "invalid monitoring port \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->http_port = static_cast<int>(number);
    } else if (n == "mqtt_port") {
      if (!ParseInteger(f.value, &number) || number < -1 || number > 65535) {
        *error = "invalid mqtt port \"" + f.value + "\"";
        return ParseResult::kExitError;
      }
      options->mqtt.port = static_cast<int>(number);
      options->mqtt.enabled = number != 0;
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
      if (!ParseInteger(f.value, &number) || number < 1 || number > 128) {
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
  if (!ApplyStanFlags(resolved, as_nss, options, error)) return ParseResult::kExitError;
  // Clustered without JetStream: other nodes' JetStream serves this node's clients
  // (docs/CLUSTERING.md). JWT accounts come and go at run time: not there yet.
  if (options->cluster.enabled && !options->jetstream && !options->auth.op.enabled()) {
    auth::ImportJetStreamFromSystem(&options->auth.accounts);
  }
  if (!ResolveWebsocketAuth(options->auth, &options->websocket, error)) {
    return ParseResult::kExitError;
  }
  const bool clustered = options->cluster.enabled || options->gateway.enabled ||
                         options->leaf.enabled || !options->leaf.remotes.empty();
  if (!ResolveMqtt(options->auth, !options->server_name.empty(), options->jetstream, clustered,
                   &options->mqtt, error)) {
    return ParseResult::kExitError;
  }
  if (!ApplyTlsFlags(resolved, options, error)) return ParseResult::kExitError;
  if (!CheckLeafAccounts(*options, error)) return ParseResult::kExitError;
  if (options->tls.verify_and_map && options->auth.users.empty()) {
    *error = "tls verify_and_map needs users (named as the client certificates name them)";
    return ParseResult::kExitError;
  }
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
