#pragma once
// StreamConfig: a stream's configuration as the $JS.API carries it, with nats-server
// 2.9's defaults applied, validation, the rules for updates, and the JSON echoed back
// (fields the server does not act on are kept and returned as sent, so clients that
// compare configurations see their own). A value type.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/jetstream/api_error.h"

namespace tern::core::js {

enum class Retention { kLimits, kInterest, kWorkQueue };

// `republish`: every stored message whose subject matches `src` is published again on
// `dest` (src's wildcards carried over), with headers naming the stream and sequence.
struct RePublish {
  std::string src = ">";
  std::string dest;
  bool headers_only = false;  // the headers (and Nats-Msg-Size) without the payload
  bool operator==(const RePublish&) const = default;
};
enum class StorageKind { kFile, kMemory };

// 2.10's `subject_transform`: a subject matching `src` (empty: any) is stored as `dest`.
struct StreamSubjectTransform {
  std::string src;
  std::string dest;
};

// A stream this one mirrors or sources from (`mirror`, each of `sources`). The request's
// object is echoed as given; these are the fields acted on.
struct StreamSource {
  std::string name;
  uint64_t opt_start_seq = 0;
  int64_t opt_start_time_ns = 0;  // 0: none
  std::string opt_start_time;     // as given (RFC 3339)
  std::string filter_subject;
  // 2.10's subject_transforms: taken subjects (src, empty = any) stored as dest.
  std::vector<StreamSubjectTransform> transforms;
  std::string api_prefix;      // external.api; empty: this account's $JS.API
  std::string deliver_prefix;  // external.deliver
  bool external() const { return !api_prefix.empty(); }
};

struct StreamConfig {
  std::string name;
  std::string description;
  std::vector<std::string> subjects;
  Retention retention = Retention::kLimits;
  int64_t max_consumers = -1;
  int64_t max_msgs = -1;
  int64_t max_bytes = -1;
  int64_t max_age_ns = 0;
  int64_t max_msgs_per_subject = -1;
  int64_t max_msg_size = -1;
  bool discard_new = false;
  bool discard_new_per_subject = false;
  StorageKind storage = StorageKind::kFile;
  int64_t num_replicas = 1;
  bool no_ack = false;
  int64_t duplicate_window_ns = 0;
  bool sealed = false;
  bool deny_delete = false;
  bool deny_purge = false;
  bool allow_rollup = false;
  bool allow_direct = false;
  bool mirror_direct = false;
  std::optional<RePublish> republish;
  std::optional<StreamSource> mirror;
  std::optional<StreamSubjectTransform> subject_transform;  // kept as sent, in `kept`
  uint64_t first_seq = 0;  // 2.10: the first message's sequence (kept as sent, in `kept`)
  std::vector<StreamSource> sources;
  nlohmann::json kept = nlohmann::json::object();  // placement, metadata, ...

  nlohmann::json ToJson() const;
};

inline constexpr int64_t kDefaultDuplicateWindowNs = int64_t{120} * 1'000'000'000;

// Parses a request body into a normalized config (defaults filled in) and validates it.
ApiError ParseStreamConfig(const nlohmann::json& body, StreamConfig* out);
// What may not change between `current` and `next` (an update request).
ApiError CheckStreamUpdate(const StreamConfig& current, const StreamConfig& next);

const char* RetentionName(Retention retention);

}  // namespace tern::core::js
