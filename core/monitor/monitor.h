#pragma once
// Monitor: the HTTP monitoring endpoints of nats-server (/varz, /connz, /subsz, /routez,
// /jsz, /accountz, /healthz, /) and Prometheus' /metrics. It runs on the HTTP server's own
// thread; figures owned by shards are gathered by posting a task to each shard and
// waiting for the answers (Shard::Post), so no shard loop ever stops or takes a lock on its
// message path. Ownership: the Server creates it after the shards run and stops it first.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/conn_info.h"
#include "core/gather.h"
#include "core/server_context.h"
#include "core/shard.h"
#include "core/stan/stan_view.h"
#include "io/http_server.h"

namespace tern::core {
namespace js {
class Registry;
}

namespace monitor {

struct Sources {
  ServerContext* context = nullptr;
  // The accounts with JetStream enabled ($G first when it has it); empty when it is off.
  std::vector<js::Registry*> registries;
  // The settings now in force (they change on reload) and when they were loaded.
  std::function<std::shared_ptr<const LiveSettings>()> settings;
  std::function<int64_t()> config_load_time_ns;
};

// The subscription index's figures summed over the shards (/subsz, /accountz).
struct SublistFigures {
  uint64_t count = 0, cache = 0, inserts = 0, removes = 0, hits = 0, misses = 0;
  uint64_t fanout_total = 0, fanout_max = 0, fanout_samples = 0;
  std::vector<std::pair<uint64_t, SubInfo>> list;  // (cid, subscription) if asked for
  // num_subscriptions ... avg_fanout, as nats-server names them.
  void AppendStats(nlohmann::ordered_json* body) const;
};

// A duration in seconds as nats-server's JSON shows a float64: 2, not 2.0.
inline nlohmann::ordered_json Seconds(int64_t ns) {
  if (ns % 1'000'000'000 == 0) return ns / 1'000'000'000;
  return static_cast<double>(ns) / 1e9;
}

// One subscription as /subsz and /connz?subs=detail show it.
nlohmann::ordered_json SubDetailJson(const SubInfo& sub, uint64_t cid);

// What the monitor shows of the cluster, copied from shard 0 (routez.cc).
struct RouteView {
  ConnInfo info;
  std::string remote_id;
  bool did_solicit = false;
  bool is_configured = false;
  uint64_t dropped_msgs = 0;
};
struct ClusterView {
  bool clustered = false;
  std::string name;
  std::vector<RouteView> routes;
  std::vector<std::string> connect_urls;  // what clients are told of the cluster's nodes
};

// What the monitor shows of a leafnode link, copied from shard 0 (leafz.cc).
struct LeafView {
  ConnInfo info;
  std::string remote_id;
  bool is_spoke = false;  // this node dialled it (the link is to our hub)
};

// What the monitor shows of a gateway link, copied from shard 0 (gatewayz.cc).
struct GatewayView {
  ConnInfo info;
  std::string name;  // the other cluster's gateway name
  bool outbound = false;
};

// A STAN channel's stream's figures (first and last sequence 0 when it is empty).
struct StanChannelFigures {
  uint64_t msgs = 0, bytes = 0, first_seq = 0, last_seq = 0;
};

class Monitor {
 public:
  explicit Monitor(Sources sources);
  ~Monitor();

  bool Start(const std::string& host, int port, std::string* error);
  void Stop();
  int bound_port() const { return bound_port_; }

  // One request (on the HTTP thread).
  io::HttpResponse Handle(const io::HttpRequest& request);

 private:
  using Query = std::map<std::string, std::string>;
  io::HttpResponse Varz(const Query& query);
  io::HttpResponse Connz(const Query& query);
  io::HttpResponse Subsz(const Query& query);
  io::HttpResponse Routez(const Query& query);
  io::HttpResponse Leafz(const Query& query);
  io::HttpResponse Gatewayz(const Query& query);
  io::HttpResponse Jsz(const Query& query);
  io::HttpResponse Accountz(const Query& query);
  io::HttpResponse Healthz(const Query& query);
  io::HttpResponse Metrics();
  // /streaming and /streaming/...: the STAN service's endpoints (streaming.cc).
  io::HttpResponse Streaming(const std::string& path, const Query& query);
  // The STAN service's snapshot from shard 0; false if it did not answer in time.
  bool GatherStan(StanView* out) const;
  StanChannelFigures ChannelFigures(const std::string& stream) const;
  io::HttpResponse Index() const;

  Totals SumStats() const;
  // Gathers SublistFigures; with `list`, the client subscriptions (matching `test` if set).
  // `account` >= 0: only that account's subject space.
  bool GatherSublist(bool list, const std::string& test, SublistFigures* sum,
                     int account = -1) const;
  // The routes (on shard 0) into *out; false if it did not answer in time.
  bool GatherRoutes(bool with_subs, ClusterView* out) const;
  // The leafnode links (on shard 0) into *out; false if it did not answer in time.
  bool GatherLeafs(bool with_subs, std::vector<LeafView>* out) const;
  // The "leaf" block of /varz.
  nlohmann::ordered_json LeafVarz() const;
  // The registered gateway links (on shard 0); false if it did not answer in time.
  bool GatherGateways(std::vector<GatewayView>* out) const;
  nlohmann::ordered_json GatewayVarz() const;
  // The "cluster" block of /varz; *view gets the routes registered now.
  nlohmann::ordered_json ClusterVarz(ClusterView* view) const;
  // The "jetstream" block of /varz and the figures /jsz and /metrics share.
  nlohmann::ordered_json JetStreamStats() const;
  // Streams whose store failed, over every account.
  uint64_t FailedStreams() const;
  // Runs fill(shard, &slot) on every shard's own thread; false if one did not answer in
  // time (a stuck loop), in which case *out is left alone.
  template <typename T>
  bool OnEveryShard(const std::function<void(Shard&, T*)>& fill, std::vector<T>* out) const;
  // Process CPU use (%) since the previous call.
  double CpuPercent();

  Sources sources_;
  io::HttpServer http_;
  int bound_port_ = 0;
  std::map<std::string, uint64_t> http_req_stats_;  // HTTP thread only
  int64_t last_scrape_ns_ = 0;                      // /metrics: when the previous scrape ran
  std::vector<uint64_t> last_busy_ns_;              // /metrics: shard busy time at that scrape
  int64_t last_cpu_ticks_ = 0;
  int64_t last_cpu_wall_ns_ = 0;
};

// A JSON answer, wrapped as JSONP when the request names a callback.
io::HttpResponse JsonResponse(const nlohmann::ordered_json& body,
                              const std::map<std::string, std::string>& query, int status = 200);
// A 400 with a plain-text reason.
io::HttpResponse BadRequest(const std::string& text);
// Reads a non-negative integer query parameter; false (with a 400 prepared) if malformed.
bool QueryInt(const std::map<std::string, std::string>& query, const std::string& key,
              int64_t fallback, int64_t* out, io::HttpResponse* error);
// true for "1", "true", "detail" etc.
bool QueryFlag(const std::map<std::string, std::string>& query, const std::string& key);

template <typename T>
bool Monitor::OnEveryShard(const std::function<void(Shard&, T*)>& fill, std::vector<T>* out) const {
  const std::vector<Shard*>& shards = sources_.context->shards;
  const std::function<void(std::size_t, T*)> fill_shard = [&](std::size_t i, T* value) {
    fill(*shards[i], value);
  };
  return Gather<T>(
      shards.size(),
      [&](std::size_t i, std::function<void()> task) { shards[i]->Post(std::move(task)); },
      fill_shard, std::chrono::seconds(2), out);
}

}  // namespace monitor
}  // namespace tern::core
