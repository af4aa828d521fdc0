#include "core/jetstream/declared.h"

#include <set>

#include "core/jetstream/consumer.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/log.h"
#include "core/shard.h"
#include "core/units.h"

namespace tern::core::js {
namespace {

// Fields holding nanoseconds in the API; in the config file they take "2m"-style
// durations, or plain numbers of seconds (as nats-server's own duration settings do).
const std::set<std::string> kDurationKeys = {"max_age",        "duplicate_window",   "ack_wait",
                                             "idle_heartbeat", "inactive_threshold", "max_expires",
                                             "backoff"};

bool Convert(const ConfValue& v, const std::string& key, nlohmann::json* out, std::string* error) {
  const bool duration = kDurationKeys.count(key) > 0;
  switch (v.type) {
    case ConfValue::Type::kMap:
      *out = nlohmann::json::object();
      for (const auto& [k, child] : v.map) {
        if (k == "consumers") continue;  // handled by the caller
        if (!Convert(child, k, &(*out)[k], error)) return false;
      }
      return true;
    case ConfValue::Type::kArray:
      *out = nlohmann::json::array();
      for (const ConfValue& child : v.array) {
        nlohmann::json item;
        if (!Convert(child, key, &item, error)) return false;
        out->push_back(std::move(item));
      }
      return true;
    case ConfValue::Type::kInteger:
      *out = duration ? v.integer * 1'000'000'000 : v.integer;
      return true;
    case ConfValue::Type::kFloat:
      *out = duration ? static_cast<int64_t>(v.number * 1e9) : v.number;
      return true;
    case ConfValue::Type::kBool:
      *out = v.boolean;
      return true;
    case ConfValue::Type::kString:
      if (duration) {
        int64_t ns = 0;
        if (!ParseDuration(v.text, &ns)) {
          *error =
              v.Where() + ": '" + key + "' expects a duration (like \"24h\"), got '" + v.text + "'";
          return false;
        }
        *out = ns;
      } else {
        *out = v.text;
      }
      return true;
  }
  return true;
}

}  // namespace

bool ConvertDeclaredStream(const ConfValue& block, DeclaredStream* out, std::string* error) {
  out->where = block.Where();
  if (!Convert(block, "", &out->config, error)) return false;
  if (!out->config.contains("name") || !out->config["name"].is_string()) {
    *error = block.Where() + ": a declared stream needs a 'name'";
    return false;
  }
  if (const ConfValue* consumers = block.Find("consumers")) {
    if (consumers->type != ConfValue::Type::kArray) {
      *error = consumers->Where() + ": 'consumers' expects an array";
      return false;
    }
    for (const ConfValue& c : consumers->array) {
      nlohmann::json config;
      if (c.type != ConfValue::Type::kMap) {
        *error = c.Where() + ": each consumer expects a block";
        return false;
      }
      if (!Convert(c, "", &config, error)) return false;
      if (!config.contains("durable_name") || !config["durable_name"].is_string()) {
        *error = c.Where() + ": a declared consumer needs a 'durable_name'";
        return false;
      }
      out->consumers.emplace_back(c.Where(), std::move(config));
    }
  }
  return true;
}

}  // namespace tern::core::js

// ---------------------------------------------------------------- applying

namespace tern::core::js {

bool JsShard::ApplyDeclared(const DeclaredStream& declared,
                            std::vector<std::string>* internal_subjects, std::string* error) {
  StreamConfig config;
  if (ApiError e = ParseStreamConfig(declared.config, &config); !e.ok()) {
    *error = declared.where + ": stream: " + e.description;
    return false;
  }
  const std::string& name = config.name;
  Stream* stream = Find(name);
  if (stream == nullptr) {
    if (ApiError e = CreateStream(config, false, internal_subjects, &stream); !e.ok()) {
      *error = declared.where + ": stream '" + name + "': " + e.description;
      return false;
    }
    LOG_INFO("  Created stream '%s' declared at %s", name.c_str(), declared.where.c_str());
  } else if (stream->config().ToJson() != config.ToJson()) {
    ApiError e = CheckStreamUpdate(stream->config(), config);
    if (e.ok()) e = registry_->Update(name, config.subjects, config.ToJson());
    if (e.ok()) e = stream->Update(config);
    if (e.ok()) {
      LOG_INFO("  Updated stream '%s' to the configuration at %s", name.c_str(),
               declared.where.c_str());
    } else {
      LOG_ERROR("%s: stream '%s' keeps its stored configuration: %s", declared.where.c_str(),
                name.c_str(), e.description.c_str());
    }
  }
  for (const auto& [where, consumer] : declared.consumers) {
    if (!stream->DeclareConsumer(where, consumer, error)) return false;
  }
  return true;
}

bool Stream::DeclareConsumer(const std::string& where, const nlohmann::json& json,
                             std::string* error) {
  ConsumerConfig config;
  if (ApiError e = ParseConsumerConfig(json, config_, &config); !e.ok()) {
    *error = where + ": consumer: " + e.description;
    return false;
  }
  config.name = config.durable_name;
  auto it = consumers_.find(config.name);
  if (it == consumers_.end()) {
    auto consumer = std::make_unique<Consumer>(this, config.name, config, WallNowNs());
    consumer->Start();
    std::string problem;
    if (!consumer->SaveMeta(&problem)) {
      *error = where + ": consumer '" + config.name + "': " + problem;
      return false;
    }
    consumer->SaveState();
    consumers_[config.name] = std::move(consumer);
    PublishFigures();
    LOG_INFO("  Created consumer '%s > %s' declared at %s", config_.name.c_str(),
             config.name.c_str(), where.c_str());
    return true;
  }
  Consumer& existing = *it->second;
  if (existing.config().ToJson() == config.ToJson()) return true;
  if (ApiError e = CheckConsumerUpdate(existing.config(), config); !e.ok()) {
    LOG_ERROR("%s: consumer '%s > %s' keeps its stored configuration: %s", where.c_str(),
              config_.name.c_str(), config.name.c_str(), e.description.c_str());
    return true;
  }
  existing.set_config(config);
  std::string problem;
  if (!existing.SaveMeta(&problem)) {
    LOG_ERROR("%s: consumer '%s > %s': %s", where.c_str(), config_.name.c_str(),
              config.name.c_str(), problem.c_str());
  }
  LOG_INFO("  Updated consumer '%s > %s' to the configuration at %s", config_.name.c_str(),
           config.name.c_str(), where.c_str());
  return true;
}

}  // namespace tern::core::js
