// Server::Reload (SIGHUP): the config file and the same flags are read again. Settings
// that can change on a running server are applied (each shard swaps its settings at a
// turn boundary); if any other setting changed, nothing is applied and the error says
// which, as nats-server does.
#include <functional>
#include <vector>

#include "core/clock.h"
#include "core/gather.h"
#include "core/log.h"
#include "core/server.h"

namespace tern::core {
namespace {

struct Setting {
  const char* name;
  std::function<bool(const ServerOptions&, const ServerOptions&)> same;
};

template <typename Field>
Setting Compare(const char* name, Field ServerOptions::*field) {
  return {name,
          [field](const ServerOptions& a, const ServerOptions& b) { return a.*field == b.*field; }};
}

bool SameDeclaredStreams(const ServerOptions& a, const ServerOptions& b) {
  if (a.declared_streams.size() != b.declared_streams.size()) return false;
  for (std::size_t i = 0; i < a.declared_streams.size(); ++i) {
    // Positions differ when lines move; compare what the blocks say.
    if (ConfText(a.declared_streams[i]) != ConfText(b.declared_streams[i])) return false;
  }
  return true;
}

const std::vector<Setting>& FixedSettings() {
  static const std::vector<Setting> kFixed = {
      Compare("host", &ServerOptions::host),
      Compare("port", &ServerOptions::port),
      Compare("server_name", &ServerOptions::server_name),
      Compare("no_header_support", &ServerOptions::no_header_support),
      Compare("http_port", &ServerOptions::http_port),
      Compare("http_host", &ServerOptions::http_host),
      Compare("jetstream", &ServerOptions::jetstream),
      Compare("store_dir", &ServerOptions::store_dir),
      Compare("pid_file", &ServerOptions::pid_file),
      Compare("ports_file_dir", &ServerOptions::ports_file_dir),
      Compare("shards", &ServerOptions::shards),
      Compare("io", &ServerOptions::io),
      Compare("js_sync", &ServerOptions::js_sync_in_ring),
      Compare("accounts", &ServerOptions::accounts_source),
      Compare("cluster", &ServerOptions::cluster_source),
      Compare("leafnodes", &ServerOptions::leaf_source),
      Compare("gateway", &ServerOptions::gateway_source),
      {"jetstream streams", SameDeclaredStreams},
  };
  return kFixed;
}

const std::vector<Setting>& ReloadableSettings() {
  static const std::vector<Setting> kReloadable = {
      Compare("debug", &ServerOptions::debug),
      Compare("trace", &ServerOptions::trace),
      Compare("logfile", &ServerOptions::log_file),
      Compare("client_advertise", &ServerOptions::client_advertise),
      Compare("max_payload", &ServerOptions::max_payload),
      Compare("max_connections", &ServerOptions::max_connections),
      Compare("max_closed_clients", &ServerOptions::max_closed_clients),
      Compare("max_subscriptions", &ServerOptions::max_subscriptions),
      Compare("max_pending", &ServerOptions::max_pending),
      Compare("max_control_line", &ServerOptions::max_control_line),
      Compare("ping_interval", &ServerOptions::ping_interval_ns),
      Compare("ping_max", &ServerOptions::ping_max),
      Compare("write_deadline", &ServerOptions::write_deadline_ns),
      Compare("lame_duck_duration", &ServerOptions::lame_duck_duration_ns),
      Compare("lame_duck_grace_period", &ServerOptions::lame_duck_grace_period_ns),
      Compare("authorization", &ServerOptions::auth_source),
      Compare("tls", &ServerOptions::tls_source),
  };
  return kReloadable;
}

}  // namespace

void Server::Reload() {
  LOG_INFO("Reloading server configuration");
  if (options_.config_file.empty()) {
    LOG_ERROR("Failed to reload server configuration: can only reload with a config file (-c)");
    return;
  }
  std::vector<const char*> args;
  for (const std::string& arg : argv_) args.push_back(arg.c_str());
  ServerOptions fresh;
  std::string error;
  if (ParseCommandLine(static_cast<int>(args.size()), args.data(), &fresh, &error) !=
      ParseResult::kRun) {
    LOG_ERROR("Failed to reload server configuration: %s", error.c_str());
    return;
  }
  if (fresh.store_dir.empty()) fresh.store_dir = options_.store_dir;  // the default filled in
  std::string refused;
  for (const Setting& s : FixedSettings()) {
    if (!s.same(options_, fresh)) refused += std::string(refused.empty() ? "" : ", ") + s.name;
  }
  if (!refused.empty()) {
    LOG_ERROR(
        "Failed to reload server configuration: config reload not supported for %s "
        "(restart the server to change it); nothing was changed",
        refused.c_str());
    return;
  }
  if (!ConfigureLog(fresh.log_file, fresh.debug, fresh.trace, &error)) {
    LOG_ERROR("Failed to reload server configuration: %s", error.c_str());
    return;
  }
  for (const std::string& warning : fresh.warnings) LOG_WARN("%s", warning.c_str());
  std::vector<const char*> changed;
  for (const Setting& s : ReloadableSettings()) {
    if (!s.same(options_, fresh)) changed.push_back(s.name);
  }
  options_ = std::move(fresh);
  auto settings = MakeLiveSettings(options_, context_);
  {
    base::MutexLock lock(&settings_mutex_);
    settings_ = settings;
    config_load_time_ns_ = WallClockNs();
  }
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->Post([s, settings] { s->ApplySettings(settings); });
  }
  // Report the reload only once it is in force everywhere: a shard runs posted tasks in
  // order, so its answer to this (empty) task means it has applied the settings, and a
  // connection accepted from now on sees them.
  std::vector<int> confirmed;
  const std::function<void(std::size_t, int*)> confirm = [](std::size_t, int* done) { *done = 1; };
  if (!Gather<int>(
          shards_.size(),
          [this](std::size_t i, std::function<void()> task) { shards_[i]->Post(std::move(task)); },
          confirm, std::chrono::seconds(10), &confirmed)) {
    LOG_WARN(
        "Reload: a shard has not applied the new configuration within 10s; it will when "
        "its loop turns");
  }
  // Each changed setting is named only now too: a client that waits for "Reloaded: X"
  // and then connects must meet X.
  for (const char* name : changed) LOG_INFO("Reloaded: %s", name);
  LOG_INFO("Reloaded server configuration (%zu setting%s changed)", changed.size(),
           changed.size() == 1 ? "" : "s");
}

std::shared_ptr<const LiveSettings> Server::CurrentSettings() const {
  base::MutexLock lock(&settings_mutex_);
  return settings_;
}

}  // namespace tern::core
