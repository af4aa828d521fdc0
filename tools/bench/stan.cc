#include "tools/bench/stan.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/stan/protocol.h"
#include "tools/bench/clock.h"

namespace tern::bench {
namespace {

namespace pb = tern::core::stan;

// One STAN client on its own connection: connected, then publishing or subscribing.
class StanClient {
 public:
  bool Connect(const ServerAddress& server, const std::string& cluster_id,
               const std::string& client_id, std::string* error) {
    conn_.set_capture(true);
    client_id_ = client_id;
    // Unique per run: a client of an earlier run still registered under this id (say, one
    // killed) is probed on its own inbox, and its probe must not pass for an answer here.
    inbox_ = "_INBOX.stanb." + client_id + "." + std::to_string(NowNs());
    if (!conn_.Open(server, error) || !conn_.WriteAll("SUB " + inbox_ + ".> 1\r\n") ||
        !conn_.Flush(5000)) {
      if (error->empty()) *error = conn_.error();
      return false;
    }
    std::string body;
    pb::Encode(pb::ConnectRequest{.client_id = client_id,
                                  .heartbeat_inbox = inbox_ + ".hb",
                                  .protocol = 1,
                                  .conn_id = client_id},
               &body);
    std::string reply;
    if (!Request("_STAN.discover." + cluster_id, body, &reply)) {
      *error = "no STAN server for cluster \"" + cluster_id + "\" (start with --streaming)";
      return false;
    }
    pb::ConnectResponse response;
    if (!pb::Decode(reply, &response) || !response.error.empty()) {
      *error = "connect: " + std::string(response.error);
      return false;
    }
    pub_prefix_ = response.pub_prefix;
    sub_requests_ = response.sub_requests;
    close_requests_ = response.close_requests;
    return true;
  }

  bool Request(const std::string& subject, const std::string& body, std::string* reply) {
    const uint64_t before = conn_.messages();
    if (!conn_.WriteAll(Frame(subject, inbox_ + ".r", body))) return false;
    while (conn_.messages() == before) {
      if (!conn_.ReadSome(5000)) return false;
    }
    *reply = conn_.last_payload();
    return true;
  }

  void Close() {
    std::string body, reply;
    pb::Encode(pb::CloseRequest{.client_id = client_id_}, &body);
    Request(close_requests_, body, &reply);
  }

  static std::string Frame(std::string_view subject, std::string_view reply,
                           std::string_view body) {
    std::string frame;
    frame.append("PUB ").append(subject);
    if (!reply.empty()) frame.append(" ").append(reply);
    frame.append(" ").append(std::to_string(body.size())).append("\r\n");
    frame.append(body).append("\r\n");
    return frame;
  }

  BenchConnection& conn() { return conn_; }
  const std::string& inbox() const { return inbox_; }
  const std::string& client_id() const { return client_id_; }
  const std::string& pub_prefix() const { return pub_prefix_; }
  const std::string& sub_requests() const { return sub_requests_; }

 private:
  BenchConnection conn_;
  std::string client_id_, inbox_, pub_prefix_, sub_requests_, close_requests_;
};

// PubAcks with an error, counted as they arrive.
struct PubAckCheck {
  uint64_t refused = 0;
  std::string first_error;
  static void OnMessage(BenchConnection* conn, std::string_view, void* arg) {
    auto* self = static_cast<PubAckCheck*>(arg);
    pb::PubAck ack;
    if (!pb::Decode(conn->last_payload(), &ack) || !ack.error.empty()) {
      if (self->refused++ == 0) self->first_error = std::string(ack.error);
    }
  }
};

// One publisher: `share` PubMsgs on `channel`, at most `window` awaiting their PubAck.
bool PublishShare(const JsParams& p, const std::string& cluster_id, int index,
                  const std::string& channel, uint64_t share, std::atomic<uint64_t>* acked,
                  std::string* error) {
  StanClient client;
  if (!client.Connect(p.server, cluster_id, "bench-pub-" + std::to_string(index), error)) {
    return false;
  }
  PubAckCheck check;
  client.conn().set_on_message(&PubAckCheck::OnMessage, &check);
  const std::string subject = client.pub_prefix() + "." + channel;
  const std::string reply = client.inbox() + ".ack";
  const std::string data(static_cast<std::size_t>(p.size), 's');
  const uint64_t window = static_cast<uint64_t>(std::max(1, p.window));
  BenchConnection& conn = client.conn();
  const uint64_t base = conn.messages();  // the connect's answer
  uint64_t sent = 0;
  std::string burst, body;
  const int64_t deadline = NowNs() + int64_t{p.timeout_s} * 1'000'000'000;
  while (conn.messages() - base < share) {
    const uint64_t outstanding = sent - (conn.messages() - base);
    if (sent < share && outstanding < window && (outstanding <= window / 2 || sent == 0)) {
      // Each PubMsg has its own guid, as clients make them: encoded here, per message.
      burst.clear();
      const uint64_t room = std::min(window - outstanding, share - sent);
      for (uint64_t i = 0; i < room; ++i) {
        const std::string guid = std::to_string(index) + "-" + std::to_string(sent + i);
        body.clear();
        pb::Encode(pb::PubMsg{.client_id = client.client_id(),
                              .guid = guid,
                              .subject = channel,
                              .data = data,
                              .conn_id = client.client_id()},
                   &body);
        burst += StanClient::Frame(subject, reply, body);
      }
      if (!conn.WriteAll(burst)) {
        *error = conn.error();
        return false;
      }
      sent += room;
      continue;
    }
    if (!conn.ReadSome(1000) && (conn.closed() || NowNs() > deadline)) break;
  }
  const uint64_t got = conn.messages() - base;
  acked->fetch_add(got - check.refused);
  if (got < share) {
    *error = "publisher " + std::to_string(index) + ": " + std::to_string(got) + " of " +
             std::to_string(share) + " PubAcks";
    return false;
  }
  if (check.refused > 0) {
    *error = std::to_string(check.refused) + " publishes refused: " + check.first_error;
    return false;
  }
  client.Close();
  return true;
}

bool PublishAll(const JsParams& p, const std::string& cluster_id, const std::string& channel,
                JsRun* run) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(p.pubs);
  std::atomic<uint64_t> acked{0};
  const uint64_t share = p.count / static_cast<uint64_t>(p.pubs);
  for (int i = 0; i < p.pubs; ++i) {
    const uint64_t mine = share + (i == 0 ? p.count % static_cast<uint64_t>(p.pubs) : 0);
    // One channel each, as js-pub gives each publisher a subject of its own.
    const std::string own = p.pubs == 1 ? channel : channel + "." + std::to_string(i);
    threads.emplace_back(
        [&, i, mine, own] { PublishShare(p, cluster_id, i, own, mine, &acked, &errors[i]); });
  }
  for (auto& t : threads) t.join();
  run->published = p.count;
  run->acked = acked.load();
  for (const std::string& e : errors) {
    if (!e.empty() && run->error.empty()) run->error = e;
  }
  return run->error.empty();
}

// A durable subscription acknowledging every MsgProto, in batches of what one read brought.
// Its deliveries come on a connection of their own, so that none is mistaken for the answer
// to its subscription request.
struct Subscriber {
  StanClient client;
  BenchConnection deliveries;
  std::string ack_inbox, acks, body;
  uint64_t got = 0, redelivered = 0;
  static void OnMessage(BenchConnection* conn, std::string_view, void* arg) {
    auto* self = static_cast<Subscriber*>(arg);
    pb::MsgProto msg;
    if (!pb::Decode(conn->last_payload(), &msg)) return;
    ++self->got;
    self->redelivered += msg.redelivered;
    self->body.clear();
    pb::Encode(pb::Ack{.subject = msg.subject, .sequence = msg.sequence}, &self->body);
    self->acks += StanClient::Frame(self->ack_inbox, {}, self->body);
  }
};

}  // namespace

