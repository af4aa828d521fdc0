#include "core/jetstream/stream_config.h"

#include <algorithm>

#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/subject.h"
#include "core/subject_transform.h"

namespace tern::core::js {
namespace {

constexpr int64_t kMinWindowNs = 100'000'000;
// Fields the parser understands; anything else is kept and echoed.
constexpr const char* kKnown[] = {"name",
                                  "description",
                                  "subjects",
                                  "retention",
                                  "max_consumers",
                                  "max_msgs",
                                  "max_bytes",
                                  "max_age",
                                  "max_msgs_per_subject",
                                  "max_msg_size",
                                  "discard",
                                  "storage",
                                  "num_replicas",
                                  "no_ack",
                                  "duplicate_window",
                                  "sealed",
                                  "deny_delete",
                                  "deny_purge",
                                  "allow_rollup_hdrs",
                                  "allow_direct",
                                  "mirror_direct",
                                  "discard_new_per_subject",
                                  "republish",
                                  "template_owner"};

ApiError Invalid(std::string_view text) { return MakeError(err::kStreamInvalidConfig, text); }

int64_t UnsetIsUnlimited(int64_t value) { return value == 0 ? -1 : value; }

bool ReadRePublish(const nlohmann::json& body, std::optional<RePublish>* out) {
  auto it = body.find("republish");
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_object()) return false;
  RePublish r;
  if (!ReadString(*it, "src", &r.src) || !ReadString(*it, "dest", &r.dest) ||
      !ReadBool(*it, "headers_only", &r.headers_only)) {
    return false;
  }
  if (r.src.empty()) r.src = ">";
  *out = std::move(r);
  return true;
}

// One `mirror` or `sources` entry; false when it is not an object of the right types.
bool ReadSource(const nlohmann::json& j, StreamSource* out) {
  if (!j.is_object()) return false;
  StreamSource s;
  int64_t start_seq = 0;
  if (!ReadString(j, "name", &s.name) || !ReadInt(j, "opt_start_seq", &start_seq) ||
      !ReadString(j, "opt_start_time", &s.opt_start_time) ||
      !ReadString(j, "filter_subject", &s.filter_subject) || start_seq < 0) {
    return false;
  }
  s.opt_start_seq = static_cast<uint64_t>(start_seq);
  if (!s.opt_start_time.empty() && !ParseTime(s.opt_start_time, &s.opt_start_time_ns)) return false;
  if (auto t = j.find("subject_transforms"); t != j.end() && !t->is_null()) {
    if (!t->is_array()) return false;
    for (const auto& entry : *t) {
      StreamSubjectTransform transform;
      if (!entry.is_object() || !ReadString(entry, "src", &transform.src) ||
          !ReadString(entry, "dest", &transform.dest)) {
        return false;
      }
      s.transforms.push_back(std::move(transform));
    }
  }
  if (auto ext = j.find("external"); ext != j.end() && !ext->is_null()) {
    if (!ext->is_object() || !ReadString(*ext, "api", &s.api_prefix) ||
        !ReadString(*ext, "deliver", &s.deliver_prefix)) {
      return false;
    }
  }
  *out = std::move(s);
  return true;
}

// 2.10's subject_transforms of a mirror or source (nats-server's checks and texts).
ApiError CheckTransforms(const StreamSource& s, bool mirror) {
  if (s.transforms.empty()) return {};
  if (!s.filter_subject.empty()) {
    return MakeError(mirror ? err::kMirrorMultipleFilters : err::kSourceMultipleFilters);
  }
  for (std::size_t i = 0; i < s.transforms.size(); ++i) {
    const std::string src = s.transforms[i].src.empty() ? ">" : s.transforms[i].src;
    if (!IsValidSubject(src)) {
      return MakeError(mirror ? err::kMirrorInvalidFilter : err::kSourceInvalidFilter,
                       "invalid subject");
    }
    SubjectTransform check;
    std::string problem;
    if (!s.transforms[i].dest.empty() &&
        !SubjectTransform::Make(src, s.transforms[i].dest, &check, &problem)) {
      return MakeError(mirror ? err::kMirrorInvalidTransform : err::kSourceInvalidTransform,
                       problem);
    }
    for (std::size_t k = 0; k < i; ++k) {
      const std::string other = s.transforms[k].src.empty() ? ">" : s.transforms[k].src;
      if (SubjectsOverlap(src, other)) {
        return MakeError(mirror ? err::kMirrorOverlappingFilters : err::kSourceOverlappingFilters);
      }
    }
  }
  return {};
}

// The external prefixes of a mirror or source (nats-server's checks and texts).
ApiError CheckExternal(const StreamSource& s) {
  if (!s.api_prefix.empty() && SubjectsOverlap(s.api_prefix, "$JS.API")) {
    return MakeError(err::kExternalApiOverlap, s.api_prefix);
  }
  if (!s.deliver_prefix.empty() && !IsValidLiteralSubject(s.deliver_prefix)) {
    return MakeError(err::kExternalDeliverWildcards, s.deliver_prefix);
  }
  return {};
}

// How many tokens of `dest` take a source wildcard ("$1", "{{wildcard(1)}}").
std::size_t Placeholders(std::string_view dest) {
  std::size_t count = 0;
  while (!dest.empty()) {
    const std::size_t dot = dest.find('.');
    const std::string_view token = dest.substr(0, dot);
    count += (token.size() > 1 && token[0] == '$') || token.starts_with("{{wildcard(");
    if (dot == std::string_view::npos) break;
    dest.remove_prefix(dot + 1);
  }
  return count;
}

std::size_t Tokens(std::string_view subject, std::string_view token) {
  std::size_t count = 0;
  while (!subject.empty()) {
    const std::size_t dot = subject.find('.');
    count += subject.substr(0, dot) == token;
    if (dot == std::string_view::npos) break;
    subject.remove_prefix(dot + 1);
  }
  return count;
}

// nats-server 2.9's checks, in its order: the source overlaps the stream's subjects, the
// destination does not (a cycle), and the source maps onto the destination.
ApiError CheckRePublish(const RePublish& r, const std::vector<std::string>& subjects) {
  if (std::none_of(subjects.begin(), subjects.end(),
                   [&](const std::string& s) { return SubjectsOverlap(r.src, s); })) {
    return Invalid("stream configuration for republish source is not valid subset of subjects");
  }
  if (std::any_of(subjects.begin(), subjects.end(),
                  [&](const std::string& s) { return SubjectsOverlap(r.dest, s); })) {
    return Invalid("stream configuration for republish destination forms a cycle");
  }
  SubjectTransform transform;
  std::string error;
  if (!IsValidSubject(r.src) || !IsValidSubject(r.dest) || Tokens(r.dest, "*") > 0 ||
      (Tokens(r.src, ">") > 0) != (Tokens(r.dest, ">") > 0) ||
      Placeholders(r.dest) < Tokens(r.src, "*") ||
      !SubjectTransform::Make(r.src, r.dest, &transform, &error)) {
    return Invalid("stream configuration for republish not valid");
  }
  return {};
}

}  // namespace

