#include "core/server.h"

#include "core/auth/nkeys.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "core/client.h"
#include "core/clock.h"
#include "core/cluster_service.h"
#include "core/gateway_service.h"
#include "core/jetstream_start.h"
#include "core/leaf_service.h"
#include "core/log.h"
#include "core/stan/stan_gate.h"
#include "core/stan/stan_service.h"
#include "io/socket.h"

namespace tern::core {
namespace {

// 56 characters of base32 after an 'N', like a NATS server nkey.
std::string NewServerId() {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::random_device device;
  std::mt19937_64 rng(device());
  std::string id = "N";
  while (id.size() < 56) id.push_back(kAlphabet[rng() % 32]);
  return id;
}

std::string JsonEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out.push_back(c);
  }
  return out;
}

std::string BaseName(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::shared_ptr<const LiveSettings> MakeLiveSettings(const ServerOptions& options,
                                                     const ServerContext& context) {
  auto settings = std::make_shared<LiveSettings>();
  settings->options = options;
  // INFO's host and port: client_advertise when set (its port defaulting to the bound one).
  std::string host = options.host.empty() ? "0.0.0.0" : options.host;
  int port = context.bound_port;
  if (!options.client_advertise.empty()) {
    ParseAdvertise(options.client_advertise, context.bound_port, &host, &port);
  }
  settings->info_prefix = "\"server_id\":\"" + context.server_id + "\",\"server_name\":\"" +
                          JsonEscape(context.server_name) + "\",\"version\":\"" +
                          kNatsProtocolVersion +
                          "\",\"proto\":1,\"go\":\"tern " TERN_VERSION "\",\"host\":\"" +
                          JsonEscape(host) + "\",\"port\":" + std::to_string(port) +
                          (options.no_header_support ? ",\"headers\":false" : ",\"headers\":true") +
                          ",\"max_payload\":" + std::to_string(options.max_payload) + "," +
                          (options.jetstream ? "\"jetstream\":true," : "") +
                          (options.auth.required() ? "\"auth_required\":true," : "") +
                          (options.tls_context ? "\"tls_required\":true," : "") +
                          (options.tls_context && options.tls.verify ? "\"tls_verify\":true," : "");
  return settings;
}

Server::Server(ServerOptions options, std::string program_name, std::vector<std::string> argv)
    : options_(std::move(options)), program_name_(std::move(program_name)), argv_(std::move(argv)) {
  if (argv_.empty()) argv_.push_back(program_name_);
}

Server::~Server() {
  if (listen_fd_ >= 0) close(listen_fd_);
  if (cluster_fd_ >= 0) close(cluster_fd_);
  if (leaf_fd_ >= 0) close(leaf_fd_);
  if (websocket_fd_ >= 0) close(websocket_fd_);
  if (mqtt_fd_ >= 0) close(mqtt_fd_);
  if (gateway_fd_ >= 0) close(gateway_fd_);
}

void Server::RequestStop() {
  context_.state.store(static_cast<int>(RunState::kStopping));
  for (auto& shard : shards_) shard->Wake();
}

bool Server::Start(std::string* error) {
  if (!ConfigureLog(options_.log_file, options_.debug, options_.trace, error)) return false;
  context_.server_id = NewServerId();
  context_.server_name = options_.server_name.empty() ? context_.server_id : options_.server_name;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  context_.shard_count =
      options_.shards > 0 ? options_.shards : static_cast<int>(std::min(cores, 128u));
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  context_.start_unix_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  context_.start_mono_ns = MonotonicNs();

  LOG_INFO("Starting tern-server");
  LOG_INFO("  Version:  %s (NATS protocol level %s)", TERN_VERSION, kNatsProtocolVersion);
  LOG_INFO("  Name:     %s", context_.server_name.c_str());
  LOG_INFO("  ID:       %s", context_.server_id.c_str());
  if (!options_.config_file.empty())
    LOG_INFO("Using configuration file: %s", options_.config_file.c_str());
  for (const std::string& warning : options_.warnings) LOG_WARN("%s", warning.c_str());

  listen_fd_ = io::CreateListener(options_.host, options_.port < 0 ? 0 : options_.port,
                                  &context_.bound_port, error);
  if (listen_fd_ < 0) return false;

  const ClusterOptions& cluster = options_.cluster;
  if (cluster.enabled) {
    // Replicated streams and a JetStream meta group are not served across routes yet: a
    // node must not look like a JetStream peer to nats-server nodes (docs/CLUSTERING.md).
    if (options_.jetstream) {
      *error =
          "JetStream in a cluster is not supported yet: start clustered nodes without "
          "JetStream (docs/CLUSTERING.md)";
      return false;
    }
    cluster_fd_ = io::CreateListener(cluster.host, cluster.port < 0 ? 0 : cluster.port,
                                     &cluster_port_, error);
    context_.cluster_port = cluster_port_;
    if (cluster_fd_ < 0) {
      *error = "cluster: " + *error;
      return false;
    }
  }

  const LeafOptions& leaf = options_.leaf;
  if (leaf.enabled) {
    leaf_fd_ = io::CreateListener(leaf.host, leaf.port < 0 ? 0 : leaf.port, &leaf_port_, error);
    context_.leaf_port = leaf_port_;
    if (leaf_fd_ < 0) {
      *error = "leafnodes: " + *error;
      return false;
    }
  }

  const GatewayOptions& gateway = options_.gateway;
  // A cluster in a supercluster is named by its gateway (as nats-server does).
  if (gateway.enabled && cluster.enabled && cluster.name.empty()) {
    options_.cluster.name = gateway.name;
  }
  if (gateway.enabled) {
    if (cluster.enabled && !cluster.name.empty() && cluster.name != gateway.name) {
      *error = "gateway name \"" + gateway.name + "\" must be the cluster's name \"" +
               cluster.name + "\"";
      return false;
    }
    gateway_fd_ = io::CreateListener(gateway.host, gateway.port < 0 ? 0 : gateway.port,
                                     &gateway_port_, error);
    context_.gateway_port = gateway_port_;
    if (gateway_fd_ < 0) {
      *error = "gateway: " + *error;
      return false;
    }
  }

  const WebsocketOptions& websocket = options_.websocket;
  if (websocket.enabled) {
    websocket_fd_ = io::CreateListener(websocket.host, websocket.port < 0 ? 0 : websocket.port,
                                       &websocket_port_, error);
    context_.websocket_port = websocket_port_;
    if (websocket_fd_ < 0) {
      *error = "websocket: " + *error;
      return false;
    }
  }

  const MqttOptions& mqtt = options_.mqtt;
  if (mqtt.enabled) {
    mqtt_fd_ = io::CreateListener(mqtt.host, mqtt.port < 0 ? 0 : mqtt.port, &mqtt_port_, error);
    context_.mqtt_port = mqtt_port_;
    if (mqtt_fd_ < 0) {
      *error = "mqtt: " + *error;
      return false;
    }
  }

  const char* host = options_.host.empty() ? "0.0.0.0" : options_.host.c_str();
  if (options_.jetstream && options_.store_dir.empty()) options_.store_dir = "/tmp/tern";
  context_.settings = MakeLiveSettings(options_, context_);
  {
    base::MutexLock lock(&settings_mutex_);
    settings_ = context_.settings;
    config_load_time_ns_ = WallClockNs();
  }

  context_.account_connections.reset(
      new std::atomic<int64_t>[std::max<std::size_t>(1, options_.auth.accounts.size())]());
  context_.mesh = std::make_unique<ShardMesh>(context_.shard_count);
  for (int i = 0; i < context_.shard_count; ++i) {
    context_.stats.push_back(std::make_unique<ShardStats>());
  }
  for (int i = 0; i < context_.shard_count; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, &context_));
    context_.shards.push_back(shards_.back().get());
  }
  ClusterService* cluster_service = nullptr;
  if (cluster.enabled) {
    // Routes live on shard 0: it sums the node's interest for them (docs/CLUSTERING.md).
    auto* service = cluster_service = static_cast<ClusterService*>(
        shards_[0]->AddService(std::make_unique<ClusterService>(shards_[0].get(), cluster_port_)));
    shards_[0]->AddInterestExport(service);
    shards_[0]->SetConnectionFactory(
        kRouteListener,
        [service](ShardPort* shard, uint64_t id, std::string ip, int port) {
          return service->MakeAccepted(shard, id, std::move(ip), port);
        },
        /*pinned=*/true);
  }
  if (leaf.enabled || !leaf.remotes.empty()) {
    // Leafnode links live on shard 0 too, beside the routes whose interest they carry.
    auto* service = static_cast<LeafService*>(shards_[0]->AddService(
        std::make_unique<LeafService>(shards_[0].get(), leaf_port_, cluster_service)));
    shards_[0]->AddInterestExport(service);
    shards_[0]->SetConnectionFactory(
        kLeafListener,
        [service](ShardPort* shard, uint64_t id, std::string ip, int port) {
          return service->MakeAccepted(shard, id, std::move(ip), port);
        },
        /*pinned=*/true);
  }
  if (gateway.enabled) {
    auto* service = static_cast<GatewayService*>(shards_[0]->AddService(
        std::make_unique<GatewayService>(shards_[0].get(), gateway_port_, cluster_service)));
    shards_[0]->AddInterestExport(service);
    shards_[0]->SetConnectionFactory(
        kGatewayListener,
        [service](ShardPort* shard, uint64_t id, std::string ip, int port) {
          return service->MakeAccepted(shard, id, std::move(ip), port);
        },
        /*pinned=*/true);
  }
  if (options_.jetstream && !StartJetStream(options_, context_.shards, &registries_, error))
    return false;
  if (options_.streaming.enabled) {
    // STAN on shard 0: its subscriptions are told to the other shards directly. Publishes
    // are taken on every shard, by a gate each.
    auto directory = std::make_shared<stan::StanDirectory>(context_.shard_count);
    auto* stan = static_cast<StanService*>(shards_[0]->AddService(
        std::make_unique<StanService>(shards_[0].get(), options_.streaming, directory)));
    std::vector<StanGate*> gates;
    for (int i = 0; i < context_.shard_count; ++i) {
      auto* gate = static_cast<StanGate*>(shards_[i]->AddService(std::make_unique<StanGate>(
          shards_[i].get(), directory, stan->pub_prefix(), shards_[0].get(), stan)));
      gate->Start();
      gates.push_back(gate);
    }
    stan->SetGates(std::move(gates));
    std::vector<std::string> subjects;
    stan->Start(&subjects);
    for (int i = 1; i < context_.shard_count; ++i) {
      for (const std::string& subject : subjects) {
        shards_[i]->ApplyRemoteInterest(0, auth::kGlobalAccount, subject);
      }
    }
  }
  // Response routes of service imports are signed with a key of this process: a reply
  // created on one shard is checked on whichever shard the responder is on.
  ImportRouter::Key import_key;
  const std::string random = auth::RandomBytes(import_key.size());
  std::copy(random.begin(), random.end(), import_key.begin());
  for (auto& shard : shards_) {
    shard->StartAccountServices(import_key);
    shard->SetConnectionFactory(kClientListener, MakeClient);
    if (websocket.enabled) shard->SetConnectionFactory(kWebsocketListener, MakeWebsocketClient);
    if (mqtt.enabled) shard->SetConnectionFactory(kMqttListener, MakeMqttClient);
  }
  if (!StartShardThreads(error)) return false;
  LOG_INFO("Shards: %d, I/O: %s", context_.shard_count, shards_[0]->backend_name());
  LOG_INFO("Listening for client connections on %s:%d", host, context_.bound_port);
  if (websocket.enabled) {
    if (!websocket.tls_context) {
      LOG_WARN("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
    }
    LOG_INFO("Listening for websocket clients on %s://%s:%d", websocket.tls_context ? "wss" : "ws",
             websocket.host.c_str(), websocket_port_);
  }
  if (mqtt.enabled) {
    LOG_INFO("Listening for MQTT clients on %s://%s:%d", mqtt.tls_context ? "tls" : "mqtt",
             mqtt.host.c_str(), mqtt_port_);
  }
  if (cluster.enabled) {
    LOG_INFO("Cluster name is %s", cluster.name.empty() ? "(dynamic)" : cluster.name.c_str());
    LOG_INFO("Listening for route connections on %s:%d",
             cluster.host.empty() ? "0.0.0.0" : cluster.host.c_str(), cluster_port_);
  }
  if (gateway.enabled) {
    LOG_INFO("Gateway name is %s", gateway.name.c_str());
    LOG_INFO("Listening for gateways connections on %s:%d",
             gateway.host.empty() ? "0.0.0.0" : gateway.host.c_str(), gateway_port_);
  }
  if (leaf.enabled) {
    LOG_INFO("Listening for leafnode connections on %s:%d",
             leaf.host.empty() ? "0.0.0.0" : leaf.host.c_str(), leaf_port_);
  }
  if (options_.http_port != 0 && !StartMonitor(error)) return false;

  if (!options_.pid_file.empty()) {
    std::ofstream pid(options_.pid_file);
    if (!pid) {
      *error = "cannot write pid file " + options_.pid_file;
      return false;
    }
    pid << getpid();
    pid_file_written_ = true;
  }
  WritePortsFile();
  return true;
}

