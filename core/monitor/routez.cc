// /routez and the cluster figures of /varz: the routes live on shard 0 (docs/CLUSTERING.md),
// so one task there reads them from its ClusterService.
#include <nlohmann/json.hpp>

#include "core/cluster_service.h"
#include "core/monitor/monitor.h"
#include "core/time_format.h"

namespace tern::core::monitor {
namespace {

const ClusterService* FindCluster(const Shard& shard) {
  const ClusterService* found = nullptr;
  shard.ForEachService([&](const LoopService& service) {
    if (found == nullptr) found = dynamic_cast<const ClusterService*>(&service);
  });
  return found;
}

}  // namespace

bool Monitor::GatherRoutes(bool with_subs, ClusterView* view) const {
  std::vector<ClusterView> per_shard;
  const bool ok = OnEveryShard<ClusterView>(
      [&](Shard& shard, ClusterView* v) {
        const ClusterService* cluster = shard.index() == 0 ? FindCluster(shard) : nullptr;
        if (cluster == nullptr) return;
        v->clustered = true;
        v->name = cluster->cluster_name();
        v->connect_urls = cluster->client_connect_urls();
        cluster->ForEachRoute([&](const RouteConnection& route) {
          RouteView r;
          route.Describe(&r.info, with_subs);
          r.remote_id = route.peer().server_id;
          r.did_solicit = route.dialled();
          r.is_configured = route.explicit_route();
          r.dropped_msgs = route.dropped_msgs();
          v->routes.push_back(std::move(r));
        });
      },
      &per_shard);
  if (!ok) return false;
  for (ClusterView& v : per_shard) {
    if (v.clustered) *view = std::move(v);
  }
  return true;
}

io::HttpResponse Monitor::Routez(const Query& query) {
  const bool detail = query.count("subs") && query.at("subs") == "detail";
  const bool subs = detail || QueryFlag(query, "subs");
  ClusterView view;
  if (!GatherRoutes(subs, &view)) return {503, "text/plain", "shards did not answer\n"};
  const int64_t now = WallClockNs();
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["server_name"] = sources_.context->server_name;
  body["now"] = Rfc3339Nano(now);
  body["num_routes"] = view.routes.size();
  body["routes"] = nlohmann::json::array();
  for (const RouteView& r : view.routes) {
    nlohmann::ordered_json route;
    route["rid"] = r.info.cid;
    route["remote_id"] = r.remote_id;
    route["remote_name"] = r.info.name;
    route["did_solicit"] = r.did_solicit;
    route["is_configured"] = r.is_configured;
    route["ip"] = r.info.ip;
    route["port"] = r.info.port;
    route["start"] = Rfc3339Nano(r.info.start_unix_ns);
    route["last_activity"] = Rfc3339Nano(r.info.last_activity_unix_ns);
    route["rtt"] = GoDuration(r.info.rtt_ns);
    route["uptime"] = Uptime(now - r.info.start_unix_ns);
    route["idle"] = Uptime(now - r.info.last_activity_unix_ns);
    route["pending_size"] = r.info.pending_bytes;
    route["in_msgs"] = r.info.in_msgs;
    route["out_msgs"] = r.info.out_msgs;
    route["in_bytes"] = r.info.in_bytes;
    route["out_bytes"] = r.info.out_bytes;
    route["subscriptions"] = r.info.num_subs;
    if (subs && !r.info.subs.empty()) {
      if (detail) {
        nlohmann::ordered_json list = nlohmann::json::array();
        for (const SubInfo& sub : r.info.subs) list.push_back(SubDetailJson(sub, r.info.cid));
        route["subscriptions_list_detail"] = list;
      } else {
        nlohmann::ordered_json list = nlohmann::json::array();
        for (const SubInfo& sub : r.info.subs) list.push_back(sub.subject);
        route["subscriptions_list"] = list;
      }
    }
    body["routes"].push_back(route);
  }
  return JsonResponse(body, query);
}

nlohmann::ordered_json Monitor::ClusterVarz(ClusterView* view) const {
  const ClusterOptions& cluster = sources_.settings()->options.cluster;
  nlohmann::ordered_json block = nlohmann::ordered_json::object();
  if (!cluster.enabled) return block;
  GatherRoutes(false, view);
  const ClusterView& gathered = *view;
  block["name"] = gathered.name.empty() ? cluster.name : gathered.name;
  block["addr"] = cluster.host.empty() ? "0.0.0.0" : cluster.host;
  block["cluster_port"] = sources_.context->cluster_port;
  block["auth_timeout"] = Seconds(cluster.auth_timeout_ns);
  nlohmann::ordered_json urls = nlohmann::json::array();
  for (const std::string& text : cluster.routes) {
    RouteUrl url;
    if (ParseRouteUrl(text, &url)) urls.push_back(url.host + ":" + std::to_string(url.port));
  }
  if (!urls.empty()) block["urls"] = urls;
  block["tls_timeout"] = Seconds(cluster.tls.timeout_ns);
  if (cluster.tls_context != nullptr) {
    block["tls_required"] = true;
    block["tls_verify"] = true;  // as nats-server reports it: both with TLS
  }
  return block;
}

}  // namespace tern::core::monitor
