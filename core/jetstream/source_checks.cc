#include "core/jetstream/source_checks.h"

#include <string>
#include <vector>

#include "core/subject.h"

namespace tern::core::js {
namespace {

// The local origins a stream configuration (as JSON) names.
std::vector<std::string> LocalOrigins(const nlohmann::json& config) {
  std::vector<std::string> names;
  auto take = [&](const nlohmann::json& source) {
    if (!source.is_object()) return;
    const auto external = source.find("external");
    const bool is_external = external != source.end() && external->is_object() &&
                             !external->value("api", std::string()).empty();
    if (!is_external && source.contains("name") && source["name"].is_string()) {
      names.push_back(source["name"].get<std::string>());
    }
  };
  if (auto mirror = config.find("mirror"); mirror != config.end()) take(*mirror);
  if (auto sources = config.find("sources"); sources != config.end() && sources->is_array()) {
    for (const nlohmann::json& source : *sources) take(source);
  }
  return names;
}

// Does following `origin` (and what it follows) lead back to `self`?
bool LeadsTo(const Registry& registry, const std::string& origin, const std::string& self,
             int depth) {
  if (origin == self) return true;
  if (depth > 64) return false;  // longer chains than this are not walked
  StreamEntry entry;
  if (!registry.Find(origin, &entry)) return false;
  for (const std::string& next : LocalOrigins(entry.config)) {
    if (LeadsTo(registry, next, self, depth + 1)) return true;
  }
  return false;
}

bool OverlapsAny(const std::string& filter, const std::vector<std::string>& subjects) {
  for (const std::string& subject : subjects) {
    if (SubjectsOverlap(filter, subject)) return true;
  }
  return false;
}

int64_t MaxMsgSize(const nlohmann::json& config) {
  auto it = config.find("max_msg_size");
  return it != config.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

ApiError CheckOne(const Registry& registry, const StreamConfig& config, const StreamSource& source,
                  bool mirror, StreamEntry* origin) {
  if (source.external() || !registry.Find(source.name, origin)) return {};
  const int64_t origin_max = MaxMsgSize(origin->config);
  if (config.max_msg_size > 0 && origin_max > 0 && config.max_msg_size < origin_max) {
    return MakeError(mirror ? err::kMirrorMaxMessageSize : err::kSourceMaxMessageSize);
  }
  if (!source.filter_subject.empty() && !origin->subjects.empty() &&
      !OverlapsAny(source.filter_subject, origin->subjects)) {
    return MakeError(err::kStreamInvalidConfig,
                     std::string(mirror ? "mirror '" : "source '") + source.name +
                         "' filter subject '" + source.filter_subject +
                         "' does not overlap with any origin stream subject");
  }
  return {};
}

}  // namespace

ApiError CheckOrigins(const Registry& registry, StreamConfig* config) {
  StreamEntry origin;
  if (config->mirror) {
    if (ApiError error = CheckOne(registry, *config, *config->mirror, true, &origin); !error.ok()) {
      return error;
    }
    if (!config->mirror->external() && registry.Find(config->mirror->name, &origin)) {
      config->mirror_direct = origin.config.value("allow_direct", false);
    }
  }
  for (const StreamSource& source : config->sources) {
    if (ApiError error = CheckOne(registry, *config, source, false, &origin); !error.ok()) {
      return error;
    }
  }
  for (const std::string& name : LocalOrigins(config->ToJson())) {
    if (LeadsTo(registry, name, config->name, 0)) {
      return MakeError(err::kStreamInvalidConfig, "detected cycle");
    }
  }
  return {};
}

}  // namespace tern::core::js
