#pragma once
// MqttState: what a Client on the MQTT port keeps besides a NATS client's state: the
// accepted CONNECT (client id, keep-alive, will), the granted QoS of each subscription,
// and a packet cut across reads. MQTT is a protocol front end of the client kind, as in
// nats-server (kind CLIENT, type MQTT): for routing, accounts, permissions, limits and
// monitoring an MQTT client is a client. Owned by its Client, on that client's shard.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/mqtt_packet.h"

namespace tern::core {

// The listener id of the MQTT port, and the factory of its connections.
inline constexpr uint32_t kMqttListener = 5;

struct MqttState {
  bool connected = false;       // CONNECT answered with 0
  mqtt::Connect connect;        // client id, clean session, keep-alive, will
  int64_t keepalive_ns = 0;     // 1.5 x the keep-alive: silence longer than this closes
  bool will_pending = false;    // publish the will if the connection ends without DISCONNECT
  std::string registry_key;     // "<account>:<client id>" once held in the MqttRegistry
  int64_t jailed_until_ns = 0;  // an id taken over a moment ago: closed then, unanswered
  std::string partial;          // a packet cut across reads
  // Granted QoS by subscription sid (the NATS subject, or "<subject> fwc" for the level a
  // trailing '#' also matches).
  absl::flat_hash_map<std::string, uint8_t> granted;
  // Reused per packet and per delivery: no allocation once grown.
  std::string subject, topic, header, published;
  std::vector<mqtt::Filter> filters;
  std::vector<uint8_t> codes;
};

}  // namespace tern::core
