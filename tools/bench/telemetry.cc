#include "tools/bench/telemetry.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace tern::bench {
namespace {

constexpr int kStampDigits = 20;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Receiver {
  LatencyHistogram latency;
  uint64_t timed = 0;   // messages with a publish time
  uint64_t probes = 0;  // interest probes
};

// The subscriber's callback: the payload's first 20 digits are the publish time.
void OnTelemetry(BenchConnection* conn, std::string_view, void* arg) {
  auto* receiver = static_cast<Receiver*>(arg);
  const std::string& payload = conn->last_payload();
  int64_t sent = 0;
  const char* end = payload.data() + std::min<std::size_t>(payload.size(), kStampDigits);
  if (std::from_chars(payload.data(), end, sent).ec != std::errc() || sent == 0) {
    ++receiver->probes;
    return;
  }
  receiver->latency.Record(static_cast<uint64_t>(std::max<int64_t>(NowNs() - sent, 0)));
  ++receiver->timed;
}

std::string Frame(int publisher, int size, int64_t stamp) {
  char digits[kStampDigits + 1];
  std::snprintf(digits, sizeof digits, "%0*lld", kStampDigits, static_cast<long long>(stamp));
  std::string payload(digits, kStampDigits);
  payload.resize(static_cast<std::size_t>(std::max(size, kStampDigits)), 't');
  return "PUB telemetry." + std::to_string(publisher) + " " + std::to_string(payload.size()) +
         "\r\n" + payload + "\r\n";
}

}  // namespace

TelemetryRun RunTelemetry(const TelemetryParams& p) {
  TelemetryRun run;
  std::string error;
  Receiver receiver;
  BenchConnection sub;
  sub.set_capture(true);
  sub.set_on_message(&OnTelemetry, &receiver);
  if (!sub.Open(p.sub_server, &error) || !sub.WriteAll("SUB telemetry.> 1\r\n") ||
      !sub.Flush(5000)) {
    run.error = "subscriber: " + (error.empty() ? sub.error() : error);
    return run;
  }
  std::vector<std::unique_ptr<BenchConnection>> pubs;
  for (int i = 0; i < p.pubs; ++i) {
    pubs.push_back(std::make_unique<BenchConnection>());
    if (!pubs.back()->Open(p.server, &error)) {
      run.error = "publisher " + std::to_string(i) + ": " + error;
      return run;
    }
  }
  // The subscriber's interest crosses to the publishers' server some time after its PONG:
  // probe until one arrives.
  const int64_t probe_deadline = NowNs() + int64_t{p.timeout_s} * 1'000'000'000;
  while (receiver.probes == 0 && NowNs() < probe_deadline) {
    if (!pubs[0]->WriteAll("PUB telemetry.probe 5\r\nprobe\r\n") || !pubs[0]->Flush(5000)) {
      run.error = "publisher failed while probing";
      return run;
    }
    sub.ReadSome(20);
  }
  if (receiver.probes == 0) {
    run.error = "the subscriber never received a probe";
    return run;
  }

  const uint64_t total = p.count;
  std::atomic<bool> publishing_done{false};
  std::thread reader([&] {
    const double publish_seconds =
        static_cast<double>(total) / (static_cast<double>(p.pubs) * static_cast<double>(p.rate));
    const int64_t deadline = NowNs() + static_cast<int64_t>((p.timeout_s + publish_seconds) * 1e9);
    while (NowNs() < deadline) {
      if (publishing_done.load() && receiver.timed >= run.published) break;
      if (!sub.ReadSome(50) && sub.closed()) break;
    }
  });
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
    if (!pubs[static_cast<std::size_t>(publisher)]->WriteAll(Frame(publisher, p.size, NowNs()))) {
      run.error = "publisher " + std::to_string(publisher) + " failed";
      break;
    }
  }
  run.seconds = static_cast<double>(NowNs() - start) / 1e9;
  run.published = sent;
  publishing_done = true;
  reader.join();
  run.delivered = receiver.timed;
  run.latency.Merge(receiver.latency);
  return run;
}

}  // namespace tern::bench
