#pragma once
// MqttWill: an MQTT client's will as it is published once its connection ended without a
// DISCONNECT, and PublishMqttWill, which publishes it from no connection (a 5.0 will with a
// Will Delay Interval goes out after its connection is gone, from MqttWillService). A will is
// a publish like any MQTT client's: live to subscribers with the Nmqtt-Pub header, a copy in
// $MQTT_msgs for QoS 1/2 subscriptions, and the retained record when RETAIN is set. Plain
// data; PublishMqttWill runs on the shard given, outside any delivery.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core {

class ShardPort;

struct MqttWill {
  uint16_t account = 0;  // an auth::AccountId
  std::string subject;   // the NATS subject of its topic
  std::string topic;     // the MQTT topic, for the retained record
  uint8_t qos = 0;
  bool retain = false;
  std::string message;
  std::string extra_headers;     // a 5.0 will's properties as header lines ("Key:value\r\n")
  std::string reply;             // a 5.0 will's Response Topic, as a subject
  std::string api = "$JS.API.";  // the JetStream API's prefix (the mqtt block's js_domain)
};

// Publishes `will`; answers of the JetStream API go nowhere.
void PublishMqttWill(ShardPort& shard, const MqttWill& will);

// A retained message's record in $MQTT_rmsgs (headers Nmqtt-RTopic and Nmqtt-RFlags, then
// `extra_headers`, then the payload); its header length in *header_len.
std::string BuildMqttRetainedRecord(std::string_view topic, uint8_t qos,
                                    std::string_view extra_headers, std::string_view payload,
                                    std::size_t* header_len);

}  // namespace tern::core
