// tern-bench: a NATS load generator for comparing servers. Publishers write pre-serialised
// PUB frames in 64 KiB writes and use PING/PONG as the flush barrier; subscribers count
// frames without copying payloads; requesters time each round trip into a histogram.
// Every run checks that everything published was delivered and exits 1 if not.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/clock.h"
#include "tools/bench/connection.h"
#include "tools/bench/histogram.h"
#include "tools/bench/jetstream.h"
#include "tools/bench/mqtt_modes.h"
#include "tools/bench/side_load.h"
#include "tools/bench/stan.h"
#include "tools/bench/steady_load.h"
#include "tools/bench/subscriber_pool.h"
#include "tools/bench/telemetry.h"

namespace tern::bench {
namespace {

struct Options {
  std::string mode;
  ServerAddress server;
  // Where subscribers connect, when not to `server` (another node of a cluster: every
  // message crosses a route).
  ServerAddress sub_server;
  bool sub_elsewhere = false;
  int pubs = 1;
  int subs = 1;
  int size = 128;
  uint64_t count = 100000;
  int subjects = 1;
  int requesters = 1;
  int responders = 1;
  int timeout_s = 30;
  int duration_s = 0;   // > 0: publish for this long instead of --count messages
  uint64_t warmup = 0;  // messages per publisher (requests per requester) before timing
  int window = 256;     // js-pub: unacknowledged publishes per publisher (1 = sync)
  int batch = 256;      // js-fetch: messages per pull request
  std::string storage = "file";
  int interest = 0;   // idle subscriptions held during the run
  int slow = 0;       // slow subscribers (not counted) beside the measured ones
  int rate = 100;     // telemetry: messages per second per publisher
  int qos = 0;        // mqtt-pub: the publishers' QoS
  uint64_t load = 0;  // req: a steady load of this many 128 B messages/s beside the requests
  std::string group;  // telemetry: the subscribers form this queue group
  std::string cluster_id = "test-cluster";  // the STAN modes
  bool json = false;
};

void Usage() {
  std::fputs(
      "Usage: tern-bench MODE [options]\n"
      "Modes: pub (ingest), pubsub (P publishers -> S subscribers), queue (P -> S queue\n"
      "       members), req (C requesters -> R responders, latency),\n"
      "       js-pub (JetStream publish with PubAcks), js-fetch (pull consume with acks),\n"
      "       js-push (push consumer, max_ack_pending --window, ack each),\n"
      "       js-kv-put (js-pub over --subjects K keys of a KV-style stream),\n"
      "       js-kv-get (direct gets of K keys, --window in flight), js-mirror (fill a\n"
      "       stream, then time a mirror of it catching up),\n"
      "       telemetry (P publishers at --rate each -> S subscribers of telemetry.>,\n"
      "       one-way latency per message; mqtt:// servers make either side MQTT),\n"
      "       mqtt-pub (MQTT ingest, --qos 0 or 1), mqtt-pubsub (MQTT P -> S at QoS 0),\n"
      "       stan-pub (STAN publish with PubAcks, --window awaited), stan-sub (fill a\n"
      "       channel, then S durable subscriptions, maxInFlight --window, ack each)\n"
      "Options: --server URL (nats://127.0.0.1:4222; tls://host:port for TLS;\n"
      "                       nats://user:pass@host:port to log in; ws://host:port for\n"
      "                       NATS over WebSocket; mqtt://host:port for the MQTT modes)\n"
      "         --tlsca FILE (TLS: verify the server against this CA)\n"
      "         --sub-server URL (pubsub/queue: subscribers on this node of the cluster)\n"
      "         --pubs P (1)  --subs S (1)\n"
      "         --size BYTES (128)  --count N (100000 messages or requests)\n"
      "         --subjects K (1; publishers cycle over K subjects)  --requesters C (1)\n"
      "         --responders R (1)  --timeout SECONDS (30)  --json\n"
      "         --duration SECONDS (publish for this long instead of --count)\n"
      "         --warmup N (messages per publisher, or requests per requester, sent and\n"
      "                     received before timing starts)\n"
      "         --window W (js-pub: PubAcks awaited per publisher; 1 = synchronous, 256)\n"
      "         --batch B (js-fetch: messages per pull request, 256)\n"
      "         --storage file|memory (JetStream modes: the stream's storage, file)\n"
      "         --interest N (N idle subscriptions on subjects nobody publishes to)\n"
      "         --slow N (N subscribers that read ~8 MB/s; not counted, the others must\n"
      "                   still get everything)\n"
      "         --rate R (telemetry: messages per second per publisher, 100)\n"
      "         --qos Q (mqtt-pub: 0, or 1 with --window PUBACKs awaited)\n"
      "         --load R (req: a steady R msgs/s of 128 B from another connection to a\n"
      "                   subscriber, during the requests: latency under load)\n"
      "         --group NAME (telemetry: the --subs subscribers form this queue group)\n"
      "         --cluster-id ID (the STAN modes: the streaming cluster id, test-cluster)\n",
      stderr);
}

bool ParseOptions(int argc, char** argv, Options* o) {
  if (argc < 2) return false;
  o->mode = argv[1];
  if (o->mode != "pub" && o->mode != "pubsub" && o->mode != "queue" && o->mode != "req" &&
      o->mode != "js-pub" && o->mode != "js-fetch" && o->mode != "js-push" &&
      o->mode != "js-kv-put" && o->mode != "js-kv-get" && o->mode != "js-mirror" &&
      o->mode != "telemetry" && o->mode != "mqtt-pub" && o->mode != "mqtt-pubsub" &&
      o->mode != "stan-pub" && o->mode != "stan-sub") {
    std::fprintf(stderr, "tern-bench: unknown mode '%s'\n", argv[1]);
    return false;
  }
  if (o->mode == "pub" || o->mode == "js-pub" || o->mode == "js-kv-put" || o->mode == "mqtt-pub" ||
      o->mode == "stan-pub")
    o->subs = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") {
      o->json = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "tern-bench: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[++i];
    char* end = nullptr;
    const long long number = std::strtoll(value.c_str(), &end, 10);
    const bool numeric = *end == '\0' && number >= 0;
    if (flag == "--cluster-id") {
      o->cluster_id = value;
      continue;
    }
    if (flag == "--storage") {
      if (value != "file" && value != "memory") {
        std::fprintf(stderr, "tern-bench: --storage is file or memory, got '%s'\n", value.c_str());
        return false;
      }
      o->storage = value;
      continue;
    }
    if (flag == "--group") {
      o->group = value;
      continue;
    }
    if (flag == "--tlsca") {
      o->server.ca_file = value;
      continue;
    }
    if (flag == "--server") {
      if (!ParseUrl(value, &o->server)) {
        std::fprintf(stderr, "tern-bench: bad server URL '%s'\n", value.c_str());
        return false;
      }
      continue;
    }
    if (flag == "--sub-server") {
      if (!ParseUrl(value, &o->sub_server)) {
        std::fprintf(stderr, "tern-bench: bad server URL '%s'\n", value.c_str());
        return false;
      }
      o->sub_elsewhere = true;
      continue;
    }
    if (!numeric) {
      std::fprintf(stderr, "tern-bench: %s expects a non-negative number, got '%s'\n", flag.c_str(),
                   value.c_str());
      return false;
    }
    if (flag == "--pubs")
      o->pubs = static_cast<int>(number);
    else if (flag == "--subs")
      o->subs = static_cast<int>(number);
    else if (flag == "--size")
      o->size = static_cast<int>(number);
    else if (flag == "--count")
      o->count = static_cast<uint64_t>(number);
    else if (flag == "--subjects")
      o->subjects = std::max(1, static_cast<int>(number));
    else if (flag == "--requesters")
      o->requesters = std::max(1, static_cast<int>(number));
    else if (flag == "--responders")
      o->responders = std::max(1, static_cast<int>(number));
    else if (flag == "--timeout")
      o->timeout_s = std::max(1, static_cast<int>(number));
    else if (flag == "--duration")
      o->duration_s = static_cast<int>(number);
    else if (flag == "--warmup")
      o->warmup = static_cast<uint64_t>(number);
    else if (flag == "--window")
      o->window = std::max(1, static_cast<int>(number));
    else if (flag == "--batch")
      o->batch = std::max(1, static_cast<int>(number));
    else if (flag == "--interest")
      o->interest = static_cast<int>(number);
    else if (flag == "--slow")
      o->slow = static_cast<int>(number);
    else if (flag == "--rate")
      o->rate = static_cast<int>(number);
    else if (flag == "--qos")
      o->qos = static_cast<int>(number);
    else if (flag == "--load")
      o->load = static_cast<uint64_t>(number);
    else {
      std::fprintf(stderr, "tern-bench: unknown option '%s'\n", flag.c_str());
      return false;
    }
  }
  if ((o->mode.rfind("js-", 0) == 0 || o->mode.rfind("stan-", 0) == 0) && o->duration_s > 0) {
    std::fprintf(stderr, "tern-bench: the JetStream and STAN modes take --count, not --duration\n");
    return false;
  }
  if (o->mode == "telemetry" && (o->rate < 1 || o->rate > 1'000'000)) {
    std::fprintf(stderr, "tern-bench: --rate must be between 1 and 1000000\n");
    return false;
  }
  if (o->qos > 1 || (o->qos == 1 && o->mode != "mqtt-pub")) {
    std::fprintf(stderr, "tern-bench: --qos is 0, or 1 in mqtt-pub\n");
    return false;
  }
  if (o->mode.rfind("mqtt-", 0) == 0 && (o->duration_s > 0 || o->warmup > 0 || o->sub_elsewhere)) {
    std::fprintf(stderr, "tern-bench: the MQTT modes take --count, one server, no warm-up\n");
    return false;
  }
  if (o->pubs < 1 ||
      (o->mode != "pub" && o->mode != "js-pub" && o->mode != "js-kv-put" && o->mode != "mqtt-pub" &&
       o->mode != "stan-pub" && o->mode != "req" && o->subs < 1)) {
    std::fprintf(stderr, "tern-bench: need at least one publisher and one subscriber\n");
    return false;
  }
  return true;
}

std::string Subject(int k, int subjects) {
  return subjects == 1 ? "bench.subject" : "bench.subject." + std::to_string(k);
}

// One publisher's share of frames, written in ~64 KiB chunks; with a deadline (ns), whole
// chunks until then instead. Returns the frames published, or 0 on a failure.
uint64_t Publish(BenchConnection* conn, const Options& o, uint64_t share, int first_subject,
                 int64_t deadline_ns = 0) {
  const std::string payload(static_cast<std::size_t>(o.size), 'p');
  std::vector<std::string> frames;
  for (int k = 0; k < o.subjects; ++k) {
    frames.push_back("PUB " + Subject((first_subject + k) % o.subjects, o.subjects) + " " +
                     std::to_string(o.size) + "\r\n" + payload + "\r\n");
  }
  std::string chunk;
  std::size_t per_chunk = 0;
  while (chunk.size() < 64 * 1024 || per_chunk % frames.size() != 0) {
    chunk += frames[per_chunk % frames.size()];
    ++per_chunk;
  }
  uint64_t sent = 0;
  while (deadline_ns != 0 ? NowNs() < deadline_ns : sent + per_chunk <= share) {
    if (!conn->WriteAll(chunk)) return 0;
    sent += per_chunk;
  }
  std::string tail;
  for (; deadline_ns == 0 && sent < share; ++sent) tail += frames[sent % frames.size()];
  return conn->WriteAll(tail) && conn->Flush(o.timeout_s * 1000) ? sent : 0;
}

struct Result {
  uint64_t planned = 0;  // --count, or what a --duration run published
  uint64_t published = 0;
  uint64_t delivered = 0;
  uint64_t expected = 0;
  double pub_seconds = 0;
  double sub_seconds = 0;
  std::vector<double> per_sub_rates;
  LatencyHistogram latency;
  double load_rate = 0;  // req --load: the steady load's messages/s received meanwhile
  std::string error;
};

// Prints "delivered so far" once a second on stderr for long runs.
class Progress {
 public:
  explicit Progress(const std::atomic<uint64_t>* done, uint64_t total)
      : thread_([this, done, total] {
          int ticks = 0;
          while (!stop_.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (++ticks % 10 == 0) {
              if (total == 0) {  // a timed run: the total is known at the end
                std::fprintf(stderr, "\r  %llu", static_cast<unsigned long long>(done->load()));
              } else {
                std::fprintf(stderr, "\r  %llu / %llu",
                             static_cast<unsigned long long>(done->load()),
                             static_cast<unsigned long long>(total));
              }
              printed_ = true;
            }
          }
          if (printed_) std::fputs("\n", stderr);
        }) {}
  ~Progress() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  bool printed_ = false;
  std::thread thread_;
};

Result RunPubSub(const Options& o) {
  Result r;
  std::vector<std::unique_ptr<BenchConnection>> subs, pubs;
  std::string error;
  const bool queue = o.mode == "queue";
  SideLoad side;
  if ((o.interest > 0 && !side.AddInterest(o.server, o.interest, &error)) ||
      (o.slow > 0 &&
       !side.AddSlowSubscribers(o.server, o.slow,
                                o.subjects == 1 ? "bench.subject" : "bench.subject.*", &error))) {
    r.error = error;
    return r;
  }
  for (int i = 0; i < o.subs; ++i) {
    subs.push_back(std::make_unique<BenchConnection>());
    const std::string pattern = o.subjects == 1 ? "bench.subject" : "bench.subject.*";
    if (!subs.back()->Open(o.sub_elsewhere ? o.sub_server : o.server, &error) ||
        !subs.back()->WriteAll("SUB " + pattern + (queue ? " workers " : " ") + "1\r\n") ||
        !subs.back()->Flush(5000)) {
      r.error = "subscriber: " + (error.empty() ? subs.back()->error() : error);
      return r;
    }
  }
  for (int i = 0; i < o.pubs; ++i) {
    pubs.push_back(std::make_unique<BenchConnection>());
    if (!pubs.back()->Open(o.server, &error)) {
      r.error = "publisher: " + error;
      return r;
    }
  }
  // Subscribers on another node: their interest reaches the publishers' node over a route
  // some time after their PONG. Probe until every subscriber (or the group) has one, then
  // let the probes in flight land before counting.
  if (o.sub_elsewhere && !subs.empty() && !pubs.empty()) {
    const int64_t probe_deadline = NowNs() + int64_t{o.timeout_s} * 1'000'000'000;
    auto all_reached = [&] {
      uint64_t reached = 0, sum = 0;
      for (auto& c : subs) {
        reached += c->messages() > 0;
        sum += c->messages();
      }
      return queue ? sum > 0 : reached == subs.size();
    };
    while (!all_reached() && NowNs() < probe_deadline) {
      if (Publish(pubs[0].get(), o, 1, 0) != 1) {
        r.error = "publisher failed while probing the route";
        return r;
      }
      for (auto& c : subs) c->ReadSome(5);
    }
    if (!all_reached()) {
      r.error = "subscribers on the other node never received a message";
      return r;
    }
    pubs[0]->Flush(5000);
    const int64_t settle = NowNs() + 200'000'000;
    while (NowNs() < settle) {
      for (auto& c : subs) c->ReadSome(10);
    }
  }
  // Warm-up: the same traffic, untimed, until every subscriber has seen its share.
  std::vector<uint64_t> baseline(subs.size(), 0);
  for (std::size_t i = 0; i < subs.size(); ++i) baseline[i] = subs[i]->messages();
  if (o.warmup > 0) {
    for (int i = 0; i < o.pubs; ++i) {
      if (Publish(pubs[i].get(), o, o.warmup, i) != o.warmup) {
        r.error = "publisher failed during warm-up";
        return r;
      }
    }
    const uint64_t warm_total = o.warmup * static_cast<uint64_t>(o.pubs);
    const int64_t warm_deadline = NowNs() + int64_t{o.timeout_s} * 1'000'000'000;
    auto warm_received = [&] {
      uint64_t sum = 0;
      for (std::size_t k = 0; k < subs.size(); ++k) {
        const uint64_t got = subs[k]->messages() - baseline[k];
        sum += queue ? got : std::min(got, warm_total);
      }
      return sum;
    };
    const uint64_t warm_expected = queue ? warm_total : warm_total * subs.size();
    while (warm_received() < warm_expected && NowNs() < warm_deadline) {
      for (std::size_t k = 0; k < subs.size(); ++k) {
        if (queue || subs[k]->messages() - baseline[k] < warm_total) subs[k]->ReadSome(20);
      }
    }
    if (warm_received() < warm_expected) {
      r.error = "warm-up messages were not all delivered";
      return r;
    }
    for (std::size_t i = 0; i < subs.size(); ++i) baseline[i] = subs[i]->messages();
  }
  const bool timed = o.duration_s > 0;
  // What each subscriber (or the queue group) must receive; known up front unless timed.
  std::atomic<uint64_t> target{timed ? UINT64_MAX : o.count};
  r.expected = o.mode == "pub" ? 0 : queue ? o.count : o.count * static_cast<uint64_t>(o.subs);
  std::atomic<uint64_t> delivered{0};
  std::vector<double> sub_seconds(subs.size(), 0);
  std::vector<std::thread> threads;
  const int64_t start = NowNs();
  Progress progress(&delivered, timed ? 0 : r.expected == 0 ? o.count : r.expected);
  const int64_t deadline = start + int64_t{o.timeout_s + o.duration_s} * 1'000'000'000;
  const int64_t publish_until = timed ? start + int64_t{o.duration_s} * 1'000'000'000 : 0;
  std::atomic<int64_t> group_done_ns{0};
  std::vector<uint64_t> last(baseline);
  // Reads subscriber i once (waiting up to timeout_ms); true when it is finished.
  auto step = [&](std::size_t i, int timeout_ms) {
    BenchConnection* c = subs[i].get();
    // A plain subscriber is done with every message; a queue member when the group is.
    auto done = [&] {
      return queue ? delivered.load() >= target.load()
                   : c->messages() - baseline[i] >= target.load();
    };
    if (!done() && NowNs() < deadline) {
      const bool read = c->ReadSome(timeout_ms);
      delivered += c->messages() - last[i];
      last[i] = c->messages();
      if ((read || !c->closed()) && !done()) return false;
    }
    sub_seconds[i] = static_cast<double>(NowNs() - start) / 1e9;
    // The group finished when its last message arrived, not when idle members noticed.
    int64_t expected_zero = 0;
    if (queue && delivered.load() >= target.load())
      group_done_ns.compare_exchange_strong(expected_zero, NowNs());
    return true;
  };
  // Up to kThreadPerSubscriberMax subscribers, a thread each (the rows measured so far);
  // beyond, two threads share them through epoll.
  constexpr std::size_t kThreadPerSubscriberMax = 64;
  const bool pooled = subs.size() > kThreadPerSubscriberMax && !o.server.tls && !o.sub_server.tls;
  if (pooled) {
    std::vector<BenchConnection*> connections;
    for (auto& c : subs) connections.push_back(c.get());
    for (std::size_t t = 0; t < 2; ++t) {
      std::vector<std::size_t> mine;
      for (std::size_t i = t; i < subs.size(); i += 2) mine.push_back(i);
      threads.emplace_back([&, connections, mine] {
        ServeConnections(connections, mine, deadline, [&](std::size_t i) { return step(i, 0); });
      });
    }
  } else {
    for (std::size_t i = 0; i < subs.size(); ++i) {
      threads.emplace_back([&, i] {
        // Queue members and timed runs poll briefly so they notice when they are done.
        while (!step(i, queue || timed ? 200 : o.timeout_s * 1000)) {
        }
      });
    }
  }
  std::atomic<uint64_t> published{0};
  std::atomic<bool> publisher_failed{false};
  std::vector<std::thread> publishers;
  const uint64_t share = o.count / static_cast<uint64_t>(o.pubs);
  for (int i = 0; i < o.pubs; ++i) {
    const uint64_t mine = share + (i == 0 ? o.count % static_cast<uint64_t>(o.pubs) : 0);
    publishers.emplace_back([&, i, mine] {
      const uint64_t sent = Publish(pubs[i].get(), o, mine, i, publish_until);
      if (timed || sent == mine) published += sent;
      if (sent == 0 && (timed || mine > 0)) publisher_failed = true;
    });
  }
  for (auto& t : publishers) t.join();
  if (publisher_failed.load()) r.error = "a publisher's connection failed";
  r.pub_seconds = static_cast<double>(NowNs() - start) / 1e9;
  r.planned = timed ? published.load() : o.count;
  if (timed) {
    r.expected = o.mode == "pub" ? 0 : queue ? r.planned : r.planned * subs.size();
    target = r.planned;
  }
  if (o.mode == "pub") delivered = published.load();
  for (auto& t : threads) t.join();
  r.published = published.load();
  r.delivered = o.mode == "pub" ? 0 : delivered.load();
  if (queue && group_done_ns.load() != 0) {
    r.sub_seconds = static_cast<double>(group_done_ns.load() - start) / 1e9;
  }
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (!queue) r.sub_seconds = std::max(r.sub_seconds, sub_seconds[i]);
    const double seconds = queue && r.sub_seconds > 0 ? r.sub_seconds : sub_seconds[i];
    r.per_sub_rates.push_back(static_cast<double>(subs[i]->messages() - baseline[i]) / seconds);
  }
  return r;
}

