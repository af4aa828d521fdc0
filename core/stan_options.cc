#include "core/stan_options.h"

#include <algorithm>
#include <cctype>

#include "core/subject.h"
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

// A per-channel value: 0 and negatives are unlimited (-1); durations too.
bool ReadRuleValue(const ConfValue& v, const std::string& key, bool duration, int64_t* out,
                   std::string* error) {
  if (v.type == ConfValue::Type::kInteger && v.integer <= 0) {
    *out = -1;
    return true;
  }
  if (duration) {
    if (!ReadStanDuration(v, key, out, error)) return false;
  } else if (!ReadStanCount(v, key, out, error)) {
    return false;
  }
  if (*out == 0) *out = -1;
  return true;
}

// One channel-limit key, globally (`rule` false) or in a per-channel entry. False with no
// error: not a channel-limit key.
bool ReadChannelLimit(const std::string& key, const ConfValue& v, bool rule, StanChannelLimits* out,
                      std::string* error, bool* known) {
  *known = true;
  int64_t* target = nullptr;
  bool duration = false;
  if (key == "max_subs" || key == "msu" || key == "max_subscriptions" ||
      key == "maxsubscriptions") {
    target = &out->max_subs;
  } else if (key == "max_msgs" || key == "mm" || key == "maxmsgs" || key == "max_count" ||
             key == "maxcount") {
    target = &out->max_msgs;
  } else if (key == "max_bytes" || key == "mb" || key == "maxbytes") {
    target = &out->max_bytes;
  } else if (key == "max_age" || key == "ma" || key == "maxage") {
    target = &out->max_age_ns;
    duration = true;
  } else if (key == "max_inactivity" || key == "mi" || key == "maxinactivity") {
    target = &out->max_inactivity_ns;
    duration = true;
  } else {
    *known = false;
    return false;
  }
  if (rule) return ReadRuleValue(v, key, duration, target, error);
  return duration ? ReadStanDuration(v, key, target, error) : ReadStanCount(v, key, target, error);
}

// A per-channel key: a channel name, or a pattern whose '*' and '>' are whole tokens.
bool IsValidChannelPattern(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (std::size_t start = 0; start <= name.size();) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view token = name.substr(start, dot - start);
    if (token.empty() || token.find('/') != std::string_view::npos) return false;
    if (token.size() > 1 && token.find_first_of("*>") != std::string_view::npos) return false;
    if (token == ">" && dot != name.size()) return false;
    start = dot + 1;
  }
  return true;
}

bool ParsePerChannel(const ConfValue& block, StanLimits* out, std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "streaming 'channels' expects a map of channel names", error);
  }
  for (const auto& [name, entry] : block.map) {
    if (!IsValidChannelPattern(name)) {
      return ConfFail(entry, "invalid channel name \"" + name + "\"", error);
    }
    if (entry.type != ConfValue::Type::kMap) {
      return ConfFail(entry, "streaming channel \"" + name + "\" expects a map of limits", error);
    }
    StanChannelRule rule{name};
    for (const auto& [key, v] : entry.map) {
      bool known = false;
      if (!ReadChannelLimit(key, v, /*rule=*/true, &rule.limits, error, &known)) {
        if (known) return false;
        return ConfFail(v, "unknown field \"" + key + "\" in streaming channel \"" + name + "\"",
                        error);
      }
    }
    out->per_channel.push_back(std::move(rule));
  }
  return true;
}

