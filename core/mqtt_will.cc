#include "core/mqtt_will.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/message.h"
#include "core/mqtt_state.h"
#include "core/shard_port.h"

namespace tern::core {
namespace {

// Where the JetStream API's answers to a will's requests go: no one listens there.
constexpr std::string_view kNowhere = "$MQTT.JSA.will.0";

}  // namespace

std::string BuildMqttRetainedRecord(std::string_view topic, uint8_t qos,
                                    std::string_view extra_headers, std::string_view payload,
                                    std::size_t* header_len) {
  char flags[4];
  std::snprintf(flags, sizeof flags, "%x", 0x01 | (qos << 1));
  std::string record = "NATS/1.0\r\nNmqtt-RTopic:";
  // A 5.0 publish's properties (user properties, expiry...) stay with the retained copy.
  record.append(topic).append("\r\nNmqtt-RFlags:").append(flags).append("\r\n");
  record.append(extra_headers).append("\r\n");
  *header_len = record.size();
  record.append(payload);
  return record;
}

void PublishMqttWill(ShardPort& shard, const MqttWill& will) {
  std::string block;
  const std::string_view header = MqttHeaderBlock(will.qos, will.extra_headers, &block);
  std::string data(header);
  data.append(will.message);
  shard.Publish(nullptr, Message{.subject = will.subject,
                                 .reply = will.reply,
                                 .data = data,
                                 .header_len = header.size(),
                                 .account = will.account});
  if (will.qos > 0) {  // kept for QoS 1/2 subscriptions, as a QoS 1/2 publish is
    const std::string stored = std::string(kMqttMsgsPrefix) + will.subject;
    shard.Publish(nullptr, Message{.subject = stored,
                                   .reply = kNowhere,
                                   .data = data,
                                   .header_len = header.size(),
                                   .account = will.account});
  }
  if (!will.retain) return;
  const std::string retained = std::string(kMqttRetainedPrefix) + will.subject;
  if (will.message.empty()) {  // an empty retained message removes the subject's
    const std::string purge = nlohmann::json({{"filter", retained}}).dump();
    shard.Publish(nullptr, Message{.subject = will.api + "STREAM.PURGE." + kMqttRetainedStream,
                                   .reply = kNowhere,
                                   .data = purge,
                                   .account = will.account});
    return;
  }
  if (will.topic.find_first_of("\r\n") != std::string::npos) return;
  std::size_t header_len = 0;
  const std::string record =
      BuildMqttRetainedRecord(will.topic, will.qos, will.extra_headers, will.message, &header_len);
  shard.Publish(nullptr, Message{.subject = retained,
                                 .reply = kNowhere,
                                 .data = record,
                                 .header_len = header_len,
                                 .account = will.account});
}

}  // namespace tern::core