// Each shard builds its reactor on its own thread: an io_uring set up with SINGLE_ISSUER
// accepts submissions only from the thread that created it.
bool Server::StartShardThreads(std::string* error) {
  StartUp& startup = startup_;  // a member: the threads read it after this returns
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    threads_.emplace_back([this, s, &startup] {
      std::string note;
      std::string failure;
      bool ok = s->Init(options_.io, &note, &failure);
      if (ok && s->index() == 0) ok = s->Listen(listen_fd_, kClientListener, &failure);
      if (ok && s->index() == 0 && cluster_fd_ >= 0) {
        ok = s->Listen(cluster_fd_, kRouteListener, &failure);
      }
      if (ok && s->index() == 0 && websocket_fd_ >= 0) {
        ok = s->Listen(websocket_fd_, kWebsocketListener, &failure);
      }
      if (ok && s->index() == 0 && mqtt_fd_ >= 0) {
        ok = s->Listen(mqtt_fd_, kMqttListener, &failure);
      }
      if (ok && s->index() == 0 && leaf_fd_ >= 0) {
        ok = s->Listen(leaf_fd_, kLeafListener, &failure);
      }
      if (ok && s->index() == 0 && gateway_fd_ >= 0) {
        ok = s->Listen(gateway_fd_, kGatewayListener, &failure);
      }
      if (!note.empty() && s->index() == 0) LOG_WARN("%s", note.c_str());
      bool run = false;
      {
        base::MutexLock lock(&startup.mutex);
        if (!ok && !startup.failed) {
          startup.failed = true;
          startup.error = failure;
        }
        ++startup.reported;
        startup.changed.SignalAll();
        startup.changed.Wait(&startup.mutex, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(startup.mutex) {
          return startup.go;
        });
        run = !startup.failed;
      }
      if (run) s->Run();
    });
  }
  bool failed = false;
  {
    base::MutexLock lock(&startup.mutex);
    const auto all_reported = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(startup.mutex) {
      return startup.reported == static_cast<int>(shards_.size());
    };
    startup.changed.Wait(&startup.mutex, all_reported);
    startup.go = true;
    startup.changed.SignalAll();
    failed = startup.failed;
    if (failed) *error = startup.error;
  }
  if (failed) {
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    return false;
  }
  return true;
}

