#pragma once
// ConsumerConfig: a consumer's configuration as the $JS.API carries it, with nats-server
// 2.9's defaults and validation (against its stream's config), and the JSON echoed back
// the way Go's omitempty writes it. A value type.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/jetstream/api_error.h"
#include "core/jetstream/stream_config.h"

namespace tern::core::js {

enum class DeliverPolicy { kAll, kLast, kNew, kByStartSequence, kByStartTime, kLastPerSubject };
enum class AckPolicy { kNone, kAll, kExplicit };

struct ConsumerConfig {
  std::string durable_name;
  std::string name;
  std::string description;
  DeliverPolicy deliver_policy = DeliverPolicy::kAll;
  uint64_t opt_start_seq = 0;
  int64_t opt_start_time_ns = 0;
  std::string opt_start_time;  // as sent, echoed back
  AckPolicy ack_policy = AckPolicy::kNone;
  int64_t ack_wait_ns = 0;
  int64_t max_deliver = -1;
  std::vector<int64_t> backoff_ns;
  std::string filter_subject;
  std::vector<std::string> filter_subjects;  // 2.10: two or more (one is kept as filter_subject)
  bool replay_original = false;
  int64_t max_waiting = 0;
  int64_t max_ack_pending = 0;
  bool flow_control = false;
  int64_t idle_heartbeat_ns = 0;
  bool headers_only = false;
  int64_t max_batch = 0;
  int64_t max_expires_ns = 0;
  int64_t max_bytes = 0;
  std::string deliver_subject;
  std::string deliver_group;
  int64_t inactive_threshold_ns = 0;
  int64_t num_replicas = 0;
  bool mem_storage = false;
  // A mirror's or a source's consumer (source_link.h): push, ephemeral, and hidden from
  // the stream's consumer count and listings (still counted for the account).
  bool direct = false;
  int sample_percent = 0;  // of acks sampled on $JS.EVENT.METRIC (sample_freq, kept as sent)
  nlohmann::json kept = nlohmann::json::object();  // rate_limit_bps, metadata, ...

  bool is_pull() const { return deliver_subject.empty(); }
  // The subjects the consumer takes: filter_subject or filter_subjects; empty for all.
  std::vector<std::string> Filters() const {
    if (!filter_subjects.empty()) return filter_subjects;
    if (!filter_subject.empty()) return {filter_subject};
    return {};
  }
  bool durable() const { return !durable_name.empty(); }
  nlohmann::json ToJson() const;
};

inline constexpr int64_t kDefaultAckWaitNs = int64_t{30} * 1'000'000'000;
inline constexpr int64_t kDefaultInactiveThresholdNs = int64_t{5} * 1'000'000'000;

// Parses "config" of a create request, fills defaults, validates against the stream.
ApiError ParseConsumerConfig(const nlohmann::json& config, const StreamConfig& stream,
                             ConsumerConfig* out);
// What an existing consumer may change in place (create-or-update on an existing name).
ApiError CheckConsumerUpdate(const ConsumerConfig& current, const ConsumerConfig& next);

}  // namespace tern::core::js
