#pragma once
// tern-bench's telemetry mode: many publishers (devices) each publishing at a fixed rate
// to their own subject `telemetry.<i>`, and subscribers to `telemetry.>` (possibly on
// another server: a leafnode's hub; each gets every message, or a queue group shares them)
// that time every message from its publish to its arrival. The payload starts with the publish time
// (steady clock, same machine), so the histogram holds the one-way latency through every hop. Runs
// one thread for all the publishers (paced round robin) and one per subscriber. Either side may
// speak MQTT (devices publishing to `telemetry/<i>`, a subscriber of `telemetry/#`): the same
// messages to a server's MQTT port.
#include <cstdint>
#include <string>

#include "tools/bench/connection.h"
#include "tools/bench/histogram.h"

namespace tern::bench {

struct TelemetryParams {
  ServerAddress server;      // where the publishers connect
  ServerAddress sub_server;  // where the subscriber connects
  int pubs = 100;
  int rate = 100;          // messages per second per publisher
  int size = 128;          // payload bytes (at least the timestamp's 20)
  uint64_t count = 50000;  // messages in all, spread evenly over the publishers
  int timeout_s = 30;
  bool mqtt_publishers = false;  // server is an MQTT listener; QoS 0 publishes
  bool mqtt_subscriber = false;  // sub_server is an MQTT listener
  int subs = 1;                  // subscribers of telemetry.> (one if MQTT)
  std::string group;             // non-empty: the subscribers are this queue group
};

struct TelemetryRun {
  uint64_t published = 0;
  uint64_t delivered = 0;
  double seconds = 0;        // the publishing phase
  LatencyHistogram latency;  // publish to arrival, per message
  std::string error;
};

TelemetryRun RunTelemetry(const TelemetryParams& p);

}  // namespace tern::bench
