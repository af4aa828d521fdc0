#pragma once
// StanView: what the /streaming monitoring endpoints and /metrics show of the STAN service
// (docs/STAN.md, "Monitoring"), copied out of StanService on shard 0's thread for the HTTP
// thread to format. Plain data; the channels' message figures come from JetStream's registry.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/stan_options.h"

namespace tern::core {

// One subscription as nats-streaming-server's Subscriptionz shows it.
struct StanSubView {
  std::string client_id, inbox, ack_inbox, durable_name, queue_name;
  bool is_durable = false, is_offline = false;
  int32_t max_inflight = 0, ack_wait_s = 0;
  uint64_t last_sent = 0, pending_count = 0;
  bool is_stalled = false;
};

struct StanClientView {
  std::string id, hb_inbox;
  std::map<std::string, std::vector<StanSubView>> subs;  // by channel
  int64_t subs_count = 0;
};

struct StanChannelView {
  std::string name, stream;
  std::vector<StanSubView> subs;  // online ones, then offline durables
};

struct StanView {
  std::string cluster_id;
  StanLimits limits;
  std::vector<StanClientView> clients;    // by id
  std::vector<StanChannelView> channels;  // by name
  int64_t subscriptions = 0;  // online, plus offline durables and offline durable groups
  uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0;
};

}  // namespace tern::core
