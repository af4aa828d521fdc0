#include "core/stan_options.h"

#include "core/units.h"

namespace tern::core {
namespace {

bool ReadStanDuration(const ConfValue& v, const std::string& key, int64_t* out,
                      std::string* error) {
  if (v.type == ConfValue::Type::kInteger && v.integer >= 0) {
    *out = v.integer * 1'000'000'000;  // whole seconds
    return true;
  }
  if (v.type != ConfValue::Type::kString || !ParseDuration(v.text, out)) {
    return ConfFail(v, "streaming '" + key + "' expects a duration (like \"30s\")", error);
  }
  return true;
}

bool ReadStanCount(const ConfValue& v, const std::string& key, int64_t* out, std::string* error) {
  if (v.type != ConfValue::Type::kInteger || v.integer < 0) {
    return ConfFail(v, "streaming '" + key + "' expects a number of at least 0", error);
  }
  *out = v.integer;
  return true;
}

bool ParseLimits(const ConfValue& block, StanLimits* out, std::vector<std::string>* warnings,
                 std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "streaming 'store_limits' expects a map", error);
  }
  for (const auto& [key, v] : block.map) {
    if (key == "max_channels" || key == "mc" || key == "maxchannels") {
      if (!ReadStanCount(v, key, &out->max_channels, error)) return false;
    } else if (key == "max_subs" || key == "msu" || key == "max_subscriptions" ||
               key == "maxsubscriptions") {
      if (!ReadStanCount(v, key, &out->max_subs, error)) return false;
    } else if (key == "max_msgs" || key == "mm" || key == "maxmsgs" || key == "max_count") {
      if (!ReadStanCount(v, key, &out->max_msgs, error)) return false;
    } else if (key == "max_bytes" || key == "mb" || key == "maxbytes") {
      if (!ReadStanCount(v, key, &out->max_bytes, error)) return false;
    } else if (key == "max_age" || key == "ma" || key == "maxage") {
      if (!ReadStanDuration(v, key, &out->max_age_ns, error)) return false;
    } else if (key == "max_inactivity" || key == "mi" || key == "maxinactivity" ||
               key == "channels" || key == "per_channel" || key == "channels_limits") {
      warnings->push_back(v.Where() + ": streaming '" + key + "' is not served yet (ignored)");
    } else {
      return ConfFail(v, "unknown field \"" + key + "\" in streaming store_limits", error);
    }
  }
  return true;
}

}  // namespace

bool IsValidStanClusterId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool ParseStreamingBlock(const ConfValue& block, StanOptions* out,
                         std::vector<std::string>* warnings, std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "Expected streaming to be a map", error);
  }
  out->enabled = true;
  for (const auto& [key, v] : block.map) {
    if (key == "cluster_id" || key == "cid" || key == "id") {
      if (!ConfString(v, key, &out->cluster_id, error)) return false;
      if (!IsValidStanClusterId(out->cluster_id)) {
        return ConfFail(
            v, "invalid cluster id \"" + out->cluster_id + "\": only letters, digits, '-' and '_'",
            error);
      }
    } else if (key == "hb_interval" || key == "hbi" || key == "server_to_client_hb_interval") {
      if (!ReadStanDuration(v, key, &out->hb_interval_ns, error)) return false;
    } else if (key == "hb_timeout" || key == "hbt" || key == "server_to_client_hb_timeout") {
      if (!ReadStanDuration(v, key, &out->hb_timeout_ns, error)) return false;
    } else if (key == "hb_fail_count" || key == "hbf" || key == "server_to_client_hb_fail_count") {
      if (!ReadStanCount(v, key, &out->hb_fail_count, error)) return false;
    } else if (key == "store_limits" || key == "limits" || key == "storelimits") {
      if (!ParseLimits(v, &out->limits, warnings, error)) return false;
    } else if (key == "store" || key == "st" || key == "store_type" || key == "dir" ||
               key == "datastore" || key == "file_options" || key == "file" || key == "sd" ||
               key == "stan_debug" || key == "sv" || key == "stan_trace") {
      warnings->push_back(v.Where() + ": streaming '" + key +
                          "' changes nothing here: channels are JetStream streams");
    } else {
      return ConfFail(v, "unknown field \"" + key + "\" in streaming", error);
    }
  }
  if (out->hb_interval_ns <= 0 || out->hb_timeout_ns <= 0) {
    return ConfFail(block, "streaming heartbeat interval and timeout must be positive", error);
  }
  return true;
}

}  // namespace tern::core
