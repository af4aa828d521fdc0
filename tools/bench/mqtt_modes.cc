#include "tools/bench/mqtt_modes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "tools/bench/clock.h"
#include "tools/bench/mqtt_connection.h"

namespace tern::bench {
namespace {

std::string Topic(int k, int subjects) {
  return subjects == 1 ? "bench/subject" : "bench/subject/" + std::to_string(k);
}

// QoS 0: packets written in ~64 KiB chunks, then PINGREQ as the barrier. Returns the
// messages the server took, or 0 on a failure.
uint64_t PublishQos0(MqttBenchConnection* conn, const MqttParams& p, uint64_t share, int first) {
  const std::string payload(static_cast<std::size_t>(p.size), 'p');
  std::vector<std::string> packets;
  for (int k = 0; k < p.subjects; ++k) {
    packets.push_back(MqttPublish(Topic((first + k) % p.subjects, p.subjects), payload));
  }
  std::string chunk;
  std::size_t per_chunk = 0;
  while (chunk.size() < 64 * 1024 || per_chunk % packets.size() != 0) {
    chunk += packets[per_chunk % packets.size()];
    ++per_chunk;
  }
  uint64_t sent = 0;
  for (; sent + per_chunk <= share; sent += per_chunk) {
    if (!conn->WriteAll(chunk)) return 0;
  }
  std::string tail;
  for (; sent < share; ++sent) tail += packets[sent % packets.size()];
  return conn->WriteAll(tail) && conn->Flush(p.timeout_s * 1000) ? sent : 0;
}

// QoS 1: at most `window` unacknowledged; packet ids cycle through 1..65535. Returns the
// acknowledged count.
uint64_t PublishQos1(MqttBenchConnection* conn, const MqttParams& p, uint64_t share, int first) {
  const std::string payload(static_cast<std::size_t>(p.size), 'p');
  std::vector<std::string> packets;
  for (int k = 0; k < p.subjects; ++k) {
    packets.push_back(MqttPublish(Topic((first + k) % p.subjects, p.subjects), payload, 1, 1));
  }
  // Where the packet id sits: after the fixed header, the topic's length and the topic.
  std::vector<std::size_t> id_at;
  for (const std::string& packet : packets) {
    std::size_t header = 1;
    while (static_cast<uint8_t>(packet[header]) & 0x80) ++header;
    const std::size_t topic =
        static_cast<uint8_t>(packet[header + 1]) << 8 | static_cast<uint8_t>(packet[header + 2]);
    id_at.push_back(header + 3 + topic);
  }
  const std::size_t window = static_cast<std::size_t>(std::min(p.window, 65535));
  std::string batch;
  uint64_t sent = 0;
  while (conn->pubacks() < share) {
    batch.clear();
    while (sent < share && sent - conn->pubacks() < window) {
      const std::size_t k = sent % packets.size();
      std::string& packet = packets[k];
      const uint16_t id = static_cast<uint16_t>(sent % 65535 + 1);
      packet[id_at[k]] = static_cast<char>(id >> 8);
      packet[id_at[k] + 1] = static_cast<char>(id & 0xff);
      batch += packet;
      ++sent;
    }
    if (!batch.empty() && !conn->WriteAll(batch)) return 0;
    if (conn->pubacks() < share && !conn->ReadSome(p.timeout_s * 1000)) return conn->pubacks();
  }
  return conn->pubacks();
}

}  // namespace

MqttRun RunMqttPubSub(const MqttParams& p) {
  MqttRun run;
  std::string error;
  std::vector<std::unique_ptr<MqttBenchConnection>> subs, pubs;
  const std::string filter = p.subjects == 1 ? "bench/subject" : "bench/subject/+";
  for (int i = 0; i < p.subs; ++i) {
    subs.push_back(std::make_unique<MqttBenchConnection>());
    if (!subs.back()->Open(p.server, "bench-sub-" + std::to_string(i), &error) ||
        !subs.back()->Subscribe(filter, 0, 5000)) {
      run.error = "subscriber: " + (error.empty() ? subs.back()->error() : error);
      return run;
    }
  }
  for (int i = 0; i < p.pubs; ++i) {
    pubs.push_back(std::make_unique<MqttBenchConnection>());
    if (!pubs.back()->Open(p.server, "bench-pub-" + std::to_string(i), &error)) {
      run.error = "publisher: " + error;
      return run;
    }
  }
  run.expected = p.count * static_cast<uint64_t>(p.subs);
  const int64_t start = NowNs();
  const int64_t deadline = start + int64_t{p.timeout_s} * 1'000'000'000;
  std::atomic<uint64_t> delivered{0};
  std::vector<double> sub_seconds(subs.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    threads.emplace_back([&, i] {
      MqttBenchConnection* c = subs[i].get();
      while (c->publishes() < p.count && NowNs() < deadline) {
        if (!c->ReadSome(p.timeout_s * 1000) && c->closed()) break;
      }
      delivered += c->publishes();
      sub_seconds[i] = static_cast<double>(NowNs() - start) / 1e9;
    });
  }
  std::atomic<uint64_t> published{0};
  std::vector<std::thread> publishers;
  const uint64_t share = p.count / static_cast<uint64_t>(p.pubs);
  for (int i = 0; i < p.pubs; ++i) {
    const uint64_t mine = share + (i == 0 ? p.count % static_cast<uint64_t>(p.pubs) : 0);
    publishers.emplace_back([&, i, mine] {
      MqttBenchConnection* c = pubs[static_cast<std::size_t>(i)].get();
      published += p.qos == 0 ? PublishQos0(c, p, mine, i) : PublishQos1(c, p, mine, i);
    });
  }
  for (auto& t : publishers) t.join();
  run.pub_seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.published = published.load();
  for (auto& t : threads) t.join();
  run.delivered = delivered.load();
  for (std::size_t i = 0; i < subs.size(); ++i) {
    run.sub_seconds = std::max(run.sub_seconds, sub_seconds[i]);
    run.per_sub_rates.push_back(static_cast<double>(subs[i]->publishes()) / sub_seconds[i]);
  }
  if (run.published < p.count) run.error = "a publisher's connection failed or timed out";
  return run;
}

}  // namespace tern::bench
