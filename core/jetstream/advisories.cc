#include "core/jetstream/advisories.h"

#include <nlohmann/json.hpp>

#include <random>
#include <string>

#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/shard.h"
#include "core/time_format.h"

namespace tern::core::js {
namespace {

using Json = nlohmann::ordered_json;  // nats-server's field order: type, id, timestamp first

constexpr std::string_view kAdvisory = "$JS.EVENT.ADVISORY.";

Json Event(const char* type) {
  Json j;
  j["type"] = type;
  j["id"] = RandomName(22);
  j["timestamp"] = Rfc3339Nano(WallNowNs());
  return j;
}

void Publish(JsShard* js, const std::string& subject, Json body) {
  const std::string& domain = js->shard()->options().js_domain;
  if (!domain.empty()) body["domain"] = domain;
  js->Send(subject, {}, {}, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::string Subject(std::string_view kind, std::string_view stream,
                    std::string_view consumer = {}) {
  std::string subject(kAdvisory);
  subject.append(kind).append(".").append(stream);
  if (!consumer.empty()) subject.append(".").append(consumer);
  return subject;
}

void AdviseDelivery(JsShard* js, const char* kind, const char* type, const DeliveryEvent& e,
                    bool with_consumer_seq) {
  const std::string subject = Subject(kind, e.stream, e.consumer);
  if (!js->HasInterest(subject)) return;
  Json j = Event(type);
  j["stream"] = e.stream;
  j["consumer"] = e.consumer;
  if (with_consumer_seq) j["consumer_seq"] = e.consumer_seq;
  j["stream_seq"] = e.stream_seq;
  j["deliveries"] = e.deliveries;
  Publish(js, subject, std::move(j));
}

}  // namespace

void AdviseStreamAction(JsShard* js, std::string_view stream, const char* action) {
  const std::string_view kind = action[0] == 'c'   ? "STREAM.CREATED"
                                : action[0] == 'm' ? "STREAM.UPDATED"
                                                   : "STREAM.DELETED";
  const std::string subject = Subject(kind, stream);
  if (!js->HasInterest(subject)) return;
  Json j = Event("io.nats.jetstream.advisory.v1.stream_action");
  j["stream"] = stream;
  j["action"] = action;
  Publish(js, subject, std::move(j));
}

void AdviseConsumerAction(JsShard* js, std::string_view stream, std::string_view consumer,
                          const char* action) {
  const std::string subject =
      Subject(action[0] == 'c' ? "CONSUMER.CREATED" : "CONSUMER.DELETED", stream, consumer);
  if (!js->HasInterest(subject)) return;
  Json j = Event("io.nats.jetstream.advisory.v1.consumer_action");
  j["stream"] = stream;
  j["consumer"] = consumer;
  j["action"] = action;
  Publish(js, subject, std::move(j));
}

void AdviseNak(JsShard* js, const DeliveryEvent& event) {
  AdviseDelivery(js, "CONSUMER.MSG_NAKED", "io.nats.jetstream.advisory.v1.nak", event, true);
}

void AdviseTerminated(JsShard* js, const DeliveryEvent& event) {
  AdviseDelivery(js, "CONSUMER.MSG_TERMINATED", "io.nats.jetstream.advisory.v1.terminated", event,
                 true);
}

void AdviseMaxDeliveries(JsShard* js, const DeliveryEvent& event) {
  AdviseDelivery(js, "CONSUMER.MAX_DELIVERIES", "io.nats.jetstream.advisory.v1.max_deliver", event,
                 false);
}

bool ShouldSample(int percent) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  static thread_local std::minstd_rand rng{std::random_device{}()};
  return static_cast<int>(rng() % 100) <= percent;
}

void PublishAckMetric(JsShard* js, const DeliveryEvent& e, int64_t ack_time_ns) {
  std::string subject = "$JS.EVENT.METRIC.CONSUMER.ACK.";
  subject.append(e.stream).append(".").append(e.consumer);
  if (!js->HasInterest(subject)) return;
  Json j = Event("io.nats.jetstream.metric.v1.consumer_ack");
  j["stream"] = e.stream;
  j["consumer"] = e.consumer;
  j["consumer_seq"] = e.consumer_seq;
  j["stream_seq"] = e.stream_seq;
  j["ack_time"] = ack_time_ns;
  j["deliveries"] = e.deliveries;
  Publish(js, subject, std::move(j));
}

namespace {

// A backup event: {type, id, timestamp, stream, ...fields, client}.
template <typename Fill>
void AdviseBackup(JsShard* js, const char* kind, const char* type, std::string_view stream,
                  Fill fill) {
  const std::string subject = Subject(kind, stream);
  if (!js->HasInterest(subject)) return;
  Json j = Event(type);
  j["stream"] = stream;
  fill(j);
  j["client"] = {{"acc", js->registry()->account()},
                 {"server", js->shard()->context().server_name}};
  Publish(js, subject, std::move(j));
}

}  // namespace

void AdviseSnapshotCreate(JsShard* js, std::string_view stream, const std::string& state_json) {
  AdviseBackup(js, "STREAM.SNAPSHOT_CREATE", "io.nats.jetstream.advisory.v1.snapshot_create",
               stream, [&](Json& j) { j["state"] = Json::parse(state_json, nullptr, false); });
}

void AdviseSnapshotComplete(JsShard* js, std::string_view stream, int64_t start_ns,
                            int64_t end_ns) {
  AdviseBackup(js, "STREAM.SNAPSHOT_COMPLETE", "io.nats.jetstream.advisory.v1.snapshot_complete",
               stream, [&](Json& j) {
                 j["start"] = Rfc3339Nano(start_ns);
                 j["end"] = Rfc3339Nano(end_ns);
               });
}

void AdviseRestoreCreate(JsShard* js, std::string_view stream) {
  AdviseBackup(js, "STREAM.RESTORE_CREATE", "io.nats.jetstream.advisory.v1.restore_create", stream,
               [](Json&) {});
}

void AdviseRestoreComplete(JsShard* js, std::string_view stream, int64_t start_ns, int64_t end_ns,
                           uint64_t bytes) {
  AdviseBackup(js, "STREAM.RESTORE_COMPLETE", "io.nats.jetstream.advisory.v1.restore_complete",
               stream, [&](Json& j) {
                 j["start"] = Rfc3339Nano(start_ns);
                 j["end"] = Rfc3339Nano(end_ns);
                 j["bytes"] = bytes;
               });
}

void AdviseApiAudit(JsShard* js, const ApiRequest& request, std::string_view response) {
  const std::string subject = "$JS.EVENT.ADVISORY.API";
  if (!js->HasInterest(subject)) return;
  const std::string& server = js->shard()->context().server_name;
  Json j = Event("io.nats.jetstream.advisory.v1.api_audit");
  j["server"] = server;
  j["client"] = {{"acc", js->registry()->account()}, {"server", server}};
  j["subject"] = request.subject;
  if (!request.payload.empty()) j["request"] = request.payload;
  j["response"] = response;
  Publish(js, subject, std::move(j));
}

}  // namespace tern::core::js