bool Server::StartMonitor(std::string* error) {
  monitor::Sources sources;
  sources.context = &context_;
  for (const auto& registry : registries_) {
    if (registry->enabled()) sources.registries.push_back(registry.get());
  }
  sources.settings = [this] { return CurrentSettings(); };
  sources.config_load_time_ns = [this] {
    base::MutexLock lock(&settings_mutex_);
    return config_load_time_ns_;
  };
  monitor_ = std::make_unique<monitor::Monitor>(std::move(sources));
  const std::string host = options_.http_host.empty() ? options_.host : options_.http_host;
  if (!monitor_->Start(host, options_.http_port < 0 ? 0 : options_.http_port, error)) {
    *error = "monitoring: " + *error;
    return false;
  }
  LOG_INFO("Starting http monitor on %s:%d", host.empty() ? "0.0.0.0" : host.c_str(),
           monitor_->bound_port());
  return true;
}

void Server::WritePortsFile() {
  if (options_.ports_file_dir.empty()) return;
  ports_file_ = options_.ports_file_dir + "/" + BaseName(program_name_) + "_" +
                std::to_string(getpid()) + ".ports";
  std::string host = options_.host;
  if (host.empty() || host == "0.0.0.0" || host == "::") host = "127.0.0.1";
  std::ofstream out(ports_file_);
  out << "{\"nats\":[\"nats://" << host << ":" << context_.bound_port << "\"]";
  if (monitor_)
    out << ",\"monitoring\":[\"http://" << host << ":" << monitor_->bound_port() << "\"]";
  if (cluster_fd_ >= 0) out << ",\"cluster\":[\"nats://" << host << ":" << cluster_port_ << "\"]";
  if (leaf_fd_ >= 0) out << ",\"leafnode\":[\"nats://" << host << ":" << leaf_port_ << "\"]";
  if (websocket_fd_ >= 0) {
    out << ",\"websocket\":[\"" << (options_.websocket.tls_context ? "wss" : "ws") << "://" << host
        << ":" << websocket_port_ << "\"]";
  }
  if (mqtt_fd_ >= 0) out << ",\"mqtt\":[\"mqtt://" << host << ":" << mqtt_port_ << "\"]";
  if (gateway_fd_ >= 0) {
    out << ",\"gateway\":[\"nats://" << host << ":" << gateway_port_ << "\"]";
  }
  out << "}";
  if (!out) LOG_ERROR("cannot write ports file %s", ports_file_.c_str());
}