const char* RetentionName(Retention retention) {
  switch (retention) {
    case Retention::kLimits:
      return "limits";
    case Retention::kInterest:
      return "interest";
    case Retention::kWorkQueue:
      return "workqueue";
  }
  return "limits";
}

ApiError ParseStreamConfig(const nlohmann::json& body, StreamConfig* out) {
  if (!body.is_object()) return MakeError(err::kInvalidJson);
  StreamConfig c;
  std::string retention = "limits", discard = "old", storage = "file";
  if (!ReadString(body, "name", &c.name) || !ReadString(body, "description", &c.description) ||
      !ReadStrings(body, "subjects", &c.subjects) || !ReadString(body, "retention", &retention) ||
      !ReadInt(body, "max_consumers", &c.max_consumers) ||
      !ReadInt(body, "max_msgs", &c.max_msgs) || !ReadInt(body, "max_bytes", &c.max_bytes) ||
      !ReadInt(body, "max_age", &c.max_age_ns) ||
      !ReadInt(body, "max_msgs_per_subject", &c.max_msgs_per_subject) ||
      !ReadInt(body, "max_msg_size", &c.max_msg_size) || !ReadString(body, "discard", &discard) ||
      !ReadString(body, "storage", &storage) || !ReadInt(body, "num_replicas", &c.num_replicas) ||
      !ReadBool(body, "no_ack", &c.no_ack) ||
      !ReadInt(body, "duplicate_window", &c.duplicate_window_ns) ||
      !ReadBool(body, "sealed", &c.sealed) || !ReadBool(body, "deny_delete", &c.deny_delete) ||
      !ReadBool(body, "deny_purge", &c.deny_purge) ||
      !ReadBool(body, "allow_rollup_hdrs", &c.allow_rollup) ||
      !ReadBool(body, "allow_direct", &c.allow_direct) ||
      !ReadBool(body, "mirror_direct", &c.mirror_direct) ||
      !ReadBool(body, "discard_new_per_subject", &c.discard_new_per_subject) ||
      !ReadRePublish(body, &c.republish)) {
    return MakeError(err::kInvalidJson);
  }
  if (retention == "limits") {
    c.retention = Retention::kLimits;
  } else if (retention == "interest") {
    c.retention = Retention::kInterest;
  } else if (retention == "workqueue") {
    c.retention = Retention::kWorkQueue;
  } else {
    return MakeError(err::kInvalidJson);
  }
  if (discard != "old" && discard != "new") return MakeError(err::kInvalidJson);
  c.discard_new = discard == "new";
  if (storage != "file" && storage != "memory") return MakeError(err::kInvalidJson);
  c.storage = storage == "file" ? StorageKind::kFile : StorageKind::kMemory;
  for (const auto& [key, value] : body.items()) {
    const std::string_view name = key;  // a structured binding can not be captured (clang 14)
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [name](const char* k) { return name == k; }) == std::end(kKnown) &&
        !value.is_null()) {
      c.kept[key] = value;
    }
  }

  if (!IsValidName(c.name)) {
    return Invalid("stream name is required and can not contain '.', '*', '>'");
  }
  if (c.description.size() > 4096)
    return Invalid("stream description is too long, maximum allowed is 4096");
  if (auto it = c.kept.find("mirror"); it != c.kept.end()) {
    StreamSource mirror;
    if (!ReadSource(*it, &mirror)) return MakeError(err::kInvalidJson);
    c.mirror = std::move(mirror);
  }
  if (auto it = c.kept.find("sources"); it != c.kept.end()) {
    if (!it->is_array()) return MakeError(err::kInvalidJson);
    for (const nlohmann::json& entry : *it) {
      StreamSource source;
      if (!ReadSource(entry, &source)) return MakeError(err::kInvalidJson);
      c.sources.push_back(std::move(source));
    }
  }
  if (c.mirror) {
    if (!c.subjects.empty()) return MakeError(err::kMirrorWithSubjects);
    if (!c.sources.empty()) return MakeError(err::kMirrorWithSources);
    if (!IsValidName(c.mirror->name)) return Invalid("mirror stream name is invalid");
    if (ApiError error = CheckExternal(*c.mirror); !error.ok()) return error;
    if (ApiError error = CheckTransforms(*c.mirror, true); !error.ok()) return error;
  }
  for (const StreamSource& source : c.sources) {
    if (!IsValidName(source.name)) return Invalid("source stream name is invalid");
    if (ApiError error = CheckExternal(source); !error.ok()) return error;
    if (ApiError error = CheckTransforms(source, false); !error.ok()) return error;
  }
  // 2.10 fields (kept and echoed as sent).
  if (auto it = c.kept.find("first_seq"); it != c.kept.end()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      return MakeError(err::kInvalidJson);
    }
    c.first_seq = it->get<uint64_t>();
    if (c.first_seq > 0 && c.mirror) return MakeError(err::kMirrorWithFirstSeq);
  }
  if (auto it = c.kept.find("subject_transform"); it != c.kept.end()) {
    if (!it->is_object()) return MakeError(err::kInvalidJson);
    StreamSubjectTransform transform;
    if (!ReadString(*it, "src", &transform.src) || !ReadString(*it, "dest", &transform.dest)) {
      return MakeError(err::kInvalidJson);
    }
    if (!transform.src.empty() && !IsValidSubject(transform.src)) {
      return MakeError(err::kStreamTransformInvalidSource, "invalid subject");
    }
    SubjectTransform check;
    std::string problem;
    if (transform.dest.empty() || !IsValidSubject(transform.dest) ||
        !SubjectTransform::Make(transform.src.empty() ? ">" : transform.src, transform.dest, &check,
                                &problem)) {
      return MakeError(err::kStreamTransformInvalidDestination,
                       problem.empty() ? "invalid subject" : problem);
    }
    c.subject_transform = std::move(transform);
  }
  if (auto it = c.kept.find("compression"); it != c.kept.end()) {
    if (!it->is_string() || (*it != "none" && *it != "s2")) return MakeError(err::kInvalidJson);
  }
  if (c.num_replicas == 0) c.num_replicas = 1;
  if (c.num_replicas > 1) return MakeError(err::kReplicasNotSupported);
  if (c.num_replicas < 0) return Invalid("replicas count cannot be negative");
  // Only a stream that takes nothing from others gets its name as its default subject.
  if (c.subjects.empty() && !c.mirror && c.sources.empty()) c.subjects.push_back(c.name);
  for (std::size_t i = 0; i < c.subjects.size(); ++i) {
    const std::string& s = c.subjects[i];
    if (!IsValidSubject(s)) return Invalid("invalid subject");
    if (SubjectsOverlap(s, "$JS.API.>")) {
      return Invalid("subjects that overlap with jetstream api require further configuration");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (c.subjects[j] == s) return Invalid("duplicate subjects detected");
    }
  }
  for (std::size_t i = 0; i < c.subjects.size(); ++i) {
    for (std::size_t j = i + 1; j < c.subjects.size(); ++j) {
      if (SubjectsOverlap(c.subjects[i], c.subjects[j])) {
        return Invalid("subject \"" + c.subjects[i] + "\" overlaps with \"" + c.subjects[j] + "\"");
      }
    }
  }
  c.max_consumers = UnsetIsUnlimited(c.max_consumers);
  c.max_msgs = UnsetIsUnlimited(c.max_msgs);
  c.max_bytes = UnsetIsUnlimited(c.max_bytes);
  c.max_msgs_per_subject = UnsetIsUnlimited(c.max_msgs_per_subject);
  c.max_msg_size = UnsetIsUnlimited(c.max_msg_size);
  // The duplicates window defaults (to max age when shorter) before either is checked,
  // so a negative max age reads as a negative window, as in nats-server.
  if (c.duplicate_window_ns == 0) {
    c.duplicate_window_ns = kDefaultDuplicateWindowNs;
    if (c.max_age_ns != 0 && c.max_age_ns < c.duplicate_window_ns)
      c.duplicate_window_ns = c.max_age_ns;
  }
  if (c.duplicate_window_ns < 0) return Invalid("duplicates window can not be negative");
  if (c.max_age_ns < 0) return Invalid("max age needs to be >= 0");
  if (c.max_age_ns != 0 && c.max_age_ns < kMinWindowNs) {
    return Invalid("max age needs to be >= 100ms");
  }
  if (c.duplicate_window_ns < kMinWindowNs) {
    return Invalid("duplicates window needs to be >= 100ms");
  }
  if (c.max_age_ns != 0 && c.duplicate_window_ns > c.max_age_ns) {
    return Invalid("duplicates window can not be larger then max age");
  }
  if (c.discard_new_per_subject) {
    if (!c.discard_new) {
      return Invalid("discard new per subject requires discard new policy to be set");
    }
    if (c.max_msgs_per_subject <= 0) {
      return Invalid("discard new per subject requires max msgs per subject > 0");
    }
  }
  if (c.allow_rollup && c.deny_purge) return Invalid("roll-ups require the purge permission");
  if (c.republish) {
    if (ApiError error = CheckRePublish(*c.republish, c.subjects); !error.ok()) return error;
  }
  *out = std::move(c);
  return {};
}

