#include "tools/bench/jetstream.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "tools/bench/clock.h"

namespace tern::bench {
namespace {

constexpr const char* kStream = "BENCH";

// A connection for API requests: replies arrive on its own inbox.
class ApiClient {
 public:
  bool Open(const ServerAddress& server, std::string* error) {
    conn_.set_capture(true);
    return conn_.Open(server, error) && conn_.WriteAll("SUB _INBOX.bench.api 1\r\n") &&
           conn_.Flush(5000);
  }
  // Sends a request and returns the reply's payload; false on a timeout.
  bool Request(const std::string& subject, const std::string& body, std::string* reply) {
    const uint64_t before = conn_.messages();
    if (!conn_.WriteAll("PUB " + subject + " _INBOX.bench.api " + std::to_string(body.size()) +
                        "\r\n" + body + "\r\n")) {
      return false;
    }
    while (conn_.messages() == before) {
      if (!conn_.ReadSome(5000)) return false;
    }
    *reply = conn_.last_payload();
    return true;
  }
  // A request whose JSON reply must not carry an error.
  bool Must(const std::string& subject, const std::string& body, std::string* error) {
    std::string reply;
    if (!Request(subject, body, &reply)) {
      *error = subject + ": no reply (is JetStream enabled?)";
      return false;
    }
    if (reply.find("\"error\"") != std::string::npos) {
      *error = subject + ": " + reply;
      return false;
    }
    return true;
  }
  // A number field of the last reply ("messages" in a stream info), or 0.
  uint64_t Field(const std::string& name) const {
    const std::string& text = conn_.last_payload();
    const std::size_t at = text.find("\"" + name + "\":");
    return at == std::string::npos
               ? 0
               : std::strtoull(text.c_str() + at + name.size() + 3, nullptr, 10);
  }

