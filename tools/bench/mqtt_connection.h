#pragma once
// MqttBenchConnection: a blocking raw MQTT 3.1.1 connection for the load generator, the MQTT
// twin of BenchConnection. It writes pre-built packets in large writes and scans what the
// server sends, counting PUBLISH, PUBACK and PINGRESP packets (PINGREQ/PINGRESP is the flush
// barrier: a server answers it after the packets before it). One per thread; not
// thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/bench/connection.h"

namespace tern::bench {

// MQTT packets as the load generator writes them (QoS 0 has no packet id).
std::string MqttPublish(std::string_view topic, std::string_view payload, int qos = 0,
                        uint16_t packet_id = 0);

class MqttBenchConnection {
 public:
  // Connects and sends CONNECT (clean session, no keepalive; the address's user and
  // password if any); true once the server's CONNACK accepts it.
  bool Open(const ServerAddress& address, const std::string& client_id, std::string* error);
  ~MqttBenchConnection();

  bool WriteAll(std::string_view bytes);
  // SUBSCRIBE one filter and wait for its SUBACK (a refusal is an error).
  bool Subscribe(const std::string& filter, int qos, int timeout_ms);
  // PINGREQ, then reads until its PINGRESP, counting what arrives meanwhile.
  bool Flush(int timeout_ms);
  // Reads once (waiting up to timeout_ms) and scans; false on timeout or close.
  bool ReadSome(int timeout_ms);

  uint64_t publishes() const { return publishes_; }
  uint64_t pubacks() const { return pubacks_; }
  // Called with every PUBLISH's payload when set.
  void set_on_publish(void (*fn)(std::string_view payload, void*), void* arg) {
    on_publish_ = fn;
    on_publish_arg_ = arg;
  }
  const std::string& error() const { return error_; }
  bool closed() const { return closed_; }

 private:
  void Scan();
  int fd_ = -1;
  std::string in_;
  uint64_t publishes_ = 0;
  uint64_t pubacks_ = 0;
  uint64_t pingresps_ = 0;
  uint64_t subacks_ = 0;
  int connack_ = -1;      // the CONNACK's return code, once read
  int suback_code_ = -1;  // the last SUBACK's granted QoS (0x80: refused)
  bool closed_ = false;
  void (*on_publish_)(std::string_view, void*) = nullptr;
  void* on_publish_arg_ = nullptr;
  std::string error_;
};

}  // namespace tern::bench
