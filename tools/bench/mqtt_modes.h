#pragma once
// tern-bench's MQTT modes, against a server's MQTT port: mqtt-pub (P publishers at QoS 0, or
// QoS 1 with --window PUBACKs awaited each) and mqtt-pubsub (P QoS 0 publishers -> S QoS 0
// subscribers of the same topic, deliveries counted). Topics are `bench/subject` (or
// `bench/subject/<k>` over K subjects, subscribers on `bench/subject/+`). Each connection's
// reads run on a thread of its own, as in the NATS modes.
#include <cstdint>
#include <string>
#include <vector>

#include "tools/bench/connection.h"

namespace tern::bench {

struct MqttParams {
  ServerAddress server;  // the MQTT listener
  int pubs = 1;
  int subs = 0;  // 0: ingest only
  int size = 128;
  int qos = 0;       // the publishers' QoS (0 or 1)
  int window = 256;  // QoS 1: PUBACKs awaited per publisher
  int subjects = 1;
  uint64_t count = 100000;
  int timeout_s = 30;
};

struct MqttRun {
  uint64_t published = 0;  // QoS 1: acknowledged
  uint64_t delivered = 0;
  uint64_t expected = 0;
  double pub_seconds = 0;
  double sub_seconds = 0;
  std::vector<double> per_sub_rates;  // each subscriber's deliveries per second
  std::string error;
};

MqttRun RunMqttPubSub(const MqttParams& p);

}  // namespace tern::bench