 private:
  BenchConnection conn_;
};

bool CreateStream(ApiClient* api, const JsParams& p, std::string* error) {
  std::string ignored;
  api->Request(std::string("$JS.API.STREAM.DELETE.") + kStream, "", &ignored);
  const std::string kv = p.keys > 0 ? ",\"max_msgs_per_subject\":1,\"allow_direct\":true" : "";
  return api->Must(std::string("$JS.API.STREAM.CREATE.") + kStream,
                   std::string("{\"name\":\"") + kStream +
                       "\",\"subjects\":[\"bench.js.>\"],\"storage\":\"" + p.storage + "\"" + kv +
                       "}",
                   error);
}

// A KV key's subject: fixed width, so that every frame of a burst has the same size.
std::string KeySubject(int key) {
  char subject[32];
  std::snprintf(subject, sizeof subject, "bench.js.k%07d", key);
  return subject;
}

// One publisher: `share` publishes with at most `window` awaiting their PubAck.
bool PublishShare(const JsParams& p, int index, uint64_t share, JsRun* run,
                  std::atomic<uint64_t>* acked, std::string* error) {
  BenchConnection conn;
  conn.set_capture(true);
  const std::string inbox = "_INBOX.jsb" + std::to_string(index);
  if (!conn.Open(p.server, error) || !conn.WriteAll("SUB " + inbox + " 1\r\n") ||
      !conn.Flush(5000)) {
    if (error->empty()) *error = conn.error();
    return false;
  }
  auto frame_for = [&](uint64_t i) {
    const std::string subject =
        p.keys > 0 ? KeySubject(static_cast<int>(i % p.keys)) : "bench.js." + std::to_string(index);
    return "PUB " + subject + " " + inbox + " " + std::to_string(p.size) + "\r\n" +
           std::string(p.size, 'j') + "\r\n";
  };
  const std::string frame = frame_for(0);
  const uint64_t window = static_cast<uint64_t>(std::max(1, p.window));
  std::string burst;
  // KV: the burst cycles over the keys (a burst of the window's size; the next starts again).
  for (uint64_t i = 0; i < std::min<uint64_t>(window, 1024); ++i) burst += frame_for(i);
  const uint64_t burst_frames = burst.size() / frame.size();
  uint64_t sent = 0;
  const int64_t deadline = NowNs() + int64_t{p.timeout_s} * 1'000'000'000;
  while (conn.messages() < share) {
    const uint64_t outstanding = sent - conn.messages();
    const uint64_t room = std::min({window - outstanding, share - sent, burst_frames});
    // Refill when half the window is free (or at once when synchronous).
    if (room > 0 && (window == 1 || outstanding <= window / 2 || sent == 0)) {
      const int64_t t0 = NowNs();
      if (!conn.WriteAll(std::string_view(burst).substr(0, room * frame.size()))) {
        *error = conn.error();
        return false;
      }
      sent += room;
      if (window == 1) {
        while (conn.messages() < sent) {
          if (!conn.ReadSome(p.timeout_s * 1000)) break;
        }
        run->latency.Record(static_cast<uint64_t>(NowNs() - t0));
      }
      continue;
    }
    if (!conn.ReadSome(1000) && (conn.closed() || NowNs() > deadline)) break;
  }
  acked->fetch_add(conn.messages() - conn.error_replies());
  if (conn.messages() < share) {
    *error = "publisher " + std::to_string(index) + ": " + std::to_string(conn.messages()) +
             " of " + std::to_string(share) + " PubAcks (" + conn.error() + ")";
    return false;
  }
  if (conn.error_replies() > 0) {
    *error = std::to_string(conn.error_replies()) + " publishes refused: " + conn.last_payload();
    return false;
  }
  return true;
}

bool PublishAll(const JsParams& p, JsRun* run) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(p.pubs);
  std::vector<JsRun> partial(p.pubs);
  std::atomic<uint64_t> acked{0};
  const uint64_t share = p.count / static_cast<uint64_t>(p.pubs);
  for (int i = 0; i < p.pubs; ++i) {
    const uint64_t mine = share + (i == 0 ? p.count % static_cast<uint64_t>(p.pubs) : 0);
    threads.emplace_back(
        [&, i, mine] { PublishShare(p, i, mine, &partial[i], &acked, &errors[i]); });
  }
  for (auto& t : threads) t.join();
  run->published = p.count;
  run->acked = acked.load();
  for (int i = 0; i < p.pubs; ++i) {
    run->latency.Merge(partial[i].latency);
    if (!errors[i].empty() && run->error.empty()) run->error = errors[i];
  }
  return run->error.empty();
}

// One pull consumer: requests batches, acks every message, until the group has `total`.
struct Puller {
  BenchConnection conn;
  std::string acks;  // +ACK frames waiting to be written
  uint64_t got = 0;  // messages with an ack subject
  uint64_t statuses = 0;
  static void OnMessage(BenchConnection*, std::string_view reply, void* arg) {
    auto* self = static_cast<Puller*>(arg);
    if (reply.empty()) {  // a status (408 at expiry, 404 ...): the request is over
      ++self->statuses;
      return;
    }
    ++self->got;
    self->acks.append("PUB ").append(reply).append(" 4\r\n+ACK\r\n");
  }
};

}  // namespace

JsRun RunJsPublish(const JsParams& p) {
  JsRun run;
  ApiClient api;
  if (!api.Open(p.server, &run.error) || !CreateStream(&api, p, &run.error)) return run;
  const int64_t start = NowNs();
  PublishAll(p, &run);
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  std::string info;
  if (api.Request(std::string("$JS.API.STREAM.INFO.") + kStream, "", &info)) {
    run.stored = api.Field("messages");
  }
  const uint64_t expected =
      p.keys > 0 ? std::min<uint64_t>({p.count, static_cast<uint64_t>(p.keys),
                                       std::min<uint64_t>(static_cast<uint64_t>(p.window), 1024)})
                 : p.count;
  if (run.error.empty() && run.stored != expected) {
    run.error = "the stream holds " + std::to_string(run.stored) + " of " +
                std::to_string(expected) + " acknowledged messages";
  }
  return run;
}

