#include "core/jetstream/consumer_config.h"

#include <algorithm>

#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

constexpr const char* kKnown[] = {
    "durable_name",    "name",           "description",        "deliver_policy",  "opt_start_seq",
    "opt_start_time",  "ack_policy",     "ack_wait",           "max_deliver",     "backoff",
    "filter_subject",  "replay_policy",  "max_waiting",        "max_ack_pending", "flow_control",
    "idle_heartbeat",  "headers_only",   "max_batch",          "max_expires",     "max_bytes",
    "deliver_subject", "deliver_group",  "inactive_threshold", "num_replicas",    "mem_storage",
    "direct",          "filter_subjects"};

// "50", "50%": a percentage of acks to sample, as nats-server reads it (Atoi after the '%').
bool ParseSampleFrequency(std::string text, int* percent) {
  if (!text.empty() && text.back() == '%') text.pop_back();
  if (text.empty()) {
    *percent = 0;
    return true;
  }
  std::size_t i = text[0] == '+' || text[0] == '-' ? 1 : 0;
  if (i == text.size() || text.size() > 18) return false;
  for (std::size_t k = i; k < text.size(); ++k) {
    if (text[k] < '0' || text[k] > '9') return false;
  }
  const long long value = std::stoll(text);
  if (value < 0) return false;
  *percent = value >= 100 ? 100 : static_cast<int>(value);
  return true;
}

const char* DeliverPolicyName(DeliverPolicy p) {
  switch (p) {
    case DeliverPolicy::kAll:
      return "all";
    case DeliverPolicy::kLast:
      return "last";
    case DeliverPolicy::kNew:
      return "new";
    case DeliverPolicy::kByStartSequence:
      return "by_start_sequence";
    case DeliverPolicy::kByStartTime:
      return "by_start_time";
    case DeliverPolicy::kLastPerSubject:
      return "last_per_subject";
  }
  return "all";
}

const char* AckPolicyName(AckPolicy p) {
  switch (p) {
    case AckPolicy::kNone:
      return "none";
    case AckPolicy::kAll:
      return "all";
    case AckPolicy::kExplicit:
      return "explicit";
  }
  return "none";
}

ApiError Policy(std::string_view text) { return MakeError(err::kConsumerInvalidPolicy, text); }

}  // namespace

