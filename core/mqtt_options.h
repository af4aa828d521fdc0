#pragma once
// MqttOptions: the `mqtt {}` block as nats-server 2.9 reads it (and --mqtt_port): the port
// where MQTT 3.1.1 clients connect, TLS, the block's own authorization, and the settings of
// the JetStream consumers behind QoS 1 subscriptions. Filled on the main thread before the
// shards start; read-only after.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/conf.h"
#include "core/listener_auth.h"
#include "core/tls/tls_context.h"

namespace tern::core {

struct MqttOptions {
  bool enabled = false;  // a port was given
  std::string host = "0.0.0.0";
  int port = 0;  // -1 = a random free port
  tls::TlsConfig tls;
  std::shared_ptr<const tls::TlsContext> tls_context;  // set when a tls {} block is given
  ListenerAuth auth;  // the block's authorization and no_auth_user (override for MQTT)
  int64_t ack_wait_ns = int64_t{30} * 1'000'000'000;
  int max_ack_pending = 1024;  // per QoS 1 subscription, and the session's in-flight cap
  std::string js_domain;
  int stream_replicas = 0;  // accepted; one node stores
  int consumer_replicas = 0;
  bool consumer_memory_storage = false;
  int64_t consumer_inactive_threshold_ns = 0;  // 0 = never
};

// Applies an `mqtt` block; warnings for what is accepted but changes nothing.
bool ParseMqttBlock(const ConfValue& block, MqttOptions* out, std::vector<std::string>* warnings,
                    std::string* error);
// Once the whole configuration is read: nats-server's start-up checks (a server name,
// JetStream unless clustered, the block's authorization against the server's).
bool ResolveMqtt(const auth::AuthConfig& server_auth, bool has_server_name, bool jetstream,
                 bool clustered, MqttOptions* mqtt, std::string* error);

}  // namespace tern::core
