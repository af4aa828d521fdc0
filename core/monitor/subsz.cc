// /subsz: the subscription index's figures, summed over the shards, and optionally the
// subscriptions themselves (subs=1), filtered to those a subject would reach (test=).
#include <algorithm>

#include "core/client.h"
#include "core/clock.h"
#include "core/monitor/format.h"
#include "core/monitor/monitor.h"
#include "core/subject.h"

namespace tern::core::monitor {
namespace {

struct ShardSubs {
  uint64_t count = 0, cache = 0, inserts = 0, removes = 0, hits = 0, misses = 0;
  uint64_t fanout_total = 0, fanout_max = 0, fanout_samples = 0;
  std::vector<std::pair<uint64_t, SubInfo>> list;  // (cid, subscription)
};

}  // namespace

io::HttpResponse Monitor::Subsz(const Query& query) {
  io::HttpResponse error;
  int64_t offset, limit;
  if (!QueryInt(query, "offset", 0, &offset, &error) ||
      !QueryInt(query, "limit", 1024, &limit, &error)) {
    return error;
  }
  const bool subs = QueryFlag(query, "subs");
  const std::string test = query.count("test") ? query.at("test") : "";
  if (!test.empty() && !IsValidLiteralSubject(test)) {
    return BadRequest("invalid test subject \"" + test + "\": a literal subject is expected");
  }
  const bool list = subs || !test.empty();
  std::vector<ShardSubs> per_shard;
  const bool ok = OnEveryShard<ShardSubs>(
      [&](Shard& shard, ShardSubs* out) {
        const Interest& interest = shard.interest();
        out->count = interest.local_count();
        out->cache = interest.cache().size();
        out->inserts = interest.inserts();
        out->removes = interest.removes();
        out->hits = interest.cache().hits();
        out->misses = interest.cache().misses();
        interest.cache().ForEachValid([&](const MatchResult& r) {
          uint64_t fanout = r.plain.size();
          for (const QueueMatch& q : r.queues)
            fanout += q.local.empty() && q.remote_total == 0 ? 0 : 1;
          fanout += r.remote_plain.Count();
          out->fanout_total += fanout;
          out->fanout_max = std::max(out->fanout_max, fanout);
          ++out->fanout_samples;
        });
        if (!list) return;
        interest.ForEachLocal([&](const Subscription* s) {
          if (s->client == nullptr) return;  // server-internal (JetStream)
          if (!test.empty() && !SubjectMatches(s->subject, test)) return;
          out->list.emplace_back(s->client->id(),
                                 SubInfo{s->subject, s->queue, s->sid, s->delivered, s->max});
        });
      },
      &per_shard);
  if (!ok) return {503, "text/plain", "a shard loop did not answer in time\n"};
  ShardSubs sum;
  std::vector<std::pair<uint64_t, SubInfo>> all;
  for (ShardSubs& s : per_shard) {
    sum.count += s.count;
    sum.cache += s.cache;
    sum.inserts += s.inserts;
    sum.removes += s.removes;
    sum.hits += s.hits;
    sum.misses += s.misses;
    sum.fanout_total += s.fanout_total;
    sum.fanout_max = std::max(sum.fanout_max, s.fanout_max);
    sum.fanout_samples += s.fanout_samples;
    for (auto& entry : s.list) all.push_back(std::move(entry));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.sid < b.second.sid;
  });
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(WallClockNs());
  body["num_subscriptions"] = sum.count;
  body["num_cache"] = sum.cache;
  body["num_inserts"] = sum.inserts;
  body["num_removes"] = sum.removes;
  body["num_matches"] = sum.hits + sum.misses;
  const uint64_t lookups = sum.hits + sum.misses;
  body["cache_hit_rate"] = lookups == 0 ? 0.0 : static_cast<double>(sum.hits) / lookups;
  body["max_fanout"] = sum.fanout_max;
  body["avg_fanout"] =
      sum.fanout_samples == 0 ? 0.0 : static_cast<double>(sum.fanout_total) / sum.fanout_samples;
  body["total"] = list ? all.size() : 0;
  body["offset"] = offset;
  body["limit"] = limit;
  if (list) {
    auto& out = body["subscriptions_list"] = nlohmann::ordered_json::array();
    const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(offset), all.size());
    const std::size_t last =
        std::min<std::size_t>(first + static_cast<std::size_t>(limit), all.size());
    for (std::size_t i = first; i < last; ++i) {
      const SubInfo& s = all[i].second;
      nlohmann::ordered_json d;
      d["account"] = "$G";
      d["subject"] = s.subject;
      if (!s.queue.empty()) d["qgroup"] = s.queue;
      d["sid"] = s.sid;
      d["msgs"] = s.msgs;
      if (s.max != 0) d["max"] = s.max;
      d["cid"] = all[i].first;
      out.push_back(d);
    }
  }
  return JsonResponse(body, query);
}

}  // namespace tern::core::monitor