ApiError ParseConsumerConfig(const nlohmann::json& j, const StreamConfig& stream,
                             ConsumerConfig* out) {
  if (!j.is_object()) return MakeError(err::kInvalidJson);
  ConsumerConfig c;
  std::string deliver = "all", ack = "none", replay = "instant";
  int64_t opt_start_seq = 0;
  auto filters = j.find("filter_subjects");
  if (filters != j.end() && !filters->is_null()) {
    if (!filters->is_array()) return MakeError(err::kInvalidJson);
    for (const auto& v : *filters) {
      if (!v.is_string()) return MakeError(err::kInvalidJson);
      c.filter_subjects.push_back(v.get<std::string>());
    }
  }
  auto backoff = j.find("backoff");
  if (backoff != j.end() && !backoff->is_null()) {
    if (!backoff->is_array()) return MakeError(err::kInvalidJson);
    for (const auto& v : *backoff) {
      if (!v.is_number_integer()) return MakeError(err::kInvalidJson);
      c.backoff_ns.push_back(v.get<int64_t>());
    }
  }
  if (!ReadString(j, "durable_name", &c.durable_name) || !ReadString(j, "name", &c.name) ||
      !ReadString(j, "description", &c.description) || !ReadString(j, "deliver_policy", &deliver) ||
      !ReadInt(j, "opt_start_seq", &opt_start_seq) ||
      !ReadString(j, "opt_start_time", &c.opt_start_time) || !ReadString(j, "ack_policy", &ack) ||
      !ReadInt(j, "ack_wait", &c.ack_wait_ns) || !ReadInt(j, "max_deliver", &c.max_deliver) ||
      !ReadString(j, "filter_subject", &c.filter_subject) ||
      !ReadString(j, "replay_policy", &replay) || !ReadInt(j, "max_waiting", &c.max_waiting) ||
      !ReadInt(j, "max_ack_pending", &c.max_ack_pending) ||
      !ReadBool(j, "flow_control", &c.flow_control) ||
      !ReadInt(j, "idle_heartbeat", &c.idle_heartbeat_ns) ||
      !ReadBool(j, "headers_only", &c.headers_only) || !ReadInt(j, "max_batch", &c.max_batch) ||
      !ReadInt(j, "max_expires", &c.max_expires_ns) || !ReadInt(j, "max_bytes", &c.max_bytes) ||
      !ReadString(j, "deliver_subject", &c.deliver_subject) ||
      !ReadString(j, "deliver_group", &c.deliver_group) ||
      !ReadInt(j, "inactive_threshold", &c.inactive_threshold_ns) ||
      !ReadInt(j, "num_replicas", &c.num_replicas) || !ReadBool(j, "mem_storage", &c.mem_storage) ||
      !ReadBool(j, "direct", &c.direct) || opt_start_seq < 0) {
    return MakeError(err::kInvalidJson);
  }
  c.opt_start_seq = static_cast<uint64_t>(opt_start_seq);
  for (const auto& [key, value] : j.items()) {
    const std::string_view name = key;  // a structured binding can not be captured (clang 14)
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [name](const char* k) { return name == k; }) == std::end(kKnown) &&
        !value.is_null()) {
      c.kept[key] = value;
    }
  }
  static const std::pair<const char*, DeliverPolicy> kDeliver[] = {
      {"all", DeliverPolicy::kAll},
      {"undefined", DeliverPolicy::kAll},
      {"last", DeliverPolicy::kLast},
      {"new", DeliverPolicy::kNew},
      {"by_start_sequence", DeliverPolicy::kByStartSequence},
      {"by_start_time", DeliverPolicy::kByStartTime},
      {"last_per_subject", DeliverPolicy::kLastPerSubject}};
  bool known = false;
  for (const auto& [text, policy] : kDeliver) {
    if (deliver == text) {
      c.deliver_policy = policy;
      known = true;
    }
  }
  if (!known) return MakeError(err::kInvalidJson);
  if (ack == "none") {
    c.ack_policy = AckPolicy::kNone;
  } else if (ack == "all") {
    c.ack_policy = AckPolicy::kAll;
  } else if (ack == "explicit") {
    c.ack_policy = AckPolicy::kExplicit;
  } else {
    return MakeError(err::kInvalidJson);
  }
  if (replay != "instant" && replay != "original") return MakeError(err::kInvalidJson);
  c.replay_original = replay == "original";

  // Names and subjects.
  if (!c.durable_name.empty() && !IsValidName(c.durable_name)) {
    return MakeError(err::kConsumerCreate, "consumer name can not contain '.', '*', '>'");
  }
  if (!c.name.empty() && !IsValidName(c.name)) {
    return MakeError(err::kConsumerCreate, "consumer name can not contain '.', '*', '>'");
  }
  if (auto freq = c.kept.find("sample_freq"); freq != c.kept.end()) {
    if (!freq->is_string()) return MakeError(err::kInvalidJson);
    if (!ParseSampleFrequency(freq->get<std::string>(), &c.sample_percent)) {
      std::string text = freq->get<std::string>();
      if (!text.empty() && text.back() == '%') text.pop_back();
      return MakeError(err::kConsumerInvalidSampling,
                       "strconv.Atoi: parsing \"" + text + "\": invalid syntax");
    }
  }
  if (auto metadata = c.kept.find("metadata"); metadata != c.kept.end()) {
    if (!metadata->is_object()) return MakeError(err::kInvalidJson);
    std::size_t size = 0;
    for (const auto& [key, value] : metadata->items()) {
      if (!value.is_string()) return MakeError(err::kInvalidJson);
      size += key.size() + value.get<std::string>().size();
    }
    if (size > 128 * 1024) return MakeError(err::kConsumerMetadataTooLong, "128KB");
  }
  if (c.description.size() > 4096) {
    return MakeError(err::kConsumerDescriptionTooLong, "4096");
  }
  // Within one of the stream's subjects, or (a wildcard filter) taking one in whole, as
  // nats-server 2.9 checks it: stream subjects foo.a and foo.b take a filter foo.*. A
  // stream fed by others takes their subjects: not checked (nats-server gathers them from
  // local origins; it skips external ones).
  auto within_stream = [&stream](const std::string& filter) {
    if (stream.mirror || !stream.sources.empty()) return true;
    const bool wildcard = !IsLiteral(filter);
    for (const std::string& s : stream.subjects) {
      if (SubjectIsSubsetOf(filter, s) || (wildcard && SubjectIsSubsetOf(s, filter))) return true;
    }
    return false;
  };
  if (!c.filter_subject.empty()) {
    if (!IsValidSubject(c.filter_subject)) {
      return MakeError(err::kConsumerCreate, "consumer filter subject is not valid");
    }
    if (!within_stream(c.filter_subject)) return MakeError(err::kConsumerFilterNotSubset);
  }
  // 2.10's filter_subjects: several filters, none empty, none overlapping another.
  if (!c.filter_subjects.empty()) {
    if (!c.filter_subject.empty()) return MakeError(err::kConsumerDuplicateFilterSubjects);
    for (const std::string& filter : c.filter_subjects) {
      if (filter.empty()) return MakeError(err::kConsumerEmptyFilter);
    }
    for (std::size_t i = 0; i < c.filter_subjects.size(); ++i) {
      if (!IsValidSubject(c.filter_subjects[i])) {
        return MakeError(err::kStreamInvalidConfig, "invalid subject");
      }
      for (std::size_t k = 0; k < c.filter_subjects.size(); ++k) {
        if (k != i && SubjectIsSubsetOf(c.filter_subjects[i], c.filter_subjects[k])) {
          return MakeError(err::kConsumerOverlappingFilters);
        }
      }
      if (!within_stream(c.filter_subjects[i])) return MakeError(err::kConsumerFilterNotSubset);
    }
    if (c.filter_subjects.size() == 1) {  // one filter is the classic form
      c.filter_subject = c.filter_subjects.front();
      c.filter_subjects.clear();
    }
  }
  if (c.direct && c.is_pull()) return MakeError(err::kConsumerDirectRequiresPush);
  if (c.direct && c.durable()) return MakeError(err::kConsumerDirectRequiresEphemeral);
  if (!c.deliver_subject.empty()) {
    if (!IsValidSubject(c.deliver_subject)) {
      return MakeError(err::kConsumerCreate, "consumer deliver subject is not valid");
    }
    if (!IsLiteral(c.deliver_subject)) return MakeError(err::kConsumerDeliverWildcards);
    for (const std::string& s : stream.subjects) {
      if (SubjectsOverlap(c.deliver_subject, s)) return MakeError(err::kConsumerDeliverCycle);
    }
    if (c.max_waiting != 0) return MakeError(err::kConsumerPushMaxWaiting);
  } else {
    if (c.idle_heartbeat_ns != 0) return MakeError(err::kConsumerHeartbeatRequiresPush);
    if (auto rate = c.kept.find("rate_limit_bps");
        rate != c.kept.end() && rate->is_number() && rate->get<double>() != 0) {
      return MakeError(err::kConsumerPullWithRateLimit);
    }
    if (c.max_batch < 0) return MakeError(err::kConsumerMaxRequestBatchNegative);
    if (c.max_expires_ns != 0 && c.max_expires_ns < 1'000'000) {
      return MakeError(err::kConsumerMaxRequestExpiresTooSmall);
    }
    if (c.flow_control) return MakeError(err::kConsumerFlowControlRequiresPush);
    if (!c.deliver_group.empty()) {
      return MakeError(err::kConsumerCreate, "consumer deliver group requires a deliver subject");
    }
  }
  if (c.flow_control && c.idle_heartbeat_ns == 0) {
    return MakeError(err::kConsumerFlowControlNeedsHeartbeat);
  }
  if (c.idle_heartbeat_ns != 0 && c.idle_heartbeat_ns < 100'000'000) {
    return MakeError(err::kConsumerCreate, "consumer idle heartbeat needs to be >= 100ms");
  }

  // Deliver policy and its start options.
  const bool has_seq = c.opt_start_seq != 0;
  const bool has_time = !c.opt_start_time.empty();
  switch (c.deliver_policy) {
    case DeliverPolicy::kByStartSequence:
      if (!has_seq) {
        return Policy(
            "consumer delivery policy is deliver by start sequence, but optional "
            "start sequence is not set");
      }
      if (has_time) {
        return Policy(
            "consumer delivery policy is deliver by start sequence, but optional "
            "start time is also set");
      }
      break;
    case DeliverPolicy::kByStartTime:
      if (!has_time) {
        return Policy(
            "consumer delivery policy is deliver by start time, but optional start "
            "time is not set");
      }
      if (has_seq) {
        return Policy(
            "consumer delivery policy is deliver by start time, but optional start "
            "sequence is also set");
      }
      if (!ParseTime(c.opt_start_time, &c.opt_start_time_ns)) return MakeError(err::kInvalidJson);
      break;
    default:
      if (has_seq || has_time) {
        return Policy(std::string("consumer delivery policy is deliver ") +
                      DeliverPolicyName(c.deliver_policy) + ", but optional start " +
                      (has_seq ? "sequence" : "time") + " is also set");
      }
      break;
  }

  // Acks and limits.
  if (c.ack_policy != AckPolicy::kNone) {
    if (c.ack_wait_ns == 0) c.ack_wait_ns = kDefaultAckWaitNs;
    if (c.max_ack_pending == 0) c.max_ack_pending = 1000;
  } else if (c.max_ack_pending > 0 && !c.is_pull()) {
    return MakeError(err::kConsumerMaxPendingAckPolicy);
  }
  if (c.ack_wait_ns < 0 || c.max_ack_pending < -1) return MakeError(err::kBadRequest);
  if (c.max_deliver == 0) c.max_deliver = -1;
  if (!c.backoff_ns.empty()) {
    for (int64_t backoff : c.backoff_ns) {
      // A backoff becomes the ack wait: it must be a positive duration (a stored config
      // with a negative ack wait would not load again after a restart).
      if (backoff <= 0) return MakeError(err::kConsumerCreate, "backoff values must be positive");
    }
    if (c.max_deliver != -1 && c.max_deliver <= static_cast<int64_t>(c.backoff_ns.size())) {
      return MakeError(err::kConsumerMaxDeliverBackoff);
    }
    c.ack_wait_ns = c.backoff_ns.front();
  }
  if (c.is_pull() && c.max_waiting == 0) c.max_waiting = 512;
  if (!c.durable() && c.inactive_threshold_ns == 0) {
    c.inactive_threshold_ns = kDefaultInactiveThresholdNs;
  }
  if (c.num_replicas > 1) return MakeError(err::kReplicasNotSupported);

  // Work queues: explicit acks, deliver all.
  if (stream.retention == Retention::kWorkQueue) {
    if (c.ack_policy != AckPolicy::kExplicit) {
      return MakeError(c.is_pull() ? err::kConsumerPullRequiresAck : err::kWorkQueueExplicitAck);
    }
    if (c.deliver_policy != DeliverPolicy::kAll) return MakeError(err::kWorkQueueDeliverAll);
  }
  *out = std::move(c);
  return {};
}