JsRun RunKvGet(const JsParams& p) {
  JsRun run;
  ApiClient api;
  JsParams fill = p;
  fill.keys = std::max(1, p.keys);
  if (!api.Open(p.server, &run.error) || !CreateStream(&api, fill, &run.error)) return run;
  fill.pubs = 1;
  fill.window = std::min(fill.keys, 1024);
  fill.count = static_cast<uint64_t>(fill.window);
  JsRun filled;
  if (!PublishAll(fill, &filled)) {
    run.error = filled.error;
    return run;
  }
  BenchConnection conn;
  conn.set_capture(true);
  if (!conn.Open(p.server, &run.error) || !conn.WriteAll("SUB _INBOX.kvget 1\r\n") ||
      !conn.Flush(5000)) {
    return run;
  }
  // Each get names its key in the subject (the form KV clients use for a key's last value).
  std::string gets;
  for (int k = 0; k < fill.window; ++k) {
    gets += std::string("PUB $JS.API.DIRECT.GET.") + kStream + "." + KeySubject(k) +
            " _INBOX.kvget 0\r\n\r\n";
  }
  const std::size_t frame = gets.size() / static_cast<std::size_t>(fill.window);
  const uint64_t window = static_cast<uint64_t>(std::max(1, p.window));
  uint64_t sent = 0, at = 0;
  const int64_t start = NowNs();
  const int64_t deadline = start + int64_t{p.timeout_s} * 1'000'000'000;
  while (conn.messages() < p.count && NowNs() < deadline) {
    const uint64_t outstanding = sent - conn.messages();
    if (outstanding < window && sent < p.count &&
        (window == 1 || outstanding <= window / 2 || sent == 0)) {
      const uint64_t room =
          std::min({window - outstanding, p.count - sent, static_cast<uint64_t>(fill.window) - at});
      const int64_t t0 = NowNs();
      if (!conn.WriteAll(std::string_view(gets).substr(at * frame, room * frame))) break;
      sent += room;
      at = (at + room) % static_cast<uint64_t>(fill.window);
      if (window == 1) {
        while (conn.messages() < sent && conn.ReadSome(1000)) {
        }
        run.latency.Record(static_cast<uint64_t>(NowNs() - t0));
      }
      continue;
    }
    if (!conn.ReadSome(1000) && conn.closed()) break;
  }
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.consumed = conn.messages();
  // The last answer must be a value (a status such as 404 has no 'j' payload).
  if (conn.last_payload().find(std::string(static_cast<std::size_t>(p.size), 'j')) ==
      std::string::npos) {
    run.error = "a direct get did not return the value: " + conn.last_payload().substr(0, 80);
  }
  if (run.error.empty() && run.consumed < p.count) {
    run.error = "answered " + std::to_string(run.consumed) + " of " + std::to_string(p.count);
  }
  return run;
}

