#pragma once
// Server: start-up and shutdown of a tern-server. It builds the shared context, opens the
// listener, starts one thread per shard, and turns signals into run-state changes
// (SIGINT/SIGTERM stop, SIGUSR2 lame duck, SIGUSR1 reopen log). Ownership: the main
// thread; it owns the shards and joins their threads before returning.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/mutex.h"
#include "core/jetstream/registry.h"
#include "core/monitor/monitor.h"
#include "core/options.h"
#include "core/server_context.h"
#include "core/shard.h"

namespace tern::core {

// The settings shards read: the options plus the INFO prefix built from them and from the
// context's identity and bound port.
std::shared_ptr<const LiveSettings> MakeLiveSettings(const ServerOptions& options,
                                                     const ServerContext& context);

class Server {
 public:
  // `argv` is kept so that a reload (SIGHUP) reads the config file and then the same
  // flags again: flags keep winning over the file.
  Server(ServerOptions options, std::string program_name, std::vector<std::string> argv = {});
  ~Server();

  // Runs until stopped by a signal (or RequestStop). Returns the process exit code.
  int Run();
  // For tests and embedding: the same as SIGTERM.
  void RequestStop();

 private:
  bool Start(std::string* error);
  bool StartShardThreads(std::string* error);
  void WaitForSignals();
  void Shutdown();
  void WritePortsFile();
  bool StartMonitor(std::string* error);
  // SIGHUP: re-reads the config; applies it if only reloadable settings changed.
  void Reload();
  std::shared_ptr<const LiveSettings> CurrentSettings() const;

  // Shard threads report their set-up here and wait for the go.
  struct StartUp {
    base::Mutex mutex;
    base::CondVar changed;
    int reported ABSL_GUARDED_BY(mutex) = 0;
    bool go ABSL_GUARDED_BY(mutex) = false;
    bool failed ABSL_GUARDED_BY(mutex) = false;
    std::string error ABSL_GUARDED_BY(mutex);
  };

  ServerOptions options_;
  std::string program_name_;
  ServerContext context_;
  // One per account that has JetStream or answers that it has none; outlive the shards.
  std::vector<std::unique_ptr<js::Registry>> registries_;
  std::vector<std::string> argv_;
  // Settings now in force; read by the monitor thread, replaced by Reload().
  mutable base::Mutex settings_mutex_;
  std::shared_ptr<const LiveSettings> settings_ ABSL_GUARDED_BY(settings_mutex_);
  int64_t config_load_time_ns_ ABSL_GUARDED_BY(settings_mutex_) = 0;
  std::unique_ptr<monitor::Monitor> monitor_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  StartUp startup_;
  int listen_fd_ = -1;
  int cluster_fd_ = -1;  // the route listener (cluster port), when clustered
  int cluster_port_ = 0;
  int leaf_fd_ = -1;  // the leafnode listener, when other servers may connect as leafnodes
  int leaf_port_ = 0;
  int gateway_fd_ = -1;    // the gateway listener, in a supercluster
  int websocket_fd_ = -1;  // the websocket listener (websocket {} block)
  int websocket_port_ = 0;
  int mqtt_fd_ = -1;  // the MQTT listener (mqtt {} block, --mqtt_port)
  int mqtt_port_ = 0;
  int gateway_port_ = 0;
  std::string ports_file_;
  bool pid_file_written_ = false;
};

}  // namespace tern::core
