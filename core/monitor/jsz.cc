// /jsz: JetStream's configuration and figures; with accounts/streams/consumers, the
// detail of each stream (gathered from its home shard).
#include "core/clock.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/registry.h"
#include "core/monitor/monitor.h"
#include "core/time_format.h"

namespace tern::core::monitor {

uint64_t Monitor::FailedStreams() const {
  uint64_t failed = 0;
  for (const js::Registry* registry : sources_.registries)
    failed += registry->failed_streams.load();
  return failed;
}

io::HttpResponse Monitor::Jsz(const Query& query) {
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(WallClockNs());
  if (sources_.registries.empty()) {
    body["disabled"] = true;
    return JsonResponse(body, query);
  }
  io::HttpResponse error;
  int64_t offset, limit;
  if (!QueryInt(query, "offset", 0, &offset, &error) ||
      !QueryInt(query, "limit", 1024, &limit, &error)) {
    return error;
  }
  const bool consumers = QueryFlag(query, "consumers");
  const bool streams = consumers || QueryFlag(query, "streams");
  const bool accounts = streams || QueryFlag(query, "accounts") || query.count("acc");
  const bool with_config = QueryFlag(query, "config");
  std::vector<const js::Registry*> shown;
  for (const js::Registry* registry : sources_.registries) {
    if (!query.count("acc") || query.at("acc") == registry->account()) shown.push_back(registry);
  }
  if (query.count("acc") && shown.empty()) {
    return BadRequest("account \"" + query.at("acc") + "\" not found");
  }
  nlohmann::ordered_json js = JetStreamStats();
  body["config"] = js["config"];
  for (const auto& [key, value] : js["stats"].items()) body[key] = value;
  body["streams"] = js["streams"];
  body["consumers"] = js["consumers"];
  body["messages"] = js["messages"];
  body["bytes"] = js["bytes"];
  if (!accounts) return JsonResponse(body, query);

  // Stream detail from every shard, tagged with its account.
  std::vector<std::vector<std::pair<auth::AccountId, nlohmann::json>>> per_shard;
  if (streams) {
    const bool ok = OnEveryShard<std::vector<std::pair<auth::AccountId, nlohmann::json>>>(
        [&](Shard& shard, std::vector<std::pair<auth::AccountId, nlohmann::json>>* out) {
          shard.ForEachService([&](const LoopService& service) {
            const auto* js_shard = dynamic_cast<const js::JsShard*>(&service);
            if (js_shard == nullptr) return;
            for (auto& s : js_shard->MonitorStreams(with_config, consumers)) {
              out->emplace_back(js_shard->account(), std::move(s));
            }
          });
        },
        &per_shard);
    if (!ok) return {503, "text/plain", "a shard loop did not answer in time\n"};
  }
  auto& details = body["account_details"] = nlohmann::ordered_json::array();
  for (const js::Registry* registry : shown) {
    uint64_t memory = 0, storage = 0;
    for (const js::StreamEntry& entry : registry->List("")) {
      const uint64_t bytes = entry.figures->bytes.load(std::memory_order_relaxed);
      (entry.figures->memory.load(std::memory_order_relaxed) ? memory : storage) += bytes;
    }
    nlohmann::ordered_json account;
    account["name"] = registry->account();
    account["id"] = registry->account();
    account["memory"] = memory;
    account["storage"] = storage;
    account["reserved_memory"] =
        registry->limits().max_memory < 0 ? 0 : registry->limits().max_memory;
    account["reserved_storage"] = registry->limits().max_file < 0 ? 0 : registry->limits().max_file;
    account["accounts"] = 1;
    account["ha_assets"] = 0;
    account["api"] = {{"total", registry->api_total.load()},
                      {"errors", registry->api_errors.load()}};
    if (streams) {
      std::vector<nlohmann::json> all;
      for (auto& list : per_shard)
        for (auto& [id, s] : list)
          if (id == registry->account_id()) all.push_back(s);
      std::sort(all.begin(), all.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
        return a["name"] < b["name"];
      });
      auto& detail = account["stream_detail"] = nlohmann::ordered_json::array();
      const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(offset), all.size());
      const std::size_t last =
          std::min<std::size_t>(first + static_cast<std::size_t>(limit), all.size());
      // Stream details are built as (unordered) json on the shards; re-read in order.
      for (std::size_t i = first; i < last; ++i) {
        detail.push_back(nlohmann::ordered_json::parse(
            all[i].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
      }
    }
    details.push_back(std::move(account));
  }
  return JsonResponse(body, query);
}

}  // namespace tern::core::monitor
