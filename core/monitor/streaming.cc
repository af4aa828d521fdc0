// /streaming/...: the STAN service's endpoints with nats-streaming-server's JSON shapes
// (docs/STAN.md, "Monitoring"): serverz, storez, clientsz, channelsz, isFTActive. The service
// is copied out on shard 0 (StanService::Snapshot); its channels' figures are their streams'.
#include <sys/resource.h>

#include <filesystem>

#include "core/clock.h"
#include "core/jetstream/registry.h"
#include "core/monitor/monitor.h"
#include "core/stan/stan_service.h"
#include "core/time_format.h"

namespace tern::core::monitor {
namespace {

// nats-streaming-server reads these leniently: a bad number is 0.
int64_t LenientInt(const std::map<std::string, std::string>& query, const std::string& key) {
  const auto it = query.find(key);
  if (it == query.end()) return 0;
  char* end = nullptr;
  const long long value = std::strtoll(it->second.c_str(), &end, 10);
  return *end == '\0' ? value : 0;
}

nlohmann::ordered_json SubJson(const StanSubView& sub) {
  nlohmann::ordered_json j;
  j["client_id"] = sub.client_id;
  j["inbox"] = sub.inbox;
  j["ack_inbox"] = sub.ack_inbox;
  if (!sub.durable_name.empty()) j["durable_name"] = sub.durable_name;
  if (!sub.queue_name.empty()) j["queue_name"] = sub.queue_name;
  j["is_durable"] = sub.is_durable;
  j["is_offline"] = sub.is_offline;
  j["max_inflight"] = sub.max_inflight;
  j["ack_wait"] = sub.ack_wait_s;
  j["last_sent"] = sub.last_sent;
  j["pending_count"] = sub.pending_count;
  j["is_stalled"] = sub.is_stalled;
  return j;
}

nlohmann::ordered_json LimitsJson(const StanChannelLimits& limits) {
  nlohmann::ordered_json j;
  j["max_msgs"] = limits.max_msgs;
  j["max_bytes"] = limits.max_bytes;
  j["max_age"] = limits.max_age_ns;
  j["max_subscriptions"] = limits.max_subs;
  j["max_inactivity"] = limits.max_inactivity_ns;
  return j;
}

// Offset and limit as nats-streaming-server pages (a negative offset is 0, no limit 1024),
// written into `body`; the entries [*begin, *end) of `total` are shown.
void Page(const std::map<std::string, std::string>& query, std::size_t total,
          nlohmann::ordered_json* body, std::size_t* begin, std::size_t* end) {
  const int64_t offset = std::max<int64_t>(0, LenientInt(query, "offset"));
  int64_t limit = LenientInt(query, "limit");
  if (limit <= 0) limit = 1024;
  *begin = std::min<std::size_t>(static_cast<std::size_t>(offset), total);
  *end = std::min<std::size_t>(*begin + static_cast<std::size_t>(limit), total);
  (*body)["offset"] = offset;
  (*body)["limit"] = limit;
  (*body)["count"] = *end - *begin;
  (*body)["total"] = total;
}

}  // namespace

bool Monitor::GatherStan(StanView* out) const {
  std::vector<std::pair<bool, StanView>> per_shard;
  const bool ok = OnEveryShard<std::pair<bool, StanView>>(
      [](Shard& shard, std::pair<bool, StanView>* slot) {
        shard.ForEachService([&](const LoopService& service) {
          if (const auto* stan = dynamic_cast<const StanService*>(&service)) {
            slot->first = true;
            stan->Snapshot(&slot->second);
          }
        });
      },
      &per_shard);
  if (!ok) return false;
  for (auto& [found, view] : per_shard) {
    if (found) *out = std::move(view);
  }
  return true;
}

StanChannelFigures Monitor::ChannelFigures(const std::string& stream) const {
  StanChannelFigures figures;
  for (const js::Registry* registry : sources_.registries) {
    if (registry->account() != auth::kGlobalAccountName) continue;
    js::StreamEntry entry;
    if (!registry->Find(stream, &entry) || entry.figures == nullptr) continue;
    figures.msgs = entry.figures->msgs.load(std::memory_order_relaxed);
    figures.bytes = entry.figures->bytes.load(std::memory_order_relaxed);
    if (figures.msgs > 0) {
      figures.first_seq = entry.figures->first_seq.load(std::memory_order_relaxed);
      figures.last_seq = entry.figures->last_seq.load(std::memory_order_relaxed);
    }
  }
  return figures;
}

io::HttpResponse Monitor::Streaming(const std::string& path, const Query& query) {
  if (!sources_.settings()->options.streaming.enabled) {
    return {404, "text/plain", "404 page not found\n"};
  }
  if (path == "/streaming") {
    std::string body =
        "<html><head><title>tern-server streaming monitoring</title></head><body>\n<ul>\n";
    for (const char* endpoint : {"serverz", "storez", "clientsz", "channelsz", "isFTActive"}) {
      body +=
          std::string("<li><a href=\"./streaming/") + endpoint + "\">" + endpoint + "</a></li>\n";
    }
    body += "</ul>\n</body></html>\n";
    return {200, "text/html; charset=utf-8", body};
  }
  // Never part of a fault-tolerance group: not the active server.
  if (path == "/streaming/isFTActive") return {204, "text/plain", ""};
  const bool known = path == "/streaming/serverz" || path == "/streaming/storez" ||
                     path == "/streaming/clientsz" || path == "/streaming/channelsz";
  if (!known) return {404, "text/plain", "404 page not found\n"};
  StanView view;
  if (!GatherStan(&view)) return {503, "text/plain", "a shard loop did not answer in time\n"};
  const ServerContext& ctx = *sources_.context;
  nlohmann::ordered_json body;
  body["cluster_id"] = view.cluster_id;
  body["server_id"] = ctx.server_id;
  uint64_t total_msgs = 0, total_bytes = 0;
  std::vector<StanChannelFigures> figures;
  for (const StanChannelView& channel : view.channels) {
    figures.push_back(ChannelFigures(channel.stream));
    total_msgs += figures.back().msgs;
    total_bytes += figures.back().bytes;
  }
  const bool subs = QueryFlag(query, "subs");

  if (path == "/streaming/serverz") {
    body["version"] = TERN_VERSION;
    body["go"] = "none (tern-server, C++)";
    body["state"] = "STANDALONE";
    body["now"] = Rfc3339Nano(WallClockNs());
    body["start_time"] = Rfc3339Nano(ctx.start_unix_ns);
    body["uptime"] = Uptime(MonotonicNs() - ctx.start_mono_ns);
    body["clients"] = view.clients.size();
    body["subscriptions"] = view.subscriptions;
    body["channels"] = view.channels.size();
    body["total_msgs"] = total_msgs;
    body["total_bytes"] = total_bytes;
    body["in_msgs"] = view.in_msgs;
    body["in_bytes"] = view.in_bytes;
    body["out_msgs"] = view.out_msgs;
    body["out_bytes"] = view.out_bytes;
    std::error_code ec;
    int64_t open_fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++open_fds;
    }
    if (open_fds > 0) body["open_fds"] = open_fds;
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) body["max_fds"] = files.rlim_cur;
    return JsonResponse(body, query);
  }

  body["now"] = Rfc3339Nano(WallClockNs());
  if (path == "/streaming/storez") {
    const bool memory = sources_.settings()->options.streaming.store == StanOptions::Store::kMemory;
    body["type"] = memory ? "MEMORY" : "FILE";
    nlohmann::ordered_json limits;
    limits["max_channels"] = view.limits.max_channels;
    const nlohmann::ordered_json global = LimitsJson(view.limits);
    for (auto it = global.begin(); it != global.end(); ++it) limits[it.key()] = it.value();
    if (!view.limits.per_channel.empty()) {
      auto& channels = limits["channels"] = nlohmann::ordered_json::object();
      for (const StanChannelRule& rule : view.limits.per_channel) {
        channels[rule.channel] = LimitsJson(ChannelLimitsFor(view.limits, rule.channel));
      }
    }
    body["limits"] = limits;
    body["total_msgs"] = total_msgs;
    body["total_bytes"] = total_bytes;
    return JsonResponse(body, query);
  }

  auto client_json = [&](const StanClientView& client) {
    nlohmann::ordered_json j;
    j["id"] = client.id;
    j["hb_inbox"] = client.hb_inbox;
    j["subs_count"] = client.subs_count;
    if (subs && !client.subs.empty()) {
      auto& by_channel = j["subscriptions"] = nlohmann::ordered_json::object();
      for (const auto& [channel, list] : client.subs) {
        auto& array = by_channel[channel] = nlohmann::ordered_json::array();
        for (const StanSubView& sub : list) array.push_back(SubJson(sub));
      }
    }
    return j;
  };
  auto channel_json = [&](std::size_t i) {
    const StanChannelView& channel = view.channels[i];
    nlohmann::ordered_json j;
    j["name"] = channel.name;
    j["msgs"] = figures[i].msgs;
    j["bytes"] = figures[i].bytes;
    j["first_seq"] = figures[i].first_seq;
    j["last_seq"] = figures[i].last_seq;
    j["subs_count"] = channel.subs.size();
    if (subs && !channel.subs.empty()) {
      auto& array = j["subscriptions"] = nlohmann::ordered_json::array();
      for (const StanSubView& sub : channel.subs) array.push_back(SubJson(sub));
    }
    return j;
  };

  if (path == "/streaming/clientsz") {
    if (const auto one = query.find("client"); one != query.end()) {
      for (const StanClientView& client : view.clients) {
        if (client.id == one->second) return JsonResponse(client_json(client), query);
      }
      return {404, "text/plain", "Client " + one->second + " not found\n"};
    }
    std::size_t begin, end;
    Page(query, view.clients.size(), &body, &begin, &end);
    auto& list = body["clients"] = nlohmann::ordered_json::array();
    for (std::size_t i = begin; i < end; ++i) list.push_back(client_json(view.clients[i]));
    return JsonResponse(body, query);
  }

  // channelsz
  if (const auto one = query.find("channel"); one != query.end()) {
    for (std::size_t i = 0; i < view.channels.size(); ++i) {
      if (view.channels[i].name == one->second) return JsonResponse(channel_json(i), query);
    }
    return {404, "text/plain", "Channel " + one->second + " not found\n"};
  }
  std::size_t begin, end;
  Page(query, view.channels.size(), &body, &begin, &end);
  if (end > begin) {
    if (subs) {
      auto& list = body["channels"] = nlohmann::ordered_json::array();
      for (std::size_t i = begin; i < end; ++i) list.push_back(channel_json(i));
    } else {
      auto& names = body["names"] = nlohmann::ordered_json::array();
      for (std::size_t i = begin; i < end; ++i) names.push_back(view.channels[i].name);
    }
  }
  return JsonResponse(body, query);
}

}  // namespace tern::core::monitor
