// Soak: many kinds of client at once against one tern-server for TERN_SOAK_SECONDS (60 in
// CI; 1800 for the documented long run), with every message checked:
//   - publishers come and go (each a new connection); a healthy wildcard subscriber must
//     get every message of every publisher, once, in publish order;
//   - a queue group whose fourth member keeps joining and leaving: every queue message
//     reaches exactly one member;
//   - request/reply through a queue of responders: every request answered;
//   - churning subscribers: wildcard ones that vanish without UNSUB, slow readers that
//     never read (cut off by the server), clean ones;
//   - JetStream: acknowledged publishes and a pull consumer that acks; after a restart
//     every acknowledged publish is in the stream with its payload;
//   - the server's anonymous RSS at the end stays within 10% of what it was after warm-up.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "js_util.h"

namespace tern::e2e {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kStreamMaxMsgs = 5000;

int SoakSeconds() {
  const char* text = std::getenv("TERN_SOAK_SECONDS");
  const int seconds = text != nullptr ? std::atoi(text) : 60;
  return seconds > 0 ? seconds : 60;
}

// The server's anonymous resident memory (heap, buffers; not the mapped store), in KiB.
long RssAnonKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
  }
  return -1;
}

// "<publisher>:<seq>" payloads, checked per publisher: each must be the next in order.
class OrderChecker {
 public:
  void Saw(const std::string& payload) {
    const auto colon = payload.find(':');
    const uint64_t publisher = std::stoull(payload.substr(0, colon));
    const uint64_t seq = std::stoull(payload.substr(colon + 1));
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t& last = last_[publisher];
    if (seq != last + 1 && errors_.size() < 20) {
      errors_.push_back("publisher " + std::to_string(publisher) + ": got " + std::to_string(seq) +
                        " after " + std::to_string(last));
    }
    last = seq;
  }
  // Publisher -> how many it had published when it closed.
  void Finished(uint64_t publisher, uint64_t count) {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_[publisher] = count;
  }
  std::vector<std::string> Problems() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out = errors_;
    for (const auto& [publisher, count] : finished_) {
      if (last_[publisher] != count && out.size() < 40) {
        out.push_back("publisher " + std::to_string(publisher) + " published " +
                      std::to_string(count) + ", received " + std::to_string(last_[publisher]));
      }
    }
    return out;
  }
  std::size_t publishers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return finished_.size();
  }

 private:
  std::mutex mutex_;
  std::map<uint64_t, uint64_t> last_;
  std::map<uint64_t, uint64_t> finished_;
  std::vector<std::string> errors_;
};

// Queue deliveries: every id exactly once across the members.
struct QueueTally {
  std::mutex mutex;
  std::set<std::string> seen;
  uint64_t duplicates = 0;
  void Add(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!seen.insert(id).second) ++duplicates;
  }
  static void OnMsg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    static_cast<QueueTally*>(closure)->Add(Payload(msg));
    natsMsg_Destroy(msg);
  }
};

// The payloads of the MSG frames in raw protocol text (PONGs and the like skipped).
std::vector<std::string> MsgPayloads(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = text.find("MSG ", at)) != std::string::npos) {
    const std::size_t eol = text.find("\r\n", at);
    if (eol == std::string::npos) break;
    const std::string line = text.substr(at, eol - at);
    const std::size_t size = std::stoul(line.substr(line.rfind(' ') + 1));
    out.push_back(text.substr(eol + 2, size));
    at = eol + 2 + size + 2;
  }
  return out;
}

void OnDataMsg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  static_cast<OrderChecker*>(closure)->Saw(Payload(msg));
  natsMsg_Destroy(msg);
}

void Respond(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  if (natsMsg_GetReply(msg) != nullptr) {
    natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg),
                           natsMsg_GetDataLength(msg));
  }
  natsMsg_Destroy(msg);
}

natsSubscription* AsyncSub(natsConnection* nc, const char* subject, const char* queue,
                           natsMsgHandler handler, void* closure) {
  natsSubscription* sub = nullptr;
  const natsStatus s =
      queue ? natsConnection_QueueSubscribe(&sub, nc, subject, queue, handler, closure)
            : natsConnection_Subscribe(&sub, nc, subject, handler, closure);
  EXPECT_EQ(s, NATS_OK) << subject;
  natsSubscription_SetPendingLimits(sub, -1, -1);
  return sub;
}