ApiError CheckStreamUpdate(const StreamConfig& current, const StreamConfig& next) {
  // nats-server 2.9 refuses these as an invalid configuration (10052), not 10069.
  auto fail = [](std::string_view text) { return MakeError(err::kStreamInvalidConfig, text); };
  if (next.storage != current.storage)
    return fail("stream configuration update can not change storage type");
  if (next.retention != current.retention)
    return fail("stream configuration update can not change retention policy");
  if (next.max_consumers != current.max_consumers)
    return fail("stream configuration update can not change MaxConsumers");
  if (current.sealed && !next.sealed)
    return fail("stream configuration update can not unseal a sealed stream");
  if (current.deny_delete && !next.deny_delete)
    return fail("stream configuration update can not cancel deny message deletes");
  if (current.deny_purge && !next.deny_purge)
    return fail("stream configuration update can not cancel deny purge");
  if (current.republish != next.republish) {
    return fail("stream configuration update can not change RePublish");
  }
  if (current.kept.value("mirror", nlohmann::json()) !=
      next.kept.value("mirror", nlohmann::json())) {
    return MakeError(err::kMirrorConfigUpdate);
  }
  return {};
}

nlohmann::json StreamConfig::ToJson() const {
  nlohmann::json j = kept;
  j["name"] = name;
  if (!description.empty()) j["description"] = description;
  if (!subjects.empty()) j["subjects"] = subjects;  // a mirror has none (omitted, as nats)
  j["retention"] = RetentionName(retention);
  j["max_consumers"] = max_consumers;
  j["max_msgs"] = max_msgs;
  j["max_bytes"] = max_bytes;
  j["max_age"] = max_age_ns;
  j["max_msgs_per_subject"] = max_msgs_per_subject;
  j["max_msg_size"] = max_msg_size;
  j["discard"] = discard_new ? "new" : "old";
  j["storage"] = storage == StorageKind::kFile ? "file" : "memory";
  j["num_replicas"] = num_replicas;
  if (no_ack) j["no_ack"] = true;
  if (!mirror) j["duplicate_window"] = duplicate_window_ns;
  j["sealed"] = sealed;
  j["deny_delete"] = deny_delete;
  j["deny_purge"] = deny_purge;
  j["allow_rollup_hdrs"] = allow_rollup;
  j["allow_direct"] = allow_direct;
  j["mirror_direct"] = mirror_direct;
  if (discard_new_per_subject) j["discard_new_per_subject"] = true;
  if (republish) {
    j["republish"] = {{"src", republish->src}, {"dest", republish->dest}};
    if (republish->headers_only) j["republish"]["headers_only"] = true;
  }
  return j;
}

}  // namespace tern::core::js
