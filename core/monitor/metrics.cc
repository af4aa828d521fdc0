// /metrics: the monitoring figures in Prometheus' text exposition format (version 0.0.4).
// Names follow Prometheus conventions: a tern_ prefix, base units, _total for counters.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/clock.h"
#include "core/jetstream/registry.h"
#include "core/monitor/monitor.h"

namespace tern::core::monitor {
namespace {

class Exposition {
 public:
  // Starts a metric family.
  void Family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& name, double value, const std::string& labels = "") {
    char number[64];
    std::snprintf(number, sizeof(number), "%.10g", value);
    out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
  }
  void One(const char* name, const char* type, const char* help, double value) {
    Family(name, type, help);
    Sample(name, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// A label value in the exposition format: backslash, quote and newline escaped.
std::string LabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

std::string ShardLabel(int shard) { return "shard=\"" + std::to_string(shard) + "\""; }

}  // namespace

io::HttpResponse Monitor::Metrics() {
  const ServerContext& ctx = *sources_.context;
  const Totals t = SumStats();
  Exposition e;
  e.Family("tern_info", "gauge", "Server identity (always 1).");
  e.Sample("tern_info", 1,
           "server_id=\"" + ctx.server_id + "\",version=\"" TERN_VERSION "\",shards=\"" +
               std::to_string(ctx.shard_count) + "\"");
  e.One("tern_start_time_seconds", "gauge", "Start time since the Unix epoch in seconds.",
        static_cast<double>(ctx.start_unix_ns) / 1e9);
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  e.One("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        static_cast<double>(resident * sysconf(_SC_PAGESIZE)));
  e.One("tern_connections", "gauge", "Client connections open now.", t.connections);
  e.One("tern_connections_total", "counter", "Client connections accepted since start.",
        t.total_connections);
  e.One("tern_subscriptions", "gauge", "Subscriptions now (including server-internal ones).",
        t.subscriptions);
  e.One("tern_messages_received_total", "counter", "Messages published by clients.", t.in_msgs);
  e.One("tern_messages_sent_total", "counter", "Messages delivered to clients.", t.out_msgs);
  e.One("tern_bytes_received_total", "counter", "Payload bytes published by clients.", t.in_bytes);
  e.One("tern_bytes_sent_total", "counter", "Payload bytes delivered to clients.", t.out_bytes);
  e.One("tern_slow_consumers_total", "counter", "Connections closed as slow consumers.",
        t.slow_consumers);
  e.One("tern_stale_connections_total", "counter", "Connections closed as stale.",
        t.stale_connections);
  if (sources_.settings()->options.cluster.enabled) {
    ClusterView cluster;
    GatherRoutes(false, &cluster);
    e.One("tern_routes", "gauge", "Routes to other cluster nodes, registered now.",
          static_cast<double>(cluster.routes.size()));
    const std::pair<const char*, const char*> families[] = {
        {"tern_route_messages_received_total", "Messages received on the route."},
        {"tern_route_messages_sent_total", "Messages sent on the route."},
        {"tern_route_bytes_received_total", "Payload bytes received on the route."},
        {"tern_route_bytes_sent_total", "Payload bytes sent on the route."},
        {"tern_route_pending_bytes", "Bytes queued for the route."},
        {"tern_route_dropped_messages_total", "Messages dropped: the route had 256 MiB queued."},
    };
    for (std::size_t f = 0; f < std::size(families); ++f) {
      const bool gauge = f == 4;
      e.Family(families[f].first, gauge ? "gauge" : "counter", families[f].second);
      for (const RouteView& r : cluster.routes) {
        const uint64_t values[] = {r.info.in_msgs,   r.info.out_msgs,      r.info.in_bytes,
                                   r.info.out_bytes, r.info.pending_bytes, r.dropped_msgs};
        e.Sample(families[f].first, static_cast<double>(values[f]),
                 "remote_id=\"" + r.remote_id + "\",remote_name=\"" + r.info.name + "\"");
      }
    }
  }

  const LeafOptions& leaf = sources_.settings()->options.leaf;
  if (leaf.enabled || !leaf.remotes.empty()) {
    std::vector<LeafView> leafs;
    GatherLeafs(false, &leafs);
    e.One("tern_leafnodes", "gauge", "Leafnode links (to hubs and from leafnodes), up now.",
          static_cast<double>(leafs.size()));
    const std::pair<const char*, const char*> families[] = {
        {"tern_leafnode_messages_received_total", "Messages received on the leafnode link."},
        {"tern_leafnode_messages_sent_total", "Messages sent on the leafnode link."},
        {"tern_leafnode_bytes_received_total", "Payload bytes received on the leafnode link."},
        {"tern_leafnode_bytes_sent_total", "Payload bytes sent on the leafnode link."},
        {"tern_leafnode_pending_bytes", "Bytes queued for the leafnode link."},
    };
    for (std::size_t f = 0; f < std::size(families); ++f) {
      e.Family(families[f].first, f == 4 ? "gauge" : "counter", families[f].second);
      for (const LeafView& l : leafs) {
        const uint64_t values[] = {l.info.in_msgs, l.info.out_msgs, l.info.in_bytes,
                                   l.info.out_bytes, l.info.pending_bytes};
        e.Sample(families[f].first, static_cast<double>(values[f]),
                 "remote_id=\"" + l.remote_id + "\",account=\"" + l.info.account + "\",role=\"" +
                     (l.is_spoke ? "hub" : "leafnode") + "\"");
      }
    }
  }

  // Per shard: connections, busy time, and the utilisation since the previous scrape.
  e.Family("tern_shard_connections", "gauge", "Client connections served by the shard.");
  for (int i = 0; i < ctx.shard_count; ++i) {
    e.Sample("tern_shard_connections", ctx.stats[i]->connections.load(), ShardLabel(i));
  }
  e.Family("tern_shard_busy_seconds_total", "counter",
           "Time the shard's loop spent working (not asleep in the reactor).");
  const int64_t now = MonotonicNs();
  std::vector<double> utilisation(ctx.shard_count, 0);
  last_busy_ns_.resize(ctx.shard_count, 0);
  for (int i = 0; i < ctx.shard_count; ++i) {
    const uint64_t busy = ctx.stats[i]->busy_ns.load(std::memory_order_relaxed);
    e.Sample("tern_shard_busy_seconds_total", static_cast<double>(busy) / 1e9, ShardLabel(i));
    const int64_t since = last_scrape_ns_ != 0
                              ? now - last_scrape_ns_
                              : now - static_cast<int64_t>(ctx.stats[i]->loop_started_ns.load());
    if (since > 0) {
      utilisation[i] = std::min(1.0, static_cast<double>(busy - last_busy_ns_[i]) / since);
    }
    last_busy_ns_[i] = busy;
  }
  last_scrape_ns_ = now;
  e.Family("tern_shard_loop_utilization", "gauge",
           "Share of time (0-1) the shard's loop worked since the previous scrape.");
  for (int i = 0; i < ctx.shard_count; ++i) {
    e.Sample("tern_shard_loop_utilization", utilisation[i], ShardLabel(i));
  }
  if (ctx.shard_count > 1) {
    e.Family("tern_shard_ring_depth", "gauge",
             "Message batches queued on the ring from one shard to another.");
    for (int from = 0; from < ctx.shard_count; ++from) {
      for (int to = 0; to < ctx.shard_count; ++to) {
        if (from == to) continue;
        e.Sample("tern_shard_ring_depth",
                 static_cast<double>(ctx.mesh->ring(from, to).ApproxSize()),
                 "from=\"" + std::to_string(from) + "\",to=\"" + std::to_string(to) + "\"");
      }
    }
  }

  if (!sources_.registries.empty()) {
    const nlohmann::ordered_json js = JetStreamStats();
    e.One("tern_jetstream_streams", "gauge", "JetStream streams.", js["streams"].get<double>());
    e.One("tern_jetstream_consumers", "gauge", "JetStream consumers.",
          js["consumers"].get<double>());
    e.One("tern_jetstream_messages", "gauge", "Messages stored in all streams.",
          js["messages"].get<double>());
    e.Family("tern_jetstream_bytes", "gauge", "Bytes stored in all streams, by storage.");
    e.Sample("tern_jetstream_bytes", js["stats"]["storage"].get<double>(), "storage=\"file\"");
    e.Sample("tern_jetstream_bytes", js["stats"]["memory"].get<double>(), "storage=\"memory\"");
    e.One("tern_jetstream_api_requests_total", "counter", "JetStream API requests.",
          js["stats"]["api"]["total"].get<double>());
    e.One("tern_jetstream_api_errors_total", "counter",
          "JetStream API requests answered with an error.",
          js["stats"]["api"]["errors"].get<double>());
    e.One("tern_jetstream_failed_streams", "gauge", "Streams whose store failed (see /healthz).",
          static_cast<double>(FailedStreams()));
    // The group-commit fdatasync latency, summed over the shards.
    e.Family("tern_jetstream_sync_seconds", "histogram",
             "Latency of the group-commit fdatasync behind every PubAck.");
    uint64_t cumulative = 0;
    for (std::size_t b = 0; b < ShardStats::kSyncBuckets; ++b) {
      for (const auto& s : ctx.stats)
        cumulative += s->sync_buckets[b].load(std::memory_order_relaxed);
      char le[32];
      if (b + 1 < ShardStats::kSyncBuckets) {
        std::snprintf(le, sizeof(le), "%g",
                      static_cast<double>(ShardStats::kSyncBucketsUs[b]) / 1e6);
      } else {
        std::snprintf(le, sizeof(le), "+Inf");
      }
      e.Sample("tern_jetstream_sync_seconds_bucket", static_cast<double>(cumulative),
               std::string("le=\"") + le + "\"");
    }
    uint64_t count = 0, total_ns = 0;
    for (const auto& s : ctx.stats) {
      count += s->sync_count.load(std::memory_order_relaxed);
      total_ns += s->sync_total_ns.load(std::memory_order_relaxed);
    }
    e.Sample("tern_jetstream_sync_seconds_sum", static_cast<double>(total_ns) / 1e9);
    e.Sample("tern_jetstream_sync_seconds_count", static_cast<double>(count));
  }
  if (sources_.settings()->options.streaming.enabled) {
    StanView stan;
    if (GatherStan(&stan)) {
      e.One("tern_stan_clients", "gauge", "STAN clients connected.",
            static_cast<double>(stan.clients.size()));
      e.One("tern_stan_subscriptions", "gauge", "STAN subscriptions, offline durables included.",
            static_cast<double>(stan.subscriptions));
      e.One("tern_stan_channels", "gauge", "STAN channels.",
            static_cast<double>(stan.channels.size()));
      e.One("tern_stan_messages_received_total", "counter", "STAN messages published.",
            static_cast<double>(stan.in_msgs));
      e.One("tern_stan_received_bytes_total", "counter", "STAN payload bytes published.",
            static_cast<double>(stan.in_bytes));
      e.One("tern_stan_messages_sent_total", "counter",
            "STAN messages delivered to subscriptions, redeliveries included.",
            static_cast<double>(stan.out_msgs));
      e.One("tern_stan_sent_bytes_total", "counter", "STAN payload bytes delivered.",
            static_cast<double>(stan.out_bytes));
      const std::pair<const char*, const char*> families[] = {
          {"tern_stan_channel_messages", "Messages stored in a STAN channel."},
          {"tern_stan_channel_bytes", "Bytes stored in a STAN channel."},
          {"tern_stan_channel_last_sequence", "A STAN channel's last sequence."},
          {"tern_stan_channel_subscriptions", "Subscriptions on a STAN channel."}};
      std::vector<StanChannelFigures> figures;
      for (const StanChannelView& channel : stan.channels) {
        figures.push_back(ChannelFigures(channel.stream));
      }
      for (std::size_t f = 0; f < std::size(families); ++f) {
        e.Family(families[f].first, "gauge", families[f].second);
        for (std::size_t i = 0; i < stan.channels.size(); ++i) {
          const double value = f == 0   ? static_cast<double>(figures[i].msgs)
                               : f == 1 ? static_cast<double>(figures[i].bytes)
                               : f == 2 ? static_cast<double>(figures[i].last_seq)
                                        : static_cast<double>(stan.channels[i].subs.size());
          e.Sample(families[f].first, value,
                   "channel=\"" + LabelValue(stan.channels[i].name) + "\"");
        }
      }
    }
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8", e.Take()};
}

}  // namespace tern::core::monitor