int Server::Run() {
  // Signals are taken synchronously by this thread; shard threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string error;
  if (!Start(&error)) {
    LOG_ERROR("%s", error.c_str());
    std::fprintf(stderr, "tern-server: %s\n", error.c_str());
    // A failure after the shards started (monitor port, pid file): stop them in order, or
    // their threads would end the process with an abort instead of exit status 1.
    if (!threads_.empty()) {
      RequestStop();
      Shutdown();
    }
    return 1;
  }
  LOG_INFO("Server is ready");
  WaitForSignals();
  Shutdown();
  LOG_INFO("Server Exiting..");
  return 0;
}

void Server::WaitForSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP}) sigaddset(&signals, sig);
  int64_t lame_duck_started = 0;
  while (context_.run_state() != RunState::kStopping) {
    timespec wait{0, 100'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    timespec now_ts;
    clock_gettime(CLOCK_MONOTONIC, &now_ts);
    const int64_t now = int64_t{now_ts.tv_sec} * 1'000'000'000 + now_ts.tv_nsec;
    if (sig == SIGINT || sig == SIGTERM) {
      LOG_INFO("Trapped \"%s\" signal", sig == SIGINT ? "interrupt" : "terminated");
      RequestStop();
    } else if (sig == SIGUSR1) {
      ReopenLog();
      LOG_INFO("Reopened log file");
    } else if (sig == SIGHUP) {
      Reload();
    } else if (sig == SIGUSR2 && context_.run_state() == RunState::kRunning) {
      LOG_INFO("Entering lame duck mode, stop accepting new clients");
      lame_duck_started = now;
      context_.state.store(static_cast<int>(RunState::kLameDuck));
      for (auto& shard : shards_) shard->Wake();
    }
    if (context_.run_state() == RunState::kLameDuck) {
      const bool drained = context_.connections.load() == 0 &&
                           now - lame_duck_started >= options_.lame_duck_grace_period_ns;
      const bool expired =
          now - lame_duck_started >= options_.lame_duck_duration_ns + int64_t{5'000'000'000};
      if (drained || expired) RequestStop();
    }
  }
}

void Server::Shutdown() {
  if (monitor_) monitor_->Stop();  // its requests post to the shards: stop it first
  for (auto& thread : threads_) thread.join();
  // Batches still in the rings belong to nobody now.
  for (int from = 0; from < context_.shard_count; ++from) {
    for (int to = 0; to < context_.shard_count; ++to) {
      XBatch* batch;
      while (context_.mesh->ring(from, to).TryPop(&batch)) XBatch::Destroy(batch);
    }
  }
  shards_.clear();
  if (pid_file_written_) unlink(options_.pid_file.c_str());
  if (!ports_file_.empty()) unlink(ports_file_.c_str());
}

}  // namespace tern::core
