// /varz: the server's identity, limits and totals, shaped like nats-server's.
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "core/clock.h"
#include "core/jetstream/registry.h"
#include "core/monitor/monitor.h"
#include "core/options.h"
#include "core/time_format.h"

namespace tern::core::monitor {
namespace {

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

nlohmann::ordered_json EmptyBlock(bool with_port) {
  nlohmann::ordered_json block = nlohmann::ordered_json::object();
  if (with_port) {
    block["host"] = "";
    block["port"] = 0;
  }
  return block;
}

}  // namespace

nlohmann::ordered_json Monitor::JetStreamStats() const {
  nlohmann::ordered_json js;
  const js::Registry* registry =
      sources_.registries.empty() ? nullptr : sources_.registries.front();
  // nats-server's defaults: 75% of memory, 75% of the store's free disk space.
  const int64_t memory = sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
  int64_t disk = 0;
  struct statvfs fs;
  if (registry != nullptr && statvfs(registry->store_dir().c_str(), &fs) == 0) {
    disk = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  }
  nlohmann::ordered_json config;
  config["max_memory"] = memory / 4 * 3;
  config["max_storage"] = disk / 4 * 3;
  config["store_dir"] = registry != nullptr ? registry->store_dir() + "/jetstream" : "";
  if (!sources_.settings()->options.js_domain.empty()) {
    config["domain"] = sources_.settings()->options.js_domain;
  }
  config["sync_interval"] = 0;  // every acknowledged publish is synced (group commit)
  js["config"] = config;
  uint64_t memory_bytes = 0, storage_bytes = 0, messages = 0, consumers = 0, streams = 0;
  uint64_t api_total = 0, api_errors = 0;
  for (const js::Registry* account : sources_.registries) {
    api_total += account->api_total.load();
    api_errors += account->api_errors.load();
    for (const js::StreamEntry& entry : account->List("")) {
      const js::StreamFigures& f = *entry.figures;
      const uint64_t bytes = f.bytes.load(std::memory_order_relaxed);
      (f.memory.load(std::memory_order_relaxed) ? memory_bytes : storage_bytes) += bytes;
      messages += f.msgs.load(std::memory_order_relaxed);
      consumers += f.consumers.load(std::memory_order_relaxed);
      ++streams;
    }
  }
  nlohmann::ordered_json stats;
  stats["memory"] = memory_bytes;
  stats["storage"] = storage_bytes;
  stats["reserved_memory"] = 0;
  stats["reserved_storage"] = 0;
  stats["accounts"] = sources_.registries.size();
  stats["ha_assets"] = 0;
  stats["api"] = {{"total", api_total}, {"errors", api_errors}};
  js["stats"] = stats;
  js["streams"] = streams;
  js["consumers"] = consumers;
  js["messages"] = messages;
  js["bytes"] = memory_bytes + storage_bytes;
  return js;
}

io::HttpResponse Monitor::Varz(const Query& query) {
  const std::shared_ptr<const LiveSettings> settings = sources_.settings();
  const ServerOptions& o = settings->options;
  const ServerContext& ctx = *sources_.context;
  const Totals t = SumStats();
  const int64_t now = WallClockNs();
  nlohmann::ordered_json v;
  v["server_id"] = ctx.server_id;
  v["server_name"] = ctx.server_name;
  v["version"] = kNatsProtocolVersion;
  v["proto"] = 1;
  v["git_commit"] = "";
  v["go"] = "tern " TERN_VERSION;
  v["host"] = o.host.empty() ? "0.0.0.0" : o.host;
  v["port"] = ctx.bound_port;
  v["auth_required"] = o.auth.required();
  v["tls_required"] = o.tls_context != nullptr;
  v["tls_verify"] = o.tls_context != nullptr && o.tls.verify;
  v["connect_urls"] = nlohmann::json::array();  // the cluster's, filled below
  v["max_connections"] = o.max_connections;
  v["max_subscriptions"] = o.max_subscriptions;
  v["ping_interval"] = o.ping_interval_ns;
  v["ping_max"] = o.ping_max;
  v["http_host"] = o.http_host.empty() ? "0.0.0.0" : o.http_host;
  v["http_port"] = bound_port_;
  v["http_base_path"] = "";
  v["https_port"] = 0;
  v["auth_timeout"] = Seconds(o.auth.timeout_ns);
  v["max_control_line"] = o.max_control_line;
  v["max_payload"] = o.max_payload;
  v["max_pending"] = o.max_pending;
  ClusterView cluster;
  v["cluster"] = ClusterVarz(&cluster);
  if (!cluster.connect_urls.empty()) v["connect_urls"] = cluster.connect_urls;
  v["gateway"] = GatewayVarz();
  v["leaf"] = LeafVarz();
  v["mqtt"] = EmptyBlock(false);
  if (o.mqtt.enabled) {  // as nats-server fills it: empty fields left out
    nlohmann::ordered_json& mqtt = v["mqtt"];
    mqtt["host"] = o.mqtt.host;
    mqtt["port"] = ctx.mqtt_port;
    if (!o.mqtt.auth.no_auth_user.empty()) mqtt["no_auth_user"] = o.mqtt.auth.no_auth_user;
    if (o.mqtt.tls_context) mqtt["tls_timeout"] = Seconds(o.mqtt.tls.timeout_ns);
    if (!o.mqtt.js_domain.empty()) mqtt["js_domain"] = o.mqtt.js_domain;
    mqtt["ack_wait"] = o.mqtt.ack_wait_ns;
    mqtt["max_ack_pending"] = o.mqtt.max_ack_pending;
  }
  v["websocket"] = EmptyBlock(false);
  if (o.websocket.enabled) {  // as nats-server fills it: false and empty fields left out
    nlohmann::ordered_json& ws = v["websocket"];
    ws["host"] = o.websocket.host;
    ws["port"] = ctx.websocket_port;
    if (!o.websocket.advertise.empty()) ws["advertise"] = o.websocket.advertise;
    if (o.websocket.tls_context == nullptr) ws["no_tls"] = true;
    if (o.websocket.policy.same_origin) ws["same_origin"] = true;
    if (!o.websocket.policy.allowed_origins.empty()) {
      ws["allowed_origins"] = o.websocket.policy.allowed_origins;
    }
    if (o.websocket.policy.compression) ws["compression"] = true;
  }
  if (!sources_.registries.empty()) {
    nlohmann::ordered_json js = JetStreamStats();
    v["jetstream"] = {{"config", js["config"]}, {"stats", js["stats"]}};
  } else {
    v["jetstream"] = nlohmann::ordered_json::object();
  }
  v["tls_timeout"] = Seconds(o.tls.timeout_ns);
  v["write_deadline"] = o.write_deadline_ns;
  v["start"] = Rfc3339Nano(ctx.start_unix_ns);
  v["now"] = Rfc3339Nano(now);
  v["uptime"] = Uptime(MonotonicNs() - ctx.start_mono_ns);
  v["mem"] = ResidentBytes();
  v["cores"] = std::thread::hardware_concurrency();
  v["gomaxprocs"] = ctx.shard_count;  // the threads that run clients: one per shard
  v["cpu"] = CpuPercent();
  v["connections"] = t.connections;
  v["total_connections"] = t.total_connections;
  v["routes"] = cluster.routes.size();
  v["remotes"] = cluster.routes.size();
  std::vector<LeafView> leafs;
  if (o.leaf.enabled || !o.leaf.remotes.empty()) GatherLeafs(false, &leafs);
  v["leafnodes"] = leafs.size();
  v["in_msgs"] = t.in_msgs;
  v["out_msgs"] = t.out_msgs;
  v["in_bytes"] = t.in_bytes;
  v["out_bytes"] = t.out_bytes;
  v["slow_consumers"] = t.slow_consumers;
  v["subscriptions"] = t.subscriptions;
  v["stale_connections"] = t.stale_connections;
  v["http_req_stats"] = http_req_stats_;
  v["config_load_time"] = Rfc3339Nano(sources_.config_load_time_ns());
  v["system_account"] = o.auth.accounts.size() > o.auth.accounts.system
                            ? o.auth.accounts[o.auth.accounts.system].name
                            : auth::kDefaultSystemAccountName;
  v["shards"] = ctx.shard_count;  // Tern: not in nats-server's /varz
  return JsonResponse(v, query);
}

}  // namespace tern::core::monitor