ApiError CheckConsumerUpdate(const ConsumerConfig& current, const ConsumerConfig& next) {
  // nats-server 2.9's checks, texts and order; the filter subject may change.
  auto fail = [](std::string_view what) {
    return MakeError(err::kConsumerCreate, std::string(what) + " can not be updated");
  };
  if (current.deliver_policy != next.deliver_policy) return fail("deliver policy");
  if (current.opt_start_seq != next.opt_start_seq) return fail("start sequence");
  if (current.opt_start_time_ns != next.opt_start_time_ns) return fail("start time");
  if (current.ack_policy != next.ack_policy) return fail("ack policy");
  if (current.replay_original != next.replay_original) return fail("replay policy");
  if (current.idle_heartbeat_ns != next.idle_heartbeat_ns) return fail("heart beats");
  if (current.flow_control != next.flow_control) return fail("flow control");
  if (current.max_waiting != next.max_waiting) return fail("max waiting");
  if (current.is_pull() && !next.is_pull()) {
    return MakeError(err::kConsumerCreate, "can not update pull consumer to push based");
  }
  if (!current.is_pull() && next.is_pull()) {
    return MakeError(err::kConsumerCreate, "can not update push consumer to pull based");
  }
  return {};
}

nlohmann::json ConsumerConfig::ToJson() const {
  nlohmann::json j = kept;
  if (!durable_name.empty()) j["durable_name"] = durable_name;
  if (!name.empty()) j["name"] = name;
  if (!description.empty()) j["description"] = description;
  j["deliver_policy"] = DeliverPolicyName(deliver_policy);
  if (opt_start_seq != 0) j["opt_start_seq"] = opt_start_seq;
  if (!opt_start_time.empty()) j["opt_start_time"] = opt_start_time;
  j["ack_policy"] = AckPolicyName(ack_policy);
  if (ack_wait_ns != 0) j["ack_wait"] = ack_wait_ns;
  if (max_deliver != 0) j["max_deliver"] = max_deliver;
  if (!backoff_ns.empty()) j["backoff"] = backoff_ns;
  if (!filter_subject.empty()) j["filter_subject"] = filter_subject;
  if (!filter_subjects.empty()) j["filter_subjects"] = filter_subjects;
  j["replay_policy"] = replay_original ? "original" : "instant";
  if (max_waiting != 0) j["max_waiting"] = max_waiting;
  if (max_ack_pending != 0) j["max_ack_pending"] = max_ack_pending;
  if (flow_control) j["flow_control"] = true;
  if (idle_heartbeat_ns != 0) j["idle_heartbeat"] = idle_heartbeat_ns;
  if (headers_only) j["headers_only"] = true;
  if (max_batch != 0) j["max_batch"] = max_batch;
  if (max_expires_ns != 0) j["max_expires"] = max_expires_ns;
  if (max_bytes != 0) j["max_bytes"] = max_bytes;
  if (!deliver_subject.empty()) j["deliver_subject"] = deliver_subject;
  if (!deliver_group.empty()) j["deliver_group"] = deliver_group;
  if (inactive_threshold_ns != 0) j["inactive_threshold"] = inactive_threshold_ns;
  j["num_replicas"] = num_replicas;
  if (mem_storage) j["mem_storage"] = true;
  if (direct) j["direct"] = true;
  return j;
}

}  // namespace tern::core::js