TEST(Soak, EveryMessageCheckedWhileClientsChurn) {
  const int seconds = SoakSeconds();
  const std::string store = MakeStoreDir();
  // Slow readers are cut by the write deadline; healthy ones never come near it. The list of
  // closed connections (/connz?state=closed, 10,000 by default) is kept short, so that its
  // filling up over the run is not mistaken for a leak.
  const std::string conf = WriteConfig("write_deadline: \"3s\"\nmax_closed_clients: 100\n");
  auto server = ServerProcess::Start({"-js", "-sd", store, "-c", conf});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next_publisher{1};

  // The healthy wildcard subscriber, the queue group and the responders stay all along.
  OrderChecker order;
  QueueTally queue;
  auto healthy = Connect(*server);
  natsSubscription* healthy_sub = AsyncSub(healthy->nc, "soak.data.>", nullptr, OnDataMsg, &order);
  std::vector<std::unique_ptr<NatsConn>> members;
  std::vector<natsSubscription*> member_subs;
  for (int i = 0; i < 3; ++i) {
    members.push_back(Connect(*server));
    member_subs.push_back(
        AsyncSub(members.back()->nc, "soak.work", "workers", QueueTally::OnMsg, &queue));
  }
  std::vector<std::unique_ptr<NatsConn>> responders;
  std::vector<natsSubscription*> responder_subs;
  for (int i = 0; i < 2; ++i) {
    responders.push_back(Connect(*server));
    responder_subs.push_back(AsyncSub(responders.back()->nc, "soak.svc", "svc", Respond, nullptr));
  }
  for (auto* conns : {&members, &responders})
    for (auto& c : *conns) ASSERT_EQ(natsConnection_Flush(c->nc), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(healthy->nc), NATS_OK);

  std::atomic<uint64_t> queue_published{0};
  std::atomic<uint64_t> requests{0}, unanswered{0};
  std::mutex js_mutex;
  std::map<uint64_t, std::string> js_acked;  // stream sequence -> payload
  std::atomic<uint64_t> js_failed{0}, js_consumed{0};
  std::vector<std::thread> threads;

  // Publishers: each connection publishes a random run, flushes and closes; a new one follows.
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!stop) {
        auto conn = Connect(*server);
        const uint64_t id = next_publisher++;
        // A bounded set of subjects: the match caches fill during warm-up, and a cache that is
        // still filling is not mistaken for a leak.
        const std::string subject =
            "soak.data." + std::to_string(id % 7) + "." + std::to_string(id % 50);
        const int run = 200 + static_cast<int>(rng() % 3000);
        int sent = 0;
        for (; sent < run && !stop; ++sent) {
          const std::string payload = std::to_string(id) + ":" + std::to_string(sent + 1);
          natsConnection_PublishString(conn->nc, subject.c_str(), payload.c_str());
          if (sent % 10 == 0) {
            natsConnection_PublishString(conn->nc, "soak.work", ("q" + payload).c_str());
            ++queue_published;
          }
          if (sent % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        EXPECT_EQ(natsConnection_Flush(conn->nc), NATS_OK);
        order.Finished(id, static_cast<uint64_t>(sent));
      }
    });
  }

  // The fourth queue member joins and leaves (a raw connection: everything the server sent
  // it arrives before the PONG that follows its UNSUB, and is counted).
  threads.emplace_back([&] {
    while (!stop) {
      RawConn member(server->port());
      member.Send("CONNECT {\"verbose\":false}\r\nSUB soak.work workers 1\r\nPING\r\n");
      std::string got = member.ReadUntil("PONG\r\n", 5000);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      member.Send("UNSUB 1\r\nPING\r\n");
      got += member.ReadUntil("PONG\r\n", 10000);
      for (const std::string& payload : MsgPayloads(got)) queue.Add(payload);
    }
  });

  // Requests: each must be answered.
  threads.emplace_back([&] {
    auto conn = Connect(*server);
    while (!stop) {
      natsMsg* reply = nullptr;
      ++requests;
      if (natsConnection_RequestString(&reply, conn->nc, "soak.svc", "hello", 2000) != NATS_OK) {
        ++unanswered;
      } else {
        natsMsg_Destroy(reply);
      }
    }
  });

  // Churning subscribers: vanish without UNSUB, never read (slow), or leave cleanly.
  threads.emplace_back([&] {
    std::mt19937 rng(7);
    const char* patterns[] = {"soak.data.*.*", "soak.>", "soak.data.3.>", "soak.*.1.*"};
    while (!stop) {
      const std::string pattern = patterns[rng() % 4];
      switch (rng() % 3) {
        case 0: {  // abrupt: the socket closes with the subscription in place
          RawConn raw(server->port());
          raw.Send("CONNECT {\"verbose\":false}\r\nSUB " + pattern + " 1\r\nPING\r\n");
          raw.ReadFor(100 + rng() % 200);
          break;
        }
        case 1: {  // slow: a tiny receive buffer, never read
          RawConn slow(server->port(), true, 4096);
          slow.Send("CONNECT {\"verbose\":false}\r\nSUB soak.data.> 1\r\n");
          std::this_thread::sleep_for(std::chrono::milliseconds(500 + rng() % 1500));
          break;
        }
        default: {  // clean: UNSUB, then a PING answered, then close
          // (Raw, not libnats: with libnats 3.4 doing this, its reader thread aborted in
          // natsConn_processMsg once in a few minutes, in a subscription destroyed while
          // messages for it were arriving.)
          RawConn raw(server->port());
          raw.Send("CONNECT {\"verbose\":false}\r\nSUB " + pattern + " 1\r\nPING\r\n");
          raw.ReadFor(50 + rng() % 100);
          raw.Send("UNSUB 1\r\nPING\r\n");
          raw.ReadUntil("PONG\r\n", 5000);
        }
      }
    }
  });

  // JetStream: acknowledged publishes, and a pull consumer that acks what it fetches.
  {
    auto conn = Connect(*server);
    jsCtx* js = nullptr;
    ASSERT_EQ(natsConnection_JetStream(&js, conn->nc, nullptr), NATS_OK);
    // Bounded (max_msgs), so that the store's memory reaches a steady state too.
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "SOAK";
    const char* subjects[] = {"soak.js.>"};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.MaxMsgs = kStreamMaxMsgs;
    jsStreamInfo* created = nullptr;
    ASSERT_EQ(js_AddStream(&created, js, &cfg, nullptr, nullptr), NATS_OK);
    jsStreamInfo_Destroy(created);
    jsCtx_Destroy(js);
  }
  threads.emplace_back([&] {
    auto conn = Connect(*server);
    jsCtx* js = nullptr;
    natsConnection_JetStream(&js, conn->nc, nullptr);
    for (uint64_t n = 1; !stop; ++n) {
      const std::string payload = "js-" + std::to_string(n);
      jsPubAck* ack = nullptr;
      if (js_Publish(&ack, js, ("soak.js." + std::to_string(n % 5)).c_str(), payload.data(),
                     static_cast<int>(payload.size()), nullptr, nullptr) == NATS_OK) {
        std::lock_guard<std::mutex> lock(js_mutex);
        js_acked[ack->Sequence] = payload;
        jsPubAck_Destroy(ack);
      } else {
        ++js_failed;
      }
    }
    jsCtx_Destroy(js);
  });
  threads.emplace_back([&] {
    auto conn = Connect(*server);
    jsCtx* js = nullptr;
    natsConnection_JetStream(&js, conn->nc, nullptr);
    natsSubscription* sub = nullptr;
    ASSERT_EQ(js_PullSubscribe(&sub, js, "soak.js.>", "soakc", nullptr, nullptr, nullptr), NATS_OK);
    while (!stop) {
      natsMsgList list{};
      if (natsSubscription_Fetch(&list, sub, 50, 500, nullptr) == NATS_OK) {
        for (int i = 0; i < list.Count; ++i) {
          natsMsg_Ack(list.Msgs[i], nullptr);
          ++js_consumed;
        }
        natsMsgList_Destroy(&list);
      }
    }
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
  });

  // Memory: a slow reader holds what it was sent until it is cut off, so single samples
  // jump around. The floor of each window (its lowest sample, every 250 ms) is what the
  // server keeps for itself: the floor of the window after warm-up (30-40 % of the run)
  // against the floor of the last tenth. A leak raises every sample, the floor too.
  // The trajectory (KiB, each tenth's floor) goes to the log for a reader of a failed run.
  const auto start = Clock::now();
  std::vector<long> floors(10, -1);
  for (auto now = start; now < start + std::chrono::seconds(seconds); now = Clock::now()) {
    const auto tenth = static_cast<std::size_t>((now - start) * 10 / std::chrono::seconds(seconds));
    const long kib = RssAnonKib(server->pid());
    if (tenth < floors.size() && (floors[tenth] < 0 || kib < floors[tenth])) floors[tenth] = kib;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::string trajectory;
  for (long kib : floors) trajectory += " " + std::to_string(kib);
  std::printf("soak: RssAnon floor (KiB) in each tenth of the run:%s\n", trajectory.c_str());
  const long warm_kib = floors[3];
  const long end_kib = floors[9];
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(natsConnection_Flush(healthy->nc), NATS_OK);
  for (auto& m : members) natsConnection_Flush(m->nc);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the last deliveries land

  const std::vector<std::string> problems = order.Problems();
  EXPECT_TRUE(problems.empty()) << problems.size()
                                << " ordering/loss problems, first: " << problems.front();
  EXPECT_GT(order.publishers(), 10u);
  {
    std::lock_guard<std::mutex> lock(queue.mutex);
    EXPECT_EQ(queue.duplicates, 0u);
    EXPECT_EQ(queue.seen.size(), queue_published.load()) << "queue messages delivered";
  }
  EXPECT_GT(requests.load(), 100u);
  EXPECT_EQ(unanswered.load(), 0u) << "of " << requests.load() << " requests";
  EXPECT_EQ(js_failed.load(), 0u);
  EXPECT_GT(js_consumed.load(), 0u);
  std::printf(
      "soak: %d s, %zu publishers, %lu queue messages, %lu requests, %zu JetStream "
      "publishes (%lu consumed); RssAnon %ld KiB after warm-up, %ld KiB at the end\n",
      seconds, order.publishers(), static_cast<unsigned long>(queue_published.load()),
      static_cast<unsigned long>(requests.load()), js_acked.size(),
      static_cast<unsigned long>(js_consumed.load()), warm_kib, end_kib);
  EXPECT_GT(warm_kib, 0);
  // 10 % plus 1 MiB: on a loaded machine the server never idles, and its floor can settle
  // an allocator page-set higher (seen: +2 MiB on 17 MiB while two compilers ran). A leak
  // per message (a quarter of a million of them) is far past this; a leak per connection
  // is the long run's to find (TERN_SOAK_SECONDS).
  EXPECT_LE(end_kib, warm_kib + warm_kib / 10 + 1024)
      << "RssAnon (KiB) grew past 10 % + 1 MiB after warm-up";

  for (natsSubscription* s : member_subs) natsSubscription_Destroy(s);
  for (natsSubscription* s : responder_subs) natsSubscription_Destroy(s);
  natsSubscription_Destroy(healthy_sub);
  members.clear();
  responders.clear();
  healthy.reset();

  // Every acknowledged publish survives a restart, with its payload.
  ASSERT_EQ(server->Stop(SIGTERM), 0);
  server = ServerProcess::Start({"-js", "-sd", store, "-c", conf});
  auto conn = Connect(*server);
  jsCtx* js = nullptr;
  ASSERT_EQ(natsConnection_JetStream(&js, conn->nc, nullptr), NATS_OK);
  ASSERT_FALSE(js_acked.empty());
  // The newest kStreamMaxMsgs acknowledged publishes are what the stream keeps.
  const uint64_t last = js_acked.rbegin()->first;
  const uint64_t first = last > kStreamMaxMsgs ? last - kStreamMaxMsgs + 1 : 1;
  jsStreamInfo* info = StreamInfo(js, "SOAK");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->State.LastSeq, last);
  EXPECT_EQ(info->State.FirstSeq, first);
  EXPECT_EQ(info->State.Msgs,
            static_cast<uint64_t>(std::distance(js_acked.lower_bound(first), js_acked.end())));
  jsStreamInfo_Destroy(info);
  int wrong = 0;
  for (auto it = js_acked.lower_bound(first); it != js_acked.end(); ++it) {
    const auto& [seq, payload] = *it;
    natsMsg* msg = nullptr;
    if (js_GetMsg(&msg, js, "SOAK", seq, nullptr, nullptr) != NATS_OK) {
      ++wrong;
      continue;
    }
    wrong += Payload(msg) != payload;
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(wrong, 0) << "acknowledged publishes missing or changed after the restart";
  jsCtx_Destroy(js);
}

}  // namespace
}  // namespace tern::e2e
