#pragma once
// StanOptions: NATS Streaming (STAN) served on JetStream (docs/STAN.md): the `streaming {}`
// block and the flags nats-streaming-server takes (--streaming, -cid, -hbi, -hbt, -hbf, -mc,
// -msu, -mm, -mb, -ma), with its defaults. Filled on the main thread before the shards
// start; read-only after.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/conf.h"

namespace tern::core {

// One channel's limits. Globally, and once resolved for a channel, 0 is unlimited. In a
// per-channel entry 0 means "as the wider entry" and -1 unlimited (a 0 or a negative number in
// the config file becomes -1, as nats-streaming-server reads it).
struct StanChannelLimits {
  int64_t max_subs = 1000;
  int64_t max_msgs = 1'000'000;
  int64_t max_bytes = 1'024'000'000;
  int64_t max_age_ns = 0;
  int64_t max_inactivity_ns = 0;  // a channel with no subscription and no message that long goes
};

struct StanChannelRule {
  std::string channel;  // a channel name, or a pattern with '*' and '>'
  StanChannelLimits limits{0, 0, 0, 0, 0};
};

struct StanLimits : StanChannelLimits {
  int64_t max_channels = 100;  // 0: unlimited
  std::vector<StanChannelRule> per_channel;
};

// The limits of `channel`: the global ones, overridden by each matching per-channel entry from
// the widest to the narrowest (a literal name last), as nats-streaming-server inherits them.
StanChannelLimits ChannelLimitsFor(const StanLimits& limits, std::string_view channel);

struct StanOptions {
  // Where channels are stored: JetStream's file store, or its memory (lost at a restart, as
  // nats-streaming-server's MEMORY store). kDefault: file for tern-server, memory when
  // started as nats-streaming-server (its default).
  enum class Store { kDefault, kFile, kMemory };
  bool enabled = false;
  Store store = Store::kDefault;
  std::string dir;  // nats-streaming-server's -dir: JetStream's store dir unless one is set
  std::string cluster_id = "test-cluster";
  int64_t hb_interval_ns = int64_t{30} * 1'000'000'000;
  int64_t hb_timeout_ns = int64_t{10} * 1'000'000'000;
  int64_t hb_fail_count = 10;
  StanLimits limits;
};

// Applies a `streaming` block (it turns streaming on); warnings for what is accepted but
// changes nothing here (a store type, a directory: channels live in JetStream's store).
bool ParseStreamingBlock(const ConfValue& block, StanOptions* out,
                         std::vector<std::string>* warnings, std::string* error);
// "file" or "memory" (any case) as a Store; SQL and anything else are refused with a reason.
bool ParseStanStoreType(const std::string& text, StanOptions::Store* out, std::string* error);
// A cluster id as nats-streaming-server allows it: letters, digits, '-' and '_'.
bool IsValidStanClusterId(const std::string& id);

}  // namespace tern::core
