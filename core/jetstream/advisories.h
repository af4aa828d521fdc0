#pragma once
// JetStream's events: the advisories on $JS.EVENT.ADVISORY.> and the ack metrics on
// $JS.EVENT.METRIC.CONSUMER.ACK.>, published in the stream's account with nats-server's
// JSON shapes (type, id, timestamp first; domain last when one is set). Nothing is built
// when nobody listens. Called on the shard that owns the stream (the JsShard's thread).
#include <cstdint>
#include <string_view>

namespace tern::core::js {

class JsShard;
struct ApiRequest;

// action: "create", "modify", "delete".
void AdviseStreamAction(JsShard* js, std::string_view stream, const char* action);
void AdviseConsumerAction(JsShard* js, std::string_view stream, std::string_view consumer,
                          const char* action);

// One message of a consumer: its stream and consumer sequences and delivery count.
struct DeliveryEvent {
  std::string_view stream;
  std::string_view consumer;
  uint64_t stream_seq = 0;
  uint64_t consumer_seq = 0;
  uint64_t deliveries = 0;
};
void AdviseNak(JsShard* js, const DeliveryEvent& event);
void AdviseTerminated(JsShard* js, const DeliveryEvent& event);
// The message reached max_deliver (no consumer sequence in this one).
void AdviseMaxDeliveries(JsShard* js, const DeliveryEvent& event);
// A sampled ack; ack_time_ns since the message was (last) delivered.
void PublishAckMetric(JsShard* js, const DeliveryEvent& event, int64_t ack_time_ns);
// Whether this ack is sampled at `percent` (0 never, 100 always), as nats-server decides.
bool ShouldSample(int percent);

// Backups: a snapshot or a restore started and ended (wall ns); `state` as StreamInfo's.
void AdviseSnapshotCreate(JsShard* js, std::string_view stream, const std::string& state_json);
void AdviseSnapshotComplete(JsShard* js, std::string_view stream, int64_t start_ns, int64_t end_ns);
void AdviseRestoreCreate(JsShard* js, std::string_view stream);
void AdviseRestoreComplete(JsShard* js, std::string_view stream, int64_t start_ns, int64_t end_ns,
                           uint64_t bytes);

// The API audit after a request's reply: what was asked and what was answered.
void AdviseApiAudit(JsShard* js, const ApiRequest& request, std::string_view response);

}  // namespace tern::core::js