JsRun RunStanPublish(const JsParams& p, const std::string& cluster_id) {
  JsRun run;
  // A channel of this run's own: counts start at 1.
  const std::string channel = "bench.stan." + std::to_string(NowNs());
  const int64_t start = NowNs();
  PublishAll(p, cluster_id, channel, &run);
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.stored = run.acked;
  return run;
}

JsRun RunStanSubscribe(const JsParams& p, const std::string& cluster_id) {
  JsRun run;
  const std::string channel = "bench.stan." + std::to_string(NowNs());
  JsParams fill = p;
  fill.pubs = 1;
  fill.window = 1024;
  if (!PublishAll(fill, cluster_id, channel, &run)) return run;
  run.stored = run.acked;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < p.consumers; ++i) {
    auto sub = std::make_unique<Subscriber>();
    if (!sub->client.Connect(p.server, cluster_id, "bench-sub-" + std::to_string(i), &run.error)) {
      return run;
    }
    subs.push_back(std::move(sub));
  }
  std::atomic<uint64_t> consumed{0};
  std::vector<std::thread> threads;
  std::vector<std::string> errors(p.consumers);
  const int64_t start = NowNs();
  const int64_t deadline = start + int64_t{p.timeout_s} * 1'000'000'000;
  for (int i = 0; i < p.consumers; ++i) {
    threads.emplace_back([&, i] {
      Subscriber& sub = *subs[i];
      std::string body, reply;
      // Not under the client inbox's wildcard: only the deliveries connection gets them.
      const std::string deliveries = "_INBOX.stanb-msgs." + sub.client.client_id();
      sub.deliveries.set_capture(true);
      sub.deliveries.set_on_message(&Subscriber::OnMessage, &sub);
      if (!sub.deliveries.Open(p.server, &errors[i]) ||
          !sub.deliveries.WriteAll("SUB " + deliveries + " 1\r\n") || !sub.deliveries.Flush(5000)) {
        return;
      }
      pb::Encode(pb::SubscriptionRequest{.client_id = sub.client.client_id(),
                                         .subject = channel,
                                         .inbox = deliveries,
                                         .max_in_flight = std::max(1, p.window),
                                         .ack_wait_in_secs = 30,
                                         .durable_name = "bench",
                                         .start_position = pb::StartPosition::kFirst},
                 &body);
      pb::SubscriptionResponse response;
      if (!sub.client.Request(sub.client.sub_requests(), body, &reply) ||
          !pb::Decode(reply, &response) || !response.error.empty()) {
        errors[i] = "subscribe: " + std::string(response.error);
        return;
      }
      sub.ack_inbox = response.ack_inbox;  // deliveries are read (and acked) only from here
      while (sub.got < p.count && NowNs() < deadline) {
        if (!sub.acks.empty()) {
          if (!sub.deliveries.WriteAll(sub.acks)) break;
          sub.acks.clear();
        }
        if (!sub.deliveries.ReadSome(1000) && sub.deliveries.closed()) break;
      }
      consumed.fetch_add(sub.got);
      if (sub.got < p.count) {
        errors[i] = "subscriber " + std::to_string(i) + ": " + std::to_string(sub.got) + " of " +
                    std::to_string(p.count);
      }
    });
  }
  for (auto& t : threads) t.join();
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.consumed = consumed.load() / static_cast<uint64_t>(std::max(1, p.consumers));
  for (const std::string& e : errors) {
    if (!e.empty() && run.error.empty()) run.error = e;
  }
  for (auto& sub : subs) sub->client.Close();
  return run;
}

}  // namespace tern::bench
