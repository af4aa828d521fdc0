// /connz: open and recently closed client connections, gathered from every shard.
#include <algorithm>

#include "core/clock.h"
#include "core/monitor/monitor.h"
#include "core/time_format.h"

namespace tern::core::monitor {
namespace {

struct ShardConns {
  std::vector<ConnInfo> open;
  std::vector<ConnInfo> closed;
};

using Less = bool (*)(const ConnInfo&, const ConnInfo&);

// nats-server's sort options; all but cid, start, stop and reason sort descending.
bool SortFor(const std::string& key, Less* less) {
  static const std::pair<const char*, Less> kSorts[] = {
      {"cid", [](const ConnInfo& a, const ConnInfo& b) { return a.cid < b.cid; }},
      {"start",
       [](const ConnInfo& a, const ConnInfo& b) { return a.start_unix_ns < b.start_unix_ns; }},
      {"subs", [](const ConnInfo& a, const ConnInfo& b) { return a.num_subs > b.num_subs; }},
      {"pending",
       [](const ConnInfo& a, const ConnInfo& b) { return a.pending_bytes > b.pending_bytes; }},
      {"msgs_to", [](const ConnInfo& a, const ConnInfo& b) { return a.out_msgs > b.out_msgs; }},
      {"msgs_from", [](const ConnInfo& a, const ConnInfo& b) { return a.in_msgs > b.in_msgs; }},
      {"bytes_to", [](const ConnInfo& a, const ConnInfo& b) { return a.out_bytes > b.out_bytes; }},
      {"bytes_from", [](const ConnInfo& a, const ConnInfo& b) { return a.in_bytes > b.in_bytes; }},
      {"last", [](const ConnInfo& a,
                  const ConnInfo& b) { return a.last_activity_unix_ns > b.last_activity_unix_ns; }},
      {"idle", [](const ConnInfo& a,
                  const ConnInfo& b) { return a.last_activity_unix_ns < b.last_activity_unix_ns; }},
      {"uptime",
       [](const ConnInfo& a, const ConnInfo& b) { return a.start_unix_ns < b.start_unix_ns; }},
      {"rtt", [](const ConnInfo& a, const ConnInfo& b) { return a.rtt_ns > b.rtt_ns; }},
      {"stop",
       [](const ConnInfo& a, const ConnInfo& b) { return a.stop_unix_ns > b.stop_unix_ns; }},
      {"reason", [](const ConnInfo& a, const ConnInfo& b) { return a.reason < b.reason; }},
  };
  for (const auto& [name, fn] : kSorts) {
    if (key == name) {
      *less = fn;
      return true;
    }
  }
  return false;
}

nlohmann::ordered_json ConnJson(const ConnInfo& c, int64_t now, bool subs, bool detail) {
  nlohmann::ordered_json j;
  j["cid"] = c.cid;
  j["kind"] = "Client";
  j["type"] = c.mqtt ? "mqtt" : c.websocket ? "websocket" : "nats";
  j["ip"] = c.ip;
  j["port"] = c.port;
  j["start"] = Rfc3339Nano(c.start_unix_ns);
  j["last_activity"] = Rfc3339Nano(c.last_activity_unix_ns);
  const int64_t end = c.stop_unix_ns != 0 ? c.stop_unix_ns : now;
  if (c.stop_unix_ns != 0) {
    j["stop"] = Rfc3339Nano(c.stop_unix_ns);
    j["reason"] = c.reason;
  }
  j["rtt"] = GoDuration(c.rtt_ns);
  j["uptime"] = Uptime(end - c.start_unix_ns);
  j["idle"] = Uptime(end - c.last_activity_unix_ns);
  j["pending_bytes"] = c.pending_bytes;
  j["in_msgs"] = c.in_msgs;
  j["out_msgs"] = c.out_msgs;
  j["in_bytes"] = c.in_bytes;
  j["out_bytes"] = c.out_bytes;
  j["subscriptions"] = c.num_subs;
  if (!c.name.empty()) j["name"] = c.name;
  if (!c.lang.empty()) j["lang"] = c.lang;
  if (!c.version.empty()) j["version"] = c.version;
  if (!c.tls_version.empty()) {
    j["tls_version"] = c.tls_version;
    j["tls_cipher_suite"] = c.tls_cipher;
  }
  if (!c.authorized_user.empty()) j["authorized_user"] = c.authorized_user;
  if (!c.authorized_user.empty() || c.account != auth::kGlobalAccountName) j["account"] = c.account;
  j["shard"] = c.shard;  // Tern: which shard serves the connection
  if (subs && !c.subs.empty()) {
    if (detail) {
      auto& list = j["subscriptions_list_detail"] = nlohmann::ordered_json::array();
      for (const SubInfo& s : c.subs) list.push_back(SubDetailJson(s, c.cid));
    } else {
      auto& list = j["subscriptions_list"] = nlohmann::ordered_json::array();
      for (const SubInfo& s : c.subs) list.push_back(s.subject);
    }
  }
  if (!c.mqtt_client.empty()) j["mqtt_client"] = c.mqtt_client;
  return j;
}

}  // namespace

io::HttpResponse Monitor::Connz(const Query& query) {
  io::HttpResponse error;
  int64_t offset, limit, cid;
  if (!QueryInt(query, "offset", 0, &offset, &error) ||
      !QueryInt(query, "limit", 1024, &limit, &error) || !QueryInt(query, "cid", 0, &cid, &error)) {
    return error;
  }
  const auto subs_it = query.find("subs");
  const bool detail = subs_it != query.end() && subs_it->second == "detail";
  const bool subs = detail || QueryFlag(query, "subs");
  std::string state = query.count("state") ? query.at("state") : "open";
  if (state == "all") state = "any";
  if (state != "open" && state != "closed" && state != "any") {
    return BadRequest("invalid state \"" + state + "\" (open, closed or any)");
  }
  const std::string sort_key = query.count("sort") ? query.at("sort") : "cid";
  Less less = nullptr;
  if (!SortFor(sort_key.empty() ? "cid" : sort_key, &less)) {
    return BadRequest("invalid sorting option \"" + sort_key + "\"");
  }
  if ((sort_key == "stop" || sort_key == "reason") && state == "open") {
    return BadRequest("sort by " + sort_key + " only valid on closed connections");
  }
  std::vector<ShardConns> per_shard;
  const bool want_open = state != "closed";
  const bool want_closed = state != "open";
  const bool ok = OnEveryShard<ShardConns>(
      [&](Shard& shard, ShardConns* out) {
        for (const Connection* client : shard.clients()) {
          if (client->kind() != ConnectionKind::kClient) continue;  // routes: /routez
          if (cid != 0 && client->id() != static_cast<uint64_t>(cid)) continue;
          if (!want_open || client->closing()) continue;
          out->open.emplace_back();
          client->Describe(&out->open.back(), subs);
        }
        if (!want_closed) return;
        for (const ConnInfo& info : shard.closed_connections()) {
          if (cid == 0 || info.cid == static_cast<uint64_t>(cid)) out->closed.push_back(info);
        }
      },
      &per_shard);
  if (!ok) return {503, "text/plain", "a shard loop did not answer in time\n"};
  // acc=NAME: only that account's connections; mqtt_client=ID: only that MQTT client's.
  const std::string account = query.count("acc") ? query.at("acc") : "";
  const std::string mqtt_client = query.count("mqtt_client") ? query.at("mqtt_client") : "";
  std::vector<ConnInfo> all;
  for (ShardConns& s : per_shard) {
    if (!account.empty()) {
      std::erase_if(s.open, [&](const ConnInfo& c) { return c.account != account; });
      std::erase_if(s.closed, [&](const ConnInfo& c) { return c.account != account; });
    }
    if (!mqtt_client.empty()) {
      std::erase_if(s.open, [&](const ConnInfo& c) { return c.mqtt_client != mqtt_client; });
      std::erase_if(s.closed, [&](const ConnInfo& c) { return c.mqtt_client != mqtt_client; });
    }
    for (ConnInfo& c : s.open) all.push_back(std::move(c));
    for (ConnInfo& c : s.closed) all.push_back(std::move(c));
  }
  std::stable_sort(all.begin(), all.end(), [&](const ConnInfo& a, const ConnInfo& b) {
    if (less(a, b)) return true;
    if (less(b, a)) return false;
    return a.cid < b.cid;
  });
  const int64_t now = WallClockNs();
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(now);
  const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(offset), all.size());
  const std::size_t last =
      std::min<std::size_t>(first + static_cast<std::size_t>(limit), all.size());
  body["num_connections"] = last - first;
  body["total"] = all.size();
  body["offset"] = offset;
  body["limit"] = limit;
  auto& list = body["connections"] = nlohmann::ordered_json::array();
  for (std::size_t i = first; i < last; ++i) list.push_back(ConnJson(all[i], now, subs, detail));
  return JsonResponse(body, query);
}

}  // namespace tern::core::monitor
