// /jsz: JetStream's configuration and figures; with accounts/streams/consumers, the
// detail of each stream (gathered from its home shard).
#include "core/clock.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/registry.h"
#include "core/monitor/format.h"
#include "core/monitor/monitor.h"

namespace tern::core::monitor {

io::HttpResponse Monitor::Jsz(const Query& query) {
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(WallClockNs());
  if (sources_.registry == nullptr) {
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
  const bool accounts = streams || QueryFlag(query, "accounts");
  const bool with_config = QueryFlag(query, "config");
  if (query.count("acc") && query.at("acc") != "$G") {
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

  nlohmann::ordered_json account;
  account["name"] = "$G";
  account["id"] = "$G";
  account["memory"] = js["stats"]["memory"];
  account["storage"] = js["stats"]["storage"];
  account["reserved_memory"] = 0;
  account["reserved_storage"] = 0;
  account["accounts"] = 1;
  account["ha_assets"] = 0;
  account["api"] = js["stats"]["api"];
  if (streams) {
    std::vector<std::vector<nlohmann::json>> per_shard;
    const bool ok = OnEveryShard<std::vector<nlohmann::json>>(
        [&](Shard& shard, std::vector<nlohmann::json>* out) {
          if (shard.jetstream() != nullptr)
            *out = shard.jetstream()->MonitorStreams(with_config, consumers);
        },
        &per_shard);
    if (!ok) return {503, "text/plain", "a shard loop did not answer in time\n"};
    std::vector<nlohmann::json> all;
    for (auto& list : per_shard)
      for (auto& s : list) all.push_back(std::move(s));
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
  body["account_details"] = nlohmann::ordered_json::array({account});
  return JsonResponse(body, query);
}

}  // namespace tern::core::monitor
