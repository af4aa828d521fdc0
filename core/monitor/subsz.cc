// /subsz: the subscription index's figures, summed over the shards, and optionally the
// subscriptions themselves (subs=1), filtered to those a subject would reach (test=).
#include <algorithm>

#include "core/clock.h"
#include "core/connection.h"
#include "core/monitor/monitor.h"
#include "core/subject.h"
#include "core/time_format.h"

namespace tern::core::monitor {
bool Monitor::GatherSublist(bool list, const std::string& test, SublistFigures* sum,
                            int account) const {
  std::vector<SublistFigures> per_shard;
  const bool ok = OnEveryShard<SublistFigures>(
      [&](Shard& shard, SublistFigures* out) {
        for (std::size_t id = 0; id < shard.interests().size(); ++id) {
          if (account >= 0 && id != static_cast<std::size_t>(account)) continue;
          const Interest& interest = *shard.interests()[id];
          out->count += interest.local_count();
          out->cache += interest.cache().size();
          out->inserts += interest.inserts();
          out->removes += interest.removes();
          out->hits += interest.cache().hits();
          out->misses += interest.cache().misses();
          interest.cache().ForEachValid([&](const MatchResult& r) {
            uint64_t fanout = r.plain.size();
            for (const QueueMatch& q : r.queues)
              fanout += q.local.empty() && q.remote_total == 0 ? 0 : 1;
            fanout += r.remote_plain.Count();
            out->fanout_total += fanout;
            out->fanout_max = std::max(out->fanout_max, fanout);
            ++out->fanout_samples;
          });
          if (!list) continue;
          interest.ForEachLocal([&](const Subscription* s) {
            if (s->conn == nullptr) return;  // server-internal (JetStream, imports)
            if (!test.empty() && !SubjectMatches(s->subject, test)) return;
            out->list.emplace_back(s->conn->id(),
                                   SubInfo{s->subject, s->queue, s->sid, s->delivered, s->max});
          });
        }
      },
      &per_shard);
  if (!ok) return false;
  for (SublistFigures& s : per_shard) {
    sum->count += s.count;
    sum->cache += s.cache;
    sum->inserts += s.inserts;
    sum->removes += s.removes;
    sum->hits += s.hits;
    sum->misses += s.misses;
    sum->fanout_total += s.fanout_total;
    sum->fanout_max = std::max(sum->fanout_max, s.fanout_max);
    sum->fanout_samples += s.fanout_samples;
    for (auto& entry : s.list) sum->list.push_back(std::move(entry));
  }
  std::sort(sum->list.begin(), sum->list.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.sid < b.second.sid;
  });
  return true;
}

nlohmann::ordered_json SubDetailJson(const SubInfo& s, uint64_t cid) {
  nlohmann::ordered_json d;
  d["account"] = "$G";
  d["subject"] = s.subject;
  if (!s.queue.empty()) d["qgroup"] = s.queue;
  d["sid"] = s.sid;
  d["msgs"] = s.msgs;
  if (s.max != 0) d["max"] = s.max;
  d["cid"] = cid;
  return d;
}

void SublistFigures::AppendStats(nlohmann::ordered_json* body) const {
  nlohmann::ordered_json& out = *body;
  out["num_subscriptions"] = count;
  out["num_cache"] = cache;
  out["num_inserts"] = inserts;
  out["num_removes"] = removes;
  const uint64_t lookups = hits + misses;
  out["num_matches"] = lookups;
  out["cache_hit_rate"] = lookups == 0 ? 0.0 : static_cast<double>(hits) / lookups;
  out["max_fanout"] = fanout_max;
  out["avg_fanout"] =
      fanout_samples == 0 ? 0.0 : static_cast<double>(fanout_total) / fanout_samples;
}

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
  SublistFigures sum;
  if (!GatherSublist(list, test, &sum)) {
    return {503, "text/plain", "a shard loop did not answer in time\n"};
  }
  const auto& all = sum.list;
  nlohmann::ordered_json body;
  body["server_id"] = sources_.context->server_id;
  body["now"] = Rfc3339Nano(WallClockNs());
  sum.AppendStats(&body);
  body["total"] = list ? all.size() : 0;
  body["offset"] = offset;
  body["limit"] = limit;
  if (list) {
    auto& out = body["subscriptions_list"] = nlohmann::ordered_json::array();
    const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(offset), all.size());
    const std::size_t last =
        std::min<std::size_t>(first + static_cast<std::size_t>(limit), all.size());
    for (std::size_t i = first; i < last; ++i) {
      out.push_back(SubDetailJson(all[i].second, all[i].first));
    }
  }
  return JsonResponse(body, query);
}

}  // namespace tern::core::monitor
