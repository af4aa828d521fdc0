// Client: MQTT QoS 2, exactly once, kept in JetStream as nats-server 2.10 keeps it.
//
// In: a QoS 2 PUBLISH is stored as a record at $MQTT.qos2.in.<hash>.<packet id> (one per
// id) and answered with PUBREC; it is not routed yet, so a retransmission (DUP, the same
// id) before PUBREL changes nothing. PUBREL reads the record back and, in one turn, routes
// the message live (NATS subscribers, QoS 0 subscriptions), stores it in $MQTT_msgs for QoS
// 1/2 subscriptions (with a message id naming the record) and replaces the record with a
// "released" marker; once stored, the record goes and PUBCOMP is sent. A PUBREL repeated
// after the connection dropped finds the marker: nothing is routed again. A PUBREL whose record is
// gone (released already, before a restart or a reconnect) gets its PUBCOMP at once. Records
// outlive the connection, so the exchange can finish after a reconnect or a server restart.
//
// Out: a subscription granted QoS 2 gets messages published at QoS 2 as QoS 2 PUBLISHes
// from its consumer; PUBREC acknowledges the message to JetStream and is answered with
// PUBREL, whose packet id stays taken (and in the session record) until PUBCOMP.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"

namespace tern::core {

bool Client::OnMqttPublishQos2(const mqtt::Publish& publish) {
  MqttState& m = *mqtt_;
  if (auto known = m.qos2_received.find(publish.packet_id); known != m.qos2_received.end()) {
    // A retransmission: kept once already (its PUBREC again), or still being kept.
    if (known->second == MqttState::Qos2In::kStored) SendMqttAck(mqtt::kPubrec, publish.packet_id);
    return true;
  }
  // A retained QoS 2 message is kept as retained at once (a repeat only rewrites it).
  const bool allowed =
      permissions_ == nullptr || permissions_->CanPublish(m.subject, shard_->now_ns());
  if (allowed && publish.retain) {
    StoreMqttRetained(m.subject, publish.topic, publish.qos, publish.payload, m.extra_headers);
  }
  m.qos2_received.emplace(publish.packet_id, MqttState::Qos2In::kStoring);
  m.header.assign("NATS/1.0\r\nNmqtt-Subject:");
  m.header.append(m.subject);
  m.header.append("\r\n");
  m.header.append(m.extra_headers);  // a 5.0 client's properties (and Nmqtt-Reply)
  m.header.append("\r\n");
  const std::size_t header_len = m.header.size();
  m.published.assign(m.header);
  m.published.append(publish.payload);
  MqttRequest(m.qos2_prefix + std::to_string(publish.packet_id), m.published,
              {.kind = MqttState::RequestKind::kQos2Store, .packet_id = publish.packet_id},
              header_len);
  return true;
}

void Client::OnMqttPubrel(uint16_t packet_id) {
  MqttState& m = *mqtt_;
  // A repeated PUBREL while the release is under way: its PUBCOMP is coming.
  if (auto known = m.qos2_received.find(packet_id);
      known != m.qos2_received.end() && known->second == MqttState::Qos2In::kReleasing) {
    return;
  }
  m.qos2_received[packet_id] = MqttState::Qos2In::kReleasing;
  const nlohmann::json request = {{"last_by_subj", m.qos2_prefix + std::to_string(packet_id)}};
  MqttRequest(MqttApi("STREAM.MSG.GET.") + kMqttQos2Stream, request.dump(),
              {.kind = MqttState::RequestKind::kQos2Release, .packet_id = packet_id});
}

void Client::OnMqttQos2Reply(const MqttState::Request& request, bool failed,
                             std::string_view payload) {
  MqttState& m = *mqtt_;
  const uint16_t packet_id = request.packet_id;
  const std::string record = m.qos2_prefix + std::to_string(packet_id);
  switch (request.kind) {
    case MqttState::RequestKind::kQos2Store:
      if (failed) {
        // Not kept: no PUBREC, and the connection closes (as for QoS 1).
        LOG_ERROR("%s - mqtt: QoS 2 message not stored: %.*s", LogLabel().c_str(),
                  static_cast<int>(payload.size()), payload.data());
        shard_->context().mqtt_registry.SetStreamsReady(account_, false);
        Close(CloseReason::kProtocolViolation, false);
        return;
      }
      m.qos2_received[packet_id] = MqttState::Qos2In::kStored;
      SendMqttAck(mqtt::kPubrec, packet_id);
      return;
    case MqttState::RequestKind::kQos2Release: {
      std::string headers, data;
      const nlohmann::json answer = nlohmann::json::parse(payload, nullptr, false);
      const bool found = !failed && answer.is_object() && answer.contains("message") &&
                         auth::DecodeBase64Any(answer["message"].value("hdrs", ""), &headers) &&
                         auth::DecodeBase64Any(answer["message"].value("data", ""), &data);
      const std::string_view subject = found ? MqttHeaderValue(headers, "Nmqtt-Subject") : "";
      if (subject.empty()) {
        if (found) {  // its marker: released before, the record's removal cut short
          MqttRequest(MqttApi("STREAM.PURGE.") + kMqttQos2Stream,
                      nlohmann::json({{"filter", record}}).dump(),
                      {.kind = MqttState::RequestKind::kQos2Purge, .packet_id = packet_id});
          return;
        }
        m.qos2_received.erase(packet_id);  // released before (or never kept): done
        SendMqttAck(mqtt::kPubcomp, packet_id);
        return;
      }
      const std::string target(subject);
      // The lines after Nmqtt-Subject are the 5.0 properties' headers, as received.
      const std::size_t after = headers.find("\r\n", headers.find("Nmqtt-Subject:")) + 2;
      const std::string extra = headers.substr(after, headers.size() - after - 2);
      const std::string reply(MqttHeaderValue("\r\n" + extra, "Nmqtt-Reply"));
      if (permissions_ && !permissions_->CanPublish(target, shard_->now_ns())) {
        PublishFromMqtt(target, 2, data, extra, reply);  // denied (and logged): dropped
        MqttRequest(MqttApi("STREAM.PURGE.") + kMqttQos2Stream,
                    nlohmann::json({{"filter", record}}).dump(),
                    {.kind = MqttState::RequestKind::kQos2Purge, .packet_id = packet_id});
        return;
      }
      // In one turn: routed live, stored for QoS 1/2 subscriptions, and the record replaced
      // by a marker (one message per subject), so that a PUBREL repeated after the
      // connection dropped finds the marker and routes nothing again. The stored copy's
      // message id names the record: were the marker lost (a crash), the store is a
      // duplicate within the stream's duplicate window.
      PublishFromMqtt(target, 2, data, extra, reply);
      const uint64_t record_seq = answer["message"].value("seq", uint64_t{0});
      std::string with_id = extra;
      with_id.append(kMqttQos2MsgIdLine);
      with_id.append(std::string_view(m.qos2_prefix).substr(kMqttQos2Prefix.size()));
      with_id.append(std::to_string(record_seq)).append("\r\n");
      StoreMqttMessage(target, packet_id, MqttStoredHeader(2, with_id), data,
                       MqttState::RequestKind::kQos2Deliver);
      static constexpr std::string_view kMarker = "NATS/1.0\r\nNmqtt-Released:1\r\n\r\n";
      shard_->Publish(this, Message{.subject = record,
                                    .reply = m.inbox + ".0",  // nothing waits for the answer
                                    .data = kMarker,
                                    .header_len = kMarker.size(),
                                    .account = account_,
                                    .origin = kind_});
      return;
    }
    case MqttState::RequestKind::kQos2Deliver: {
      if (failed) {
        LOG_ERROR("%s - mqtt: released QoS 2 message not stored: %.*s", LogLabel().c_str(),
                  static_cast<int>(payload.size()), payload.data());
        Close(CloseReason::kProtocolViolation, false);
        return;
      }
      MqttRequest(MqttApi("STREAM.PURGE.") + kMqttQos2Stream,
                  nlohmann::json({{"filter", record}}).dump(),
                  {.kind = MqttState::RequestKind::kQos2Purge, .packet_id = packet_id});
      return;
    }
    case MqttState::RequestKind::kQos2Purge:
      if (failed) {
        LOG_ERROR("%s - mqtt: QoS 2 record %s not removed: %.*s", LogLabel().c_str(),
                  record.c_str(), static_cast<int>(payload.size()), payload.data());
      }
      m.qos2_received.erase(packet_id);
      SendMqttAck(mqtt::kPubcomp, packet_id);
      return;
    default:
      return;
  }
}

void Client::OnMqttPubrec(uint16_t packet_id, bool refused) {
  MqttState& m = *mqtt_;
  auto it = m.in_flight.find(packet_id);
  if (it != m.in_flight.end() && it->second.qos == 2) {
    // Received: JetStream does not send it again; the id stays taken until PUBCOMP.
    shard_->Publish(this, Message{.subject = it->second.ack,
                                  .reply = {},
                                  .data = {},
                                  .header_len = 0,
                                  .account = account_,
                                  .origin = kind_});
    m.in_flight_by_key.erase(it->second.key);
    m.in_flight.erase(it);
    if (refused) return;
    m.pubrel_pending.insert(packet_id);
    SaveMqttSession();
  }
  if (refused) return;
  // A PUBREC for an id not tracked (a retained copy at QoS 2) still gets its PUBREL, so the
  // client's exchange ends.
  SendMqttAck(mqtt::kPubrel, packet_id);
}

void Client::OnMqttPubcomp(uint16_t packet_id) {
  MqttState& m = *mqtt_;
  if (m.pubrel_pending.erase(packet_id) == 0) return;
  SaveMqttSession();
  if (m.in_flight.empty() && m.pubrel_pending.empty()) m.last_packet_id = 0;
}

void Client::ResendMqttPubrels() {
  MqttState& m = *mqtt_;
  std::vector<uint16_t> ids(m.pubrel_pending.begin(), m.pubrel_pending.end());
  std::sort(ids.begin(), ids.end());
  for (uint16_t id : ids) SendMqttAck(mqtt::kPubrel, id);
}

void Client::PurgeMqttQos2Records() {
  MqttState& m = *mqtt_;
  if (m.qos2_prefix.empty()) return;
  MqttFireAndForget(MqttApi("STREAM.PURGE.") + kMqttQos2Stream,
                    nlohmann::json({{"filter", m.qos2_prefix + ">"}}).dump());
  m.qos2_received.clear();
}

}  // namespace tern::core
