#include "tools/bench/telemetry.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "tools/bench/clock.h"
#include "tools/bench/mqtt_connection.h"

namespace tern::bench {
namespace {

constexpr int kStampDigits = 20;

struct Receiver {
  LatencyHistogram latency;
  uint64_t timed = 0;   // messages with a publish time
  uint64_t probes = 0;  // interest probes

  // The payload's first 20 digits are the publish time. A message an MQTT client published
  // reaches NATS subscribers with headers (HMSG): the payload is after them.
  void Take(std::string_view payload) {
    if (payload.rfind("NATS/1.0", 0) == 0) {
      const std::size_t end_of_headers = payload.find("\r\n\r\n");
      payload.remove_prefix(end_of_headers == std::string_view::npos ? payload.size()
                                                                     : end_of_headers + 4);
    }
    int64_t sent = 0;
    const char* end = payload.data() + std::min<std::size_t>(payload.size(), kStampDigits);
    if (std::from_chars(payload.data(), end, sent).ec != std::errc() || sent == 0) {
      ++probes;
      return;
    }
    latency.Record(static_cast<uint64_t>(std::max<int64_t>(NowNs() - sent, 0)));
    ++timed;
  }
};

void OnNatsMessage(BenchConnection* conn, std::string_view, void* arg) {
  static_cast<Receiver*>(arg)->Take(conn->last_payload());
}
void OnMqttMessage(std::string_view payload, void* arg) {
  static_cast<Receiver*>(arg)->Take(payload);
}

std::string Frame(int publisher, int size, int64_t stamp, bool mqtt) {
  char digits[kStampDigits + 1];
  std::snprintf(digits, sizeof digits, "%0*lld", kStampDigits, static_cast<long long>(stamp));
  std::string payload(digits, kStampDigits);
  payload.resize(static_cast<std::size_t>(std::max(size, kStampDigits)), 't');
  if (mqtt) return MqttPublish("telemetry/" + std::to_string(publisher), payload);
  return "PUB telemetry." + std::to_string(publisher) + " " + std::to_string(payload.size()) +
         "\r\n" + payload + "\r\n";
}

// One side of the run, over NATS or MQTT.
struct Endpoint {
  std::unique_ptr<BenchConnection> nats;
  std::unique_ptr<MqttBenchConnection> mqtt;
  bool WriteAll(std::string_view bytes) {
    return nats ? nats->WriteAll(bytes) : mqtt->WriteAll(bytes);
  }
  bool Flush(int timeout_ms) { return nats ? nats->Flush(timeout_ms) : mqtt->Flush(timeout_ms); }
  bool ReadSome(int timeout_ms) {
    return nats ? nats->ReadSome(timeout_ms) : mqtt->ReadSome(timeout_ms);
  }
  bool closed() const { return nats ? nats->closed() : mqtt->closed(); }
  std::string error() const { return nats ? nats->error() : mqtt->error(); }
};

bool OpenEndpoint(Endpoint* e, bool mqtt, const ServerAddress& address, const std::string& id,
                  std::string* error) {
  if (mqtt) {
    e->mqtt = std::make_unique<MqttBenchConnection>();
    return e->mqtt->Open(address, id, error);
  }
  e->nats = std::make_unique<BenchConnection>();
  return e->nats->Open(address, error);
}

}  // namespace

TelemetryRun RunTelemetry(const TelemetryParams& p) {
  TelemetryRun run;
  std::string error;
  if (p.subs < 1 || (p.mqtt_subscriber && p.subs != 1)) {
    run.error = "telemetry takes one or more NATS subscribers, or one MQTT subscriber";
    return run;
  }
  const auto subs = static_cast<std::size_t>(p.subs);
  std::vector<Receiver> receivers(subs);
  std::vector<Endpoint> sub(subs);
  const std::string queue = p.group.empty() ? "" : " " + p.group;
  for (std::size_t i = 0; i < subs; ++i) {
    bool subscribed = OpenEndpoint(&sub[i], p.mqtt_subscriber, p.sub_server,
                                   "telemetry-sub-" + std::to_string(i), &error);
    if (subscribed && sub[i].mqtt) {
      sub[i].mqtt->set_on_publish(&OnMqttMessage, &receivers[i]);
      subscribed = sub[i].mqtt->Subscribe("telemetry/#", 0, 5000);
    } else if (subscribed) {
      sub[i].nats->set_capture(true);
      sub[i].nats->set_on_message(&OnNatsMessage, &receivers[i]);
      subscribed = sub[i].WriteAll("SUB telemetry.>" + queue + " 1\r\n") && sub[i].Flush(5000);
    }
    if (!subscribed) {
      run.error = "subscriber: " + (error.empty() ? sub[i].error() : error);
      return run;
    }
  }
  std::vector<Endpoint> pubs(static_cast<std::size_t>(p.pubs));
  for (int i = 0; i < p.pubs; ++i) {
    if (!OpenEndpoint(&pubs[static_cast<std::size_t>(i)], p.mqtt_publishers, p.server,
                      "device-" + std::to_string(i), &error)) {
      run.error = "publisher " + std::to_string(i) + ": " + error;
      return run;
    }
  }
  // The subscribers' interest crosses to the publishers' server some time after their
  // PONG: probe until every subscriber (a queue group: one of them) has one.
  const std::string probe = p.mqtt_publishers ? MqttPublish("telemetry/probe", "probe")
                                              : "PUB telemetry.probe 5\r\nprobe\r\n";
  auto probed = [&] {
    std::size_t reached = 0;
    for (const Receiver& r : receivers) reached += r.probes > 0;
    return p.group.empty() ? reached == subs : reached > 0;
  };
  const int64_t probe_deadline = NowNs() + int64_t{p.timeout_s} * 1'000'000'000;
  while (!probed() && NowNs() < probe_deadline) {
    if (!pubs[0].WriteAll(probe) || !pubs[0].Flush(5000)) {
      run.error = "publisher failed while probing";
      return run;
    }
    for (Endpoint& s : sub) s.ReadSome(20);
  }
  if (!probed()) {
    run.error = "the subscribers never received a probe";
    return run;
  }
  // Probes still in flight to other queue members land before timing starts.
  for (Endpoint& s : sub) {
    if (!s.Flush(5000)) {
      run.error = "subscriber: " + s.error();
      return run;
    }
  }

  const uint64_t total = p.count;
  std::atomic<bool> publishing_done{false};
  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> group_received{0};
  const double publish_seconds =
      static_cast<double>(total) / (static_cast<double>(p.pubs) * static_cast<double>(p.rate));
  const int64_t deadline = NowNs() + static_cast<int64_t>((p.timeout_s + publish_seconds) * 1e9);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < subs; ++i) {
    readers.emplace_back([&, i] {
      Receiver& receiver = receivers[i];
      uint64_t counted = 0;
      while (NowNs() < deadline) {
        const uint64_t mine = p.group.empty() ? receiver.timed : group_received.load();
        if (publishing_done.load() && mine >= published.load()) break;
        const bool read = sub[i].ReadSome(50);
        group_received += receiver.timed - counted;
        counted = receiver.timed;
        if (!read && sub[i].closed()) break;
      }
    });
  }
  // Paced round robin: publisher k of message n is due at start + n * interval, where the
  // interval spreads pubs * rate messages a second evenly.
  const double interval_ns = 1e9 / (static_cast<double>(p.pubs) * p.rate);
  const int64_t start = NowNs();
  uint64_t sent = 0;
  for (; sent < total; ++sent) {
    const int64_t due = start + static_cast<int64_t>(static_cast<double>(sent) * interval_ns);
    for (int64_t now = NowNs(); now < due; now = NowNs()) {
      if (due - now > 200'000) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(due - now - 100'000));
      }
    }
    const int publisher = static_cast<int>(sent % static_cast<uint64_t>(p.pubs));
    if (!pubs[static_cast<std::size_t>(publisher)].WriteAll(
            Frame(publisher, p.size, NowNs(), p.mqtt_publishers))) {
      run.error = "publisher " + std::to_string(publisher) + " failed";
      break;
    }
  }
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.published = sent;
  published = sent;
  publishing_done = true;
  for (auto& t : readers) t.join();
  // Each subscriber must have every message; a queue group, every message once.
  run.delivered = p.group.empty() ? UINT64_MAX : 0;
  for (const Receiver& r : receivers) {
    run.delivered = p.group.empty() ? std::min(run.delivered, r.timed) : run.delivered + r.timed;
    run.latency.Merge(r.latency);
  }
  return run;
}

}  // namespace tern::bench
