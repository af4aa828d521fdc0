// /gatewayz and the "gateway" block of /varz: the gateway links live on shard 0
// (docs/CLUSTERING.md), so one task there reads them from its GatewayService.
#include <nlohmann/json.hpp>

#include "core/gateway_service.h"
#include "core/monitor/monitor.h"
#include "core/time_format.h"

namespace tern::core::monitor {
namespace {

const GatewayService* FindGatewayService(const Shard& shard) {
  const GatewayService* found = nullptr;
  shard.ForEachService([&](const LoopService& service) {
    if (found == nullptr) found = dynamic_cast<const GatewayService*>(&service);
  });
  return found;
}

nlohmann::ordered_json ConnectionJson(const ConnInfo& c, int64_t now) {
  nlohmann::ordered_json j;
  j["cid"] = c.cid;
  j["ip"] = c.ip;
  j["port"] = c.port;
  j["start"] = Rfc3339Nano(c.start_unix_ns);
  j["last_activity"] = Rfc3339Nano(c.last_activity_unix_ns);
  j["rtt"] = GoDuration(c.rtt_ns);
  j["uptime"] = Uptime(now - c.start_unix_ns);
  j["idle"] = Uptime(now - c.last_activity_unix_ns);
  j["pending_bytes"] = c.pending_bytes;
  j["in_msgs"] = c.in_msgs;
  j["out_msgs"] = c.out_msgs;
  j["in_bytes"] = c.in_bytes;
  j["out_bytes"] = c.out_bytes;
  j["subscriptions"] = c.num_subs;
  j["name"] = c.name;
  return j;
}

}  // namespace

bool Monitor::GatherGateways(std::vector<GatewayView>* out) const {
  std::vector<std::vector<GatewayView>> per_shard;
  const bool ok = OnEveryShard<std::vector<GatewayView>>(
      [&](Shard& shard, std::vector<GatewayView>* links) {
        const GatewayService* service = shard.index() == 0 ? FindGatewayService(shard) : nullptr;
        if (service == nullptr) return;
        service->ForEachGateway([&](const GatewayConnection& link) {
          if (!link.registered()) return;
          GatewayView view;
          link.Describe(&view.info, false);
          view.name = link.name();
          view.outbound = link.outbound();
          links->push_back(std::move(view));
        });
      },
      &per_shard);
  if (!ok) return false;
  for (auto& links : per_shard) {
    for (auto& link : links) out->push_back(std::move(link));
  }
  return true;
}

io::HttpResponse Monitor::Gatewayz(const Query& query) {
  const GatewayOptions& options = sources_.settings()->options.gateway;
  std::vector<GatewayView> links;
  if (!GatherGateways(&links)) return {503, "text/plain", "shards did not answer\n"};
  const int64_t now = WallClockNs();
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(now);
  if (options.enabled) {
    body["name"] = options.name;
    body["host"] = options.host;
    body["port"] = sources_.context->gateway_port;
  }
  auto configured = [&](const std::string& name) {
    for (const RemoteGateway& remote : options.gateways) {
      if (remote.name == name) return true;
    }
    return false;
  };
  nlohmann::ordered_json outbound = nlohmann::ordered_json::object();
  nlohmann::ordered_json inbound = nlohmann::ordered_json::object();
  for (const GatewayView& link : links) {
    nlohmann::ordered_json remote;
    remote["configured"] = configured(link.name);
    remote["connection"] = ConnectionJson(link.info, now);
    if (link.outbound) {
      outbound[link.name] = remote;
    } else {
      if (!inbound.contains(link.name)) inbound[link.name] = nlohmann::json::array();
      inbound[link.name].push_back(remote);
    }
  }
  body["outbound_gateways"] = outbound;
  body["inbound_gateways"] = inbound;
  return JsonResponse(body, query);
}

nlohmann::ordered_json Monitor::GatewayVarz() const {
  const GatewayOptions& options = sources_.settings()->options.gateway;
  nlohmann::ordered_json block = nlohmann::ordered_json::object();
  if (!options.enabled) return block;
  block["name"] = options.name;
  block["host"] = options.host;
  block["port"] = sources_.context->gateway_port;
  block["auth_timeout"] = Seconds(options.auth_timeout_ns);
  block["tls_timeout"] = Seconds(options.tls.timeout_ns);
  if (!options.advertise.empty()) block["advertise"] = options.advertise;
  nlohmann::ordered_json gateways = nlohmann::json::array();
  for (const RemoteGateway& remote : options.gateways) {
    nlohmann::ordered_json r;
    r["name"] = remote.name;
    nlohmann::ordered_json urls = nlohmann::json::array();
    for (const RouteUrl& url : remote.urls)
      urls.push_back(url.host + ":" + std::to_string(url.port));
    r["urls"] = urls;
    gateways.push_back(r);
  }
  if (!gateways.empty()) block["gateways"] = gateways;
  if (options.reject_unknown) block["reject_unknown"] = true;
  return block;
}

}  // namespace tern::core::monitor
