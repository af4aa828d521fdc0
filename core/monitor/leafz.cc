// /leafz, the "leaf" block and leafnode count of /varz, and the leafnode metrics: the
// links live on shard 0 (docs/CLUSTERING.md), so one task there reads them from its
// LeafService.
#include <nlohmann/json.hpp>

#include "core/leaf_service.h"
#include "core/monitor/monitor.h"
#include "core/route.h"
#include "core/time_format.h"

namespace tern::core::monitor {
namespace {

const LeafService* FindLeafService(const Shard& shard) {
  const LeafService* found = nullptr;
  shard.ForEachService([&](const LoopService& service) {
    if (found == nullptr) found = dynamic_cast<const LeafService*>(&service);
  });
  return found;
}

}  // namespace

bool Monitor::GatherLeafs(bool with_subs, std::vector<LeafView>* out) const {
  std::vector<std::vector<LeafView>> per_shard;
  const bool ok = OnEveryShard<std::vector<LeafView>>(
      [&](Shard& shard, std::vector<LeafView>* leafs) {
        const LeafService* service = shard.index() == 0 ? FindLeafService(shard) : nullptr;
        if (service == nullptr) return;
        service->ForEachLeaf([&](const LeafConnection& link) {
          LeafView view;
          link.Describe(&view.info, with_subs);
          view.remote_id = link.peer().server_id;
          view.is_spoke = link.dialled();
          leafs->push_back(std::move(view));
        });
      },
      &per_shard);
  if (!ok) return false;
  for (auto& leafs : per_shard) {
    for (auto& leaf : leafs) out->push_back(std::move(leaf));
  }
  return true;
}

io::HttpResponse Monitor::Leafz(const Query& query) {
  const bool subs = QueryFlag(query, "subs");
  const std::string account = query.count("acc") ? query.at("acc") : std::string();
  std::vector<LeafView> leafs;
  if (!GatherLeafs(subs, &leafs)) return {503, "text/plain", "shards did not answer\n"};
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(WallClockNs());
  nlohmann::ordered_json list = nlohmann::json::array();
  for (const LeafView& leaf : leafs) {
    if (!account.empty() && leaf.info.account != account) continue;
    nlohmann::ordered_json l;
    l["account"] = leaf.info.account;
    l["ip"] = leaf.info.ip;
    l["port"] = leaf.info.port;
    l["rtt"] = GoDuration(leaf.info.rtt_ns);
    l["in_msgs"] = leaf.info.in_msgs;
    l["out_msgs"] = leaf.info.out_msgs;
    l["in_bytes"] = leaf.info.in_bytes;
    l["out_bytes"] = leaf.info.out_bytes;
    l["subscriptions"] = leaf.info.num_subs;
    if (subs && !leaf.info.subs.empty()) {
      nlohmann::ordered_json names = nlohmann::json::array();
      for (const SubInfo& sub : leaf.info.subs) names.push_back(sub.subject);
      l["subscriptions_list"] = names;
    }
    list.push_back(l);
  }
  body["leafnodes"] = list.size();
  body["leafs"] = list;
  return JsonResponse(body, query);
}

nlohmann::ordered_json Monitor::LeafVarz() const {
  const LeafOptions& leaf = sources_.settings()->options.leaf;
  nlohmann::ordered_json block = nlohmann::ordered_json::object();
  if (leaf.enabled) {
    block["host"] = leaf.host;
    block["port"] = sources_.context->leaf_port;
    block["auth_timeout"] = Seconds(leaf.auth_timeout_ns);
    block["tls_timeout"] = Seconds(leaf.tls.timeout_ns);
    if (leaf.tls_context != nullptr) block["tls_required"] = true;
    if (leaf.tls.verify) block["tls_verify"] = true;
  }
  if (!leaf.remotes.empty()) {
    nlohmann::ordered_json remotes = nlohmann::json::array();
    for (const LeafRemote& remote : leaf.remotes) {
      nlohmann::ordered_json r;
      if (!remote.account.empty()) r["local_account"] = remote.account;
      nlohmann::ordered_json urls = nlohmann::json::array();
      for (const RouteUrl& url : remote.urls)
        urls.push_back(url.host + ":" + std::to_string(url.port));
      r["urls"] = urls;
      if (!remote.deny_imports.empty() || !remote.deny_exports.empty()) {
        nlohmann::ordered_json deny = nlohmann::ordered_json::object();
        if (!remote.deny_exports.empty()) deny["exports"] = remote.deny_exports;
        if (!remote.deny_imports.empty()) deny["imports"] = remote.deny_imports;
        r["deny"] = deny;
      }
      remotes.push_back(r);
    }
    block["remotes"] = remotes;
  }
  return block;
}

}  // namespace tern::core::monitor