JsRun RunMirror(const JsParams& p) {
  JsRun run;
  ApiClient api;
  if (!api.Open(p.server, &run.error) || !CreateStream(&api, p, &run.error)) return run;
  JsParams fill = p;
  fill.pubs = 1;
  fill.window = 1024;
  if (!PublishAll(fill, &run)) return run;
  std::string ignored;
  api.Request("$JS.API.STREAM.DELETE.BENCH_MIRROR", "", &ignored);
  const int64_t start = NowNs();
  if (!api.Must("$JS.API.STREAM.CREATE.BENCH_MIRROR",
                std::string("{\"name\":\"BENCH_MIRROR\",\"storage\":\"") + p.storage +
                    "\",\"mirror\":{\"name\":\"" + kStream + "\"}}",
                &run.error)) {
    return run;
  }
  const int64_t deadline = start + int64_t{p.timeout_s} * 1'000'000'000;
  while (NowNs() < deadline) {
    std::string info;
    if (api.Request("$JS.API.STREAM.INFO.BENCH_MIRROR", "", &info)) {
      run.consumed = api.Field("messages");
      if (run.consumed >= p.count) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  api.Request("$JS.API.STREAM.DELETE.BENCH_MIRROR", "", &ignored);
  if (run.consumed < p.count) {
    run.error =
        "the mirror holds " + std::to_string(run.consumed) + " of " + std::to_string(p.count);
  }
  return run;
}

JsRun RunJsFetch(const JsParams& p) {
  JsRun run;
  ApiClient api;
  if (!api.Open(p.server, &run.error) || !CreateStream(&api, p, &run.error)) return run;
  JsParams fill = p;
  fill.pubs = 1;
  fill.window = 1024;
  if (!PublishAll(fill, &run)) return run;
  if (!api.Must(std::string("$JS.API.CONSUMER.CREATE.") + kStream + ".bench",
                std::string("{\"stream_name\":\"") + kStream +
                    "\",\"config\":{\"durable_name\":\"bench\",\"ack_policy\":\"explicit\","
                    "\"max_ack_pending\":-1}}",
                &run.error)) {
    return run;
  }
  std::atomic<uint64_t> consumed{0};
  std::vector<std::thread> threads;
  std::vector<std::string> errors(p.consumers);
  const int64_t start = NowNs();
  const int64_t deadline = start + int64_t{p.timeout_s} * 1'000'000'000;
  for (int i = 0; i < p.consumers; ++i) {
    threads.emplace_back([&, i] {
      Puller puller;
      puller.conn.set_on_message(&Puller::OnMessage, &puller);
      const std::string inbox = "_INBOX.jsf" + std::to_string(i);
      if (!puller.conn.Open(p.server, &errors[i]) ||
          !puller.conn.WriteAll("SUB " + inbox + " 1\r\n") || !puller.conn.Flush(5000)) {
        return;
      }
      const std::string body = "{\"batch\":" + std::to_string(p.batch) + ",\"expires\":500000000}";
      const std::string request = std::string("PUB $JS.API.CONSUMER.MSG.NEXT.") + kStream +
                                  ".bench " + inbox + " " + std::to_string(body.size()) + "\r\n" +
                                  body + "\r\n";
      // Two requests in flight, so the server never waits for the next one.
      const uint64_t batch = static_cast<uint64_t>(p.batch);
      uint64_t counted = 0, requested = 0, statuses = 0;
      while (consumed.load() < p.count && NowNs() < deadline) {
        if (puller.statuses != statuses) {  // a request ended early: what it lacked is void
          statuses = puller.statuses;
          requested = puller.got;
        }
        while (requested - puller.got < 2 * batch) {
          if (!puller.conn.WriteAll(request)) return;
          requested += batch;
        }
        if (!puller.conn.ReadSome(1000) && puller.conn.closed()) return;
        if (!puller.acks.empty()) {
          puller.conn.WriteAll(puller.acks);
          puller.acks.clear();
        }
        consumed += puller.got - counted;
        counted = puller.got;
      }
      puller.conn.Flush(5000);  // the last acks reach the server
    });
  }
  for (auto& t : threads) t.join();
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.consumed = consumed.load();
  for (const std::string& e : errors) {
    if (!e.empty() && run.error.empty()) run.error = e;
  }
  if (run.error.empty() && run.consumed < p.count) {
    run.error = "consumed " + std::to_string(run.consumed) + " of " + std::to_string(p.count);
  }
  return run;
}

JsRun RunJsPush(const JsParams& p) {
  JsRun run;
  ApiClient api;
  if (!api.Open(p.server, &run.error) || !CreateStream(&api, p, &run.error)) return run;
  JsParams fill = p;
  fill.pubs = 1;
  fill.window = 1024;
  if (!PublishAll(fill, &run)) return run;
  // The deliveries' connection subscribes before the consumer exists: none is missed.
  Puller pusher;
  pusher.conn.set_on_message(&Puller::OnMessage, &pusher);
  const std::string deliver = "_INBOX.jsp";
  if (!pusher.conn.Open(p.server, &run.error) ||
      !pusher.conn.WriteAll("SUB " + deliver + " 1\r\n") || !pusher.conn.Flush(5000)) {
    return run;
  }
  const int64_t start = NowNs();
  if (!api.Must(std::string("$JS.API.CONSUMER.CREATE.") + kStream + ".bench",
                std::string("{\"stream_name\":\"") + kStream +
                    "\",\"config\":{\"durable_name\":\"bench\",\"ack_policy\":\"explicit\","
                    "\"deliver_subject\":\"" +
                    deliver + "\",\"max_ack_pending\":" + std::to_string(std::max(1, p.window)) +
                    "}}",
                &run.error)) {
    return run;
  }
  const int64_t deadline = start + int64_t{p.timeout_s} * 1'000'000'000;
  while (pusher.got < p.count && NowNs() < deadline) {
    if (!pusher.acks.empty()) {
      if (!pusher.conn.WriteAll(pusher.acks)) break;
      pusher.acks.clear();
    }
    if (!pusher.conn.ReadSome(1000) && pusher.conn.closed()) break;
  }
  if (!pusher.acks.empty()) pusher.conn.WriteAll(pusher.acks);
  pusher.conn.Flush(5000);  // the last acks reach the server
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.consumed = pusher.got;
  if (run.consumed < p.count) {
    run.error = "consumed " + std::to_string(run.consumed) + " of " + std::to_string(p.count);
  }
  return run;
}

}  // namespace tern::bench
