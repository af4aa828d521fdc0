#pragma once
// Streams and consumers declared in the config file (jetstream { streams: [...] }), the
// way Kubernetes users declare them with NACK: turned into $JS.API JSON (durations as
// "24h" strings or seconds, sizes as "1GB") and applied at start on each stream's home
// shard: created if absent, updated if changed, reported if the change is not allowed.
// Used by the main thread before the shards start.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/conf.h"

namespace tern::core::js {

struct DeclaredStream {
  std::string where;  // file:line:col of the declaration
  nlohmann::json config;
  std::vector<std::pair<std::string, nlohmann::json>> consumers;  // (where, config)
};

// Converts a declaration; false with *error (naming file, line and column) if malformed.
bool ConvertDeclaredStream(const ConfValue& block, DeclaredStream* out, std::string* error);

}  // namespace tern::core::js