bool ParseLimits(const ConfValue& block, StanLimits* out, std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "streaming 'store_limits' expects a map", error);
  }
  for (const auto& [key, v] : block.map) {
    bool known = false;
    if (key == "max_channels" || key == "mc" || key == "maxchannels") {
      if (!ReadStanCount(v, key, &out->max_channels, error)) return false;
    } else if (key == "channels" || key == "per_channel" || key == "channels_limits" ||
               key == "channelslimits" || key == "per_channel_limits") {
      if (!ParsePerChannel(v, out, error)) return false;
    } else if (!ReadChannelLimit(key, v, /*rule=*/false, out, error, &known)) {
      if (known) return false;
      return ConfFail(v, "unknown field \"" + key + "\" in streaming store_limits", error);
    }
  }
  int64_t literals = 0;
  for (const StanChannelRule& rule : out->per_channel) {
    literals += rule.channel.find_first_of("*>") == std::string::npos;
  }
  if (out->max_channels > 0 && literals > out->max_channels) {
    return ConfFail(block,
                    "too many channels defined (" + std::to_string(literals) +
                        "). The max channels limit is set to " + std::to_string(out->max_channels),
                    error);
  }
  return true;
}

std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    tokens.push_back(text.substr(start, dot - start));
    if (dot == std::string_view::npos) return tokens;
    start = dot + 1;
  }
}

// Wider first: at the first difference '>' before '*' before a name, then fewer tokens.
bool Wider(std::string_view a, std::string_view b) {
  auto rank = [](std::string_view token) { return token == ">" ? 0 : token == "*" ? 1 : 2; };
  const auto ta = Tokens(a), tb = Tokens(b);
  for (std::size_t i = 0; i < ta.size() && i < tb.size(); ++i) {
    if (rank(ta[i]) != rank(tb[i])) return rank(ta[i]) < rank(tb[i]);
  }
  return ta.size() < tb.size();
}

}  // namespace

StanChannelLimits ChannelLimitsFor(const StanLimits& limits, std::string_view channel) {
  std::vector<const StanChannelRule*> matching;
  for (const StanChannelRule& rule : limits.per_channel) {
    if (rule.channel == channel || SubjectMatches(rule.channel, channel)) {
      matching.push_back(&rule);
    }
  }
  std::stable_sort(matching.begin(), matching.end(),
                   [](const StanChannelRule* a, const StanChannelRule* b) {
                     return Wider(a->channel, b->channel);
                   });
  StanChannelLimits out = limits;  // the global ones
  auto apply = [](int64_t rule, int64_t* value) {
    if (rule < 0) {
      *value = 0;  // unlimited
    } else if (rule > 0) {
      *value = rule;
    }
  };
  for (const StanChannelRule* rule : matching) {
    apply(rule->limits.max_subs, &out.max_subs);
    apply(rule->limits.max_msgs, &out.max_msgs);
    apply(rule->limits.max_bytes, &out.max_bytes);
    apply(rule->limits.max_age_ns, &out.max_age_ns);
    apply(rule->limits.max_inactivity_ns, &out.max_inactivity_ns);
  }
  return out;
}

bool ParseStanStoreType(const std::string& text, StanOptions::Store* out, std::string* error) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "file") {
    *out = StanOptions::Store::kFile;
  } else if (lower == "memory") {
    *out = StanOptions::Store::kMemory;
  } else if (lower == "sql") {
    *error =
        "streaming store type SQL is not served: channels are JetStream streams (use FILE "
        "or MEMORY)";
    return false;
  } else {
    *error = "unknown streaming store type \"" + text + "\" (FILE or MEMORY)";
    return false;
  }
  return true;
}

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
      if (!ParseLimits(v, &out->limits, error)) return false;
    } else if (key == "store" || key == "st" || key == "store_type") {
      std::string reason;
      if (v.type != ConfValue::Type::kString || !ParseStanStoreType(v.text, &out->store, &reason)) {
        return ConfFail(v, reason.empty() ? "streaming '" + key + "' expects a string" : reason,
                        error);
      }
    } else if (key == "dir" || key == "datastore") {
      if (v.type != ConfValue::Type::kString || v.text.empty()) {
        return ConfFail(v, "streaming '" + key + "' expects a directory", error);
      }
      out->dir = v.text;
    } else if (key == "file_options" || key == "file" || key == "sd" || key == "stan_debug" ||
               key == "sv" || key == "stan_trace") {
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