void Respond(BenchConnection* conn, std::string_view reply, void* payload) {
  if (reply.empty()) return;
  const auto* body = static_cast<const std::string*>(payload);
  conn->WriteAll("PUB " + std::string(reply) + " " + std::to_string(body->size()) + "\r\n" + *body +
                 "\r\n");
}

Result RunRequestReply(const Options& o) {
  Result r;
  std::string error;
  const std::string payload(static_cast<std::size_t>(o.size), 'r');
  std::vector<std::unique_ptr<BenchConnection>> responders, requesters;
  for (int i = 0; i < o.responders; ++i) {
    responders.push_back(std::make_unique<BenchConnection>());
    BenchConnection* c = responders.back().get();
    c->set_on_message(&Respond, const_cast<std::string*>(&payload));
    if (!c->Open(o.server, &error) || !c->WriteAll("SUB bench.req responders 1\r\n") ||
        !c->Flush(5000)) {
      r.error = "responder: " + error;
      return r;
    }
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> responder_threads;
  for (auto& c : responders) {
    responder_threads.emplace_back([&, conn = c.get()] {
      while (!stop.load()) conn->ReadSome(100);
    });
  }
  SteadyLoad load;
  if (o.load > 0 && !load.Start(o.server, o.load, 128, &error)) {
    r.error = error;
    stop = true;
    for (auto& t : responder_threads) t.join();
    return r;
  }
  std::vector<LatencyHistogram> histograms(o.requesters);
  std::vector<std::thread> threads;
  std::atomic<uint64_t> done{0};
  const uint64_t share = o.count / static_cast<uint64_t>(o.requesters);
  const int64_t start = NowNs();
  const int64_t request_until = start + int64_t{o.duration_s} * 1'000'000'000;
  {
    Progress progress(&done, o.duration_s > 0 ? 0 : share * o.requesters);
    for (int i = 0; i < o.requesters; ++i) {
      threads.emplace_back([&, i] {
        BenchConnection c;
        std::string err;
        const std::string inbox = "_INBOX.bench" + std::to_string(i);
        if (!c.Open(o.server, &err) || !c.WriteAll("SUB " + inbox + ".* 1\r\n") || !c.Flush(5000))
          return;
        const std::string head = "PUB bench.req " + inbox + ".";
        const std::string tail = " " + std::to_string(o.size) + "\r\n" + payload + "\r\n";
        // The first `warmup` round trips are made but not recorded.
        for (uint64_t n = 0; o.duration_s > 0 ? NowNs() < request_until : n < share + o.warmup;
             ++n) {
          const uint64_t before = c.messages();
          const int64_t t0 = NowNs();
          if (!c.WriteAll(head + std::to_string(n) + tail)) return;
          while (c.messages() == before) {
            if (!c.ReadSome(o.timeout_s * 1000)) return;
          }
          if (n < o.warmup) continue;
          histograms[i].Record(static_cast<uint64_t>(NowNs() - t0));
          ++done;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  r.pub_seconds = r.sub_seconds = static_cast<double>(NowNs() - start) / 1e9;
  load.Stop();
  r.load_rate = load.received_rate();
  if (load.failed()) r.error = "the steady load's connection failed";
  stop = true;
  for (auto& t : responder_threads) t.join();
  for (auto& h : histograms) r.latency.Merge(h);
  r.published = o.duration_s > 0 ? done.load() : share * static_cast<uint64_t>(o.requesters);
  r.planned = r.expected = r.published;
  r.delivered = r.latency.count();
  return r;
}

Result RunJetStream(const Options& o) {
  JsParams p;
  p.server = o.server;
  p.pubs = o.pubs;
  p.consumers = o.subs;
  p.size = o.size;
  p.count = o.count;
  p.window = o.window;
  p.batch = o.batch;
  p.timeout_s = o.timeout_s;
  p.storage = o.storage;
  const bool kv = o.mode == "js-kv-put" || o.mode == "js-kv-get";
  p.keys = kv ? o.subjects : 0;
  const bool publishing = o.mode == "js-pub" || o.mode == "js-kv-put" || o.mode == "stan-pub";
  JsRun run = o.mode == "stan-pub"                          ? RunStanPublish(p, o.cluster_id)
              : o.mode == "stan-sub"                        ? RunStanSubscribe(p, o.cluster_id)
              : o.mode == "js-pub" || o.mode == "js-kv-put" ? RunJsPublish(p)
              : o.mode == "js-kv-get"                       ? RunKvGet(p)
              : o.mode == "js-mirror"                       ? RunMirror(p)
              : o.mode == "js-push"                         ? RunJsPush(p)
                                                            : RunJsFetch(p);
  Result r;
  r.planned = r.expected = o.count;
  r.published = o.mode == "js-kv-get" ? o.count : run.published;
  r.error = run.error;
  if (o.mode == "js-kv-get") {
    r.delivered = run.consumed;
    r.sub_seconds = run.seconds;
    r.latency.Merge(run.latency);
  } else if (publishing) {
    r.delivered = run.acked;
    r.pub_seconds = run.seconds;
    r.latency.Merge(run.latency);
  } else {
    r.delivered = run.consumed;
    r.sub_seconds = run.seconds;
  }
  return r;
}

Result RunTelemetryMode(const Options& o) {
  TelemetryParams p;
  p.server = o.server;
  p.sub_server = o.sub_elsewhere ? o.sub_server : o.server;
  p.pubs = o.pubs;
  p.rate = o.rate;
  p.size = o.size;
  p.count = o.count;
  p.timeout_s = o.timeout_s;
  p.mqtt_publishers = p.server.mqtt;
  p.mqtt_subscriber = p.sub_server.mqtt;
  p.subs = o.subs;
  p.group = o.group;
  TelemetryRun run = RunTelemetry(p);
  Result r;
  r.planned = r.expected = o.count;
  r.published = run.published;
  r.delivered = run.delivered;
  r.pub_seconds = r.sub_seconds = run.seconds;
  r.latency.Merge(run.latency);
  r.error = run.error;
  return r;
}

Result RunMqttMode(const Options& o) {
  MqttParams p;
  p.server = o.server;
  p.pubs = o.pubs;
  p.subs = o.subs;
  p.size = o.size;
  p.qos = o.qos;
  p.window = o.window;
  p.subjects = o.subjects;
  p.count = o.count;
  p.timeout_s = o.timeout_s;
  MqttRun run = RunMqttPubSub(p);
  Result r;
  r.planned = o.count;
  r.expected = run.expected;
  r.published = run.published;
  r.delivered = run.delivered;
  r.pub_seconds = run.pub_seconds;
  r.sub_seconds = run.sub_seconds;
  r.per_sub_rates = run.per_sub_rates;
  r.error = run.error;
  return r;
}

void PrintLatency(const LatencyHistogram& latency) {
  std::printf("  latency:   p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
              latency.Percentile(0.5) / 1e3, latency.Percentile(0.9) / 1e3,
              latency.Percentile(0.99) / 1e3, latency.Percentile(0.999) / 1e3, latency.max() / 1e3);
}

void Report(const Options& o, const Result& r) {
  const double mb = static_cast<double>(o.size) / (1024.0 * 1024.0);
  // js-pub counts what was acknowledged, not what was written.
  const uint64_t pub_count = o.mode == "js-pub" || o.mode == "js-kv-put" || o.mode == "stan-pub"
                                 ? r.delivered
                                 : r.published;
  const double pub_rate = r.pub_seconds > 0 ? static_cast<double>(pub_count) / r.pub_seconds : 0;
  const double sub_rate = r.sub_seconds > 0 ? static_cast<double>(r.delivered) / r.sub_seconds : 0;
  const bool ok = r.error.empty() && r.published == r.planned && r.delivered >= r.expected;
  double lo = 0, hi = 0, sum = 0;
  for (std::size_t i = 0; i < r.per_sub_rates.size(); ++i) {
    const double v = r.per_sub_rates[i];
    lo = i == 0 ? v : std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  const double avg =
      r.per_sub_rates.empty() ? 0 : sum / static_cast<double>(r.per_sub_rates.size());
  if (o.json) {
    std::printf(
        "{\"mode\":\"%s\",\"size\":%d,\"pubs\":%d,\"subs\":%d,\"subjects\":%d,\"count\":%llu,"
        "\"duration_s\":%d,\"warmup\":%llu,"
        "\"published\":%llu,\"expected\":%llu,\"delivered\":%llu,\"pub_msgs_per_sec\":%.0f,"
        "\"deliver_msgs_per_sec\":%.0f,\"sub_min\":%.0f,\"sub_avg\":%.0f,\"sub_max\":%.0f,"
        "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
        "\"load_msgs_per_sec\":%.0f,\"ok\":%s%s%s%s}\n",
        o.mode.c_str(), o.size, o.pubs, o.mode == "req" ? o.responders : o.subs, o.subjects,
        static_cast<unsigned long long>(r.planned), o.duration_s,
        static_cast<unsigned long long>(o.warmup), static_cast<unsigned long long>(r.published),
        static_cast<unsigned long long>(r.expected), static_cast<unsigned long long>(r.delivered),
        pub_rate, sub_rate, lo, avg, hi, r.latency.Percentile(0.5) / 1e3,
        r.latency.Percentile(0.9) / 1e3, r.latency.Percentile(0.99) / 1e3,
        r.latency.Percentile(0.999) / 1e3, r.latency.max() / 1e3, r.load_rate,
        ok ? "true" : "false", r.error.empty() ? "" : ",\"error\":\"", r.error.c_str(),
        r.error.empty() ? "" : "\"");
    return;
  }
  std::printf("tern-bench %s  server=%s:%d  size=%d B  ", o.mode.c_str(), o.server.host.c_str(),
              o.server.port, o.size);
  if (o.duration_s > 0) {
    std::printf("duration=%d s (%llu sent)", o.duration_s,
                static_cast<unsigned long long>(r.planned));
  } else {
    std::printf("count=%llu", static_cast<unsigned long long>(o.count));
  }
  if (o.warmup > 0) std::printf("  warm-up=%llu", static_cast<unsigned long long>(o.warmup));
  std::printf("\n");
  if (o.mode == "js-pub" || o.mode == "js-kv-put") {
    std::printf(
        "  published: %12.0f msgs/s  %8.1f MB/s  acknowledged (%d publishers, window %d, %s)\n",
        pub_rate, pub_rate * mb, o.pubs, o.window, o.storage.c_str());
    if (o.window == 1) {
      PrintLatency(r.latency);
    }
  } else if (o.mode == "js-kv-get") {
    std::printf("  gets:      %12.0f gets/s  direct gets of %d keys (window %d, %s)\n", sub_rate,
                o.subjects, o.window, o.storage.c_str());
    if (o.window == 1) {
      PrintLatency(r.latency);
    }
  } else if (o.mode == "js-mirror") {
    std::printf("  mirrored:  %12.0f msgs/s  %8.1f MB/s  a new mirror catching up (%s)\n", sub_rate,
                sub_rate * mb, o.storage.c_str());
  } else if (o.mode == "stan-pub") {
    std::printf("  published: %12.0f msgs/s  %8.1f MB/s  STAN PubAcks (%d publishers, window %d)\n",
                pub_rate, pub_rate * mb, o.pubs, o.window);
  } else if (o.mode == "stan-sub") {
    std::printf(
        "  consumed:  %12.0f msgs/s  %8.1f MB/s  STAN durable, acked (%d subscriptions, "
        "maxInFlight %d)\n",
        sub_rate, sub_rate * mb, o.subs, o.window);
  } else if (o.mode == "js-push") {
    std::printf("  consumed:  %12.0f msgs/s  %8.1f MB/s  pushed and acked (max_ack_pending %d)\n",
                sub_rate, sub_rate * mb, o.window);
  } else if (o.mode == "js-fetch") {
    std::printf(
        "  consumed:  %12.0f msgs/s  %8.1f MB/s  fetched and acked (%d consumers, batch %d)\n",
        sub_rate, sub_rate * mb, o.subs, o.batch);
  } else if (o.mode == "telemetry") {
    std::printf("  publish:   %12.0f msgs/s  (%d publishers at %d msgs/s each)\n", pub_rate, o.pubs,
                o.rate);
    PrintLatency(r.latency);
  } else if (o.mode == "req") {
    std::printf("  requests:  %12.0f req/s  (%d requesters, %d responders)\n", pub_rate,
                o.requesters, o.responders);
    if (o.load > 0) {
      std::printf("  load:      %12.0f msgs/s  received beside them (%llu asked)\n", r.load_rate,
                  static_cast<unsigned long long>(o.load));
    }
    PrintLatency(r.latency);
  } else {
    std::printf("  publish:   %12.0f msgs/s  %8.1f MB/s  (%d publishers)\n", pub_rate,
                pub_rate * mb, o.pubs);
    if (o.mode != "pub" && o.mode != "mqtt-pub") {
      std::printf(
          "  deliver:   %12.0f msgs/s  %8.1f MB/s  (%d subscribers; each min/avg/max "
          "%.0f/%.0f/%.0f msgs/s)\n",
          sub_rate, sub_rate * mb, o.subs, lo, avg, hi);
    }
  }
  if (!ok) {
    std::printf(
        "  INCOMPLETE: published %llu of %llu, delivered %llu of %llu%s%s\n",
        static_cast<unsigned long long>(r.published), static_cast<unsigned long long>(r.planned),
        static_cast<unsigned long long>(r.delivered), static_cast<unsigned long long>(r.expected),
        r.error.empty() ? "" : ": ", r.error.c_str());
  }
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  using namespace tern::bench;
  Options o;
  if (argc >= 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    Usage();
    return 0;
  }
  if (!ParseOptions(argc, argv, &o)) {
    Usage();
    return 2;
  }
  // A thousand telemetry devices are a thousand sockets: lift the soft descriptor limit.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  const Result r = o.mode == "req"                 ? RunRequestReply(o)
                   : o.mode == "telemetry"         ? RunTelemetryMode(o)
                   : o.mode.rfind("js-", 0) == 0   ? RunJetStream(o)
                   : o.mode.rfind("stan-", 0) == 0 ? RunJetStream(o)
                   : o.mode.rfind("mqtt-", 0) == 0 ? RunMqttMode(o)
                                                   : RunPubSub(o);
  Report(o, r);
  const bool ok = r.error.empty() && r.delivered >= r.expected && r.published == r.planned;
  return ok ? 0 : 1;
}
