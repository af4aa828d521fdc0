// StanService's channels (docs/STAN.md, "Channels are streams"): each is a stream made on its
// first publish or subscribe with its limits (global, or from the matching per-channel
// entries), found again at start-up, and deleted once it has been `max_inactivity` without a
// subscription or a message.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/shard.h"
#include "core/stan/channel.h"
#include "core/stan/errors.h"
#include "core/stan/stan_gate.h"
#include "core/stan/stan_service.h"
#include "core/time_format.h"

namespace tern::core {
namespace {

constexpr std::string_view kErrTooManyChannels = "too many channels";

nlohmann::json StreamLimits(const StanChannelLimits& limits) {
  return {{"max_msgs", limits.max_msgs > 0 ? limits.max_msgs : -1},
          {"max_bytes", limits.max_bytes > 0 ? limits.max_bytes : -1},
          {"max_age", limits.max_age_ns}};
}

}  // namespace

StanService::Channel* StanService::OpenChannel(const std::string& name, std::string_view* error) {
  auto it = channels_.find(name);
  if (it != channels_.end()) {
    if (it->second.deleting) {
      *error = stan::kErrChanDelInProgress;
      return nullptr;
    }
    return &it->second;
  }
  const int64_t max = options_.limits.max_channels;
  if (max > 0 && static_cast<int64_t>(channels_.size()) >= max) {
    *error = kErrTooManyChannels;
    return nullptr;
  }
  Channel& channel = AddChannel(name, stan::ChannelStreamName(name));
  CreateChannelStream(name, /*update=*/false);
  return &channel;
}

StanService::Channel& StanService::AddChannel(const std::string& name, const std::string& stream) {
  Channel& channel = channels_[name];
  channel.limits = ChannelLimitsFor(options_.limits, name);
  channel.stream = stream;
  channel.subject = stan::ChannelSubject(name);
  channel.entry = std::make_shared<stan::GateChannel>();
  channel.entry->subject = channel.subject;
  channel.last_activity_ns = now_ns_;
  if (channel.limits.max_inactivity_ns > 0) ScheduleInactivityCheck();
  return channel;
}

void StanService::CreateChannelStream(const std::string& name, bool update) {
  const Channel& channel = channels_[name];
  nlohmann::json config = {{"name", channel.stream},   {"subjects", {channel.subject}},
                           {"storage", StorageName()}, {"retention", "limits"},
                           {"discard", "old"},         {"metadata", {{"stan_channel", name}}}};
  config.update(StreamLimits(channel.limits));
  const uint64_t token = ++next_token_;
  TrackCall(token, ApiCall{update ? ApiCall::Kind::kUpdateStream : ApiCall::Kind::kCreateStream,
                           name,
                           {},
                           {},
                           now_ns_ + kApiTimeoutNs});
  const std::string subject =
      std::string(update ? "$JS.API.STREAM.UPDATE." : "$JS.API.STREAM.CREATE.") + channel.stream;
  Send(subject, Token(api_inbox_, token), config.dump());
}

void StanService::OnChannelAnswer(const ApiCall& call, const std::string& error) {
  auto found = channels_.find(call.channel);
  if (found == channels_.end()) return;
  Channel& channel = found->second;
  if (!error.empty() && call.kind == ApiCall::Kind::kCreateStream &&
      error.find("already in use") != std::string::npos) {
    // Made by an earlier run with other limits: take the limits configured now.
    return CreateChannelStream(call.channel, /*update=*/true);
  }
  if (!error.empty() && channel.ready) {
    // Found at start-up, its limits could not be brought up to date: it serves as it was.
    LOG_WARN("Streaming: channel \"%s\" keeps its earlier limits: %s", call.channel.c_str(),
             error.c_str());
    return;
  }
  std::vector<StanGate*> waiting_gates;
  waiting_gates.swap(channel.waiting_gates);
  std::vector<uint64_t> waiting_feeds;
  waiting_feeds.swap(channel.waiting_feeds);
  if (!error.empty()) {
    LOG_WARN("Streaming: channel \"%s\" could not be made: %s", call.channel.c_str(),
             error.c_str());
    // Not kept as failed: the next publish tries again (the store may have room by then).
    for (StanGate* gate : waiting_gates) ResolveGate(gate, call.channel, error);
    channels_.erase(found);
    for (uint64_t id : waiting_feeds) {
      if (auto feed = feeds_.find(id); feed != feeds_.end()) FeedReady(feed->second, error);
    }
    return;
  }
  channel.ready = true;
  // Its first inactivity check may have passed it by while it was being made.
  if (channel.limits.max_inactivity_ns > 0) ScheduleInactivityCheck();
  PublishDirectory();  // before the gates are told: they look it up there
  for (StanGate* gate : waiting_gates) ResolveGate(gate, call.channel, {});
  for (uint64_t id : waiting_feeds) {
    if (auto feed = feeds_.find(id); feed != feeds_.end()) StartFeed(feed->second);
  }
}

void StanService::ListChannels(uint64_t offset) {
  const nlohmann::json request = {{"offset", offset}, {"subject", "_STAN.ch.>"}};
  Call("$JS.API.STREAM.LIST", request.dump(),
       [this, offset](const std::string& error, const nlohmann::json& answer) {
         if (!error.empty()) {
           LOG_ERROR("Streaming: listing the channels: %s", error.c_str());
           return FinishRestore();
         }
         const nlohmann::json& streams = answer.value("streams", nlohmann::json::array());
         for (const nlohmann::json& stream : streams) {
           const nlohmann::json& config = stream.value("config", nlohmann::json::object());
           const nlohmann::json& metadata = config.value("metadata", nlohmann::json::object());
           const std::string name = metadata.value("stan_channel", std::string());
           if (name.empty() || channels_.count(name) != 0) continue;
           Channel& channel = AddChannel(name, config.value("name", std::string()));
           channel.ready = true;
           // Limits configured since the last run apply now, as nats-streaming-server's do.
           const nlohmann::json wanted = StreamLimits(channel.limits);
           for (const auto& [key, value] : wanted.items()) {
             if (config.value(key, int64_t{0}) != value.get<int64_t>()) {
               CreateChannelStream(name, /*update=*/true);
               break;
             }
           }
         }
         const uint64_t next = offset + streams.size();
         if (!streams.empty() && next < answer.value("total", uint64_t{0})) {
           return ListChannels(next);
         }
         FinishRestore();
       });
}

void StanService::RetireInactiveChannels() {
  if (next_inactivity_check_ns_ == 0 || now_ns_ < next_inactivity_check_ns_) return;
  next_inactivity_check_ns_ = 0;
  for (auto& [name, channel] : channels_) {
    const int64_t max = channel.limits.max_inactivity_ns;
    if (max <= 0 || !channel.ready || channel.deleting) continue;
    if (channel.feeds > 0 || !channel.waiting_gates.empty()) {
      channel.last_activity_ns = now_ns_;
      continue;
    }
    channel.last_activity_ns = std::max(
        channel.last_activity_ns, channel.entry->last_publish_ns.load(std::memory_order_relaxed));
    const int64_t due = channel.last_activity_ns + max;
    if (now_ns_ < due) {
      if (next_inactivity_check_ns_ == 0 || due < next_inactivity_check_ns_) {
        next_inactivity_check_ns_ = due;
      }
      continue;
    }
    // Offline durables do not keep it, as in nats-streaming-server: they go with its stream.
    channel.deleting = true;
    channel.entry->open.store(false, std::memory_order_release);  // gates refuse publishes now
    // A gate may have let a publish through just before it saw the channel closed: once
    // every gate has been through a turn since, a publish after `seen` keeps the channel.
    const int64_t seen = channel.entry->last_publish_ns.load(std::memory_order_relaxed);
    const std::string channel_name = name;
    auto remaining = std::make_shared<std::size_t>(gates_.size());
    if (gates_.empty()) DeleteInactiveChannel(channel_name, seen);
    for (StanGate* gate : gates_) {
      gate->shard()->Post([this, remaining, channel_name, seen] {
        shard_->Post([this, remaining, channel_name, seen] {
          if (--*remaining == 0) DeleteInactiveChannel(channel_name, seen);
        });
      });
    }
  }
}

void StanService::DeleteInactiveChannel(const std::string& channel_name, int64_t seen) {
  auto it = channels_.find(channel_name);
  if (it == channels_.end() || !it->second.deleting) return;
  Channel& channel = it->second;
  if (channel.entry->last_publish_ns.load(std::memory_order_relaxed) > seen) {
    channel.deleting = false;
    channel.entry->open.store(true, std::memory_order_release);
    channel.last_activity_ns = now_ns_;
    return ScheduleInactivityCheck();
  }
  Call("$JS.API.STREAM.DELETE." + channel.stream, "",
       [this, channel_name](const std::string& error, const nlohmann::json&) {
         auto gone = channels_.find(channel_name);
         if (gone == channels_.end()) return;
         if (!error.empty()) {
           LOG_WARN("Streaming: inactive channel \"%s\" could not be deleted: %s",
                    channel_name.c_str(), error.c_str());
           gone->second.deleting = false;
           gone->second.entry->open.store(true, std::memory_order_release);
           gone->second.last_activity_ns = now_ns_;
           return ScheduleInactivityCheck();
         }
         LOG_INFO("Streaming: channel \"%s\" has been deleted (inactive for %s)",
                  channel_name.c_str(), GoDuration(gone->second.limits.max_inactivity_ns).c_str());
         ForgetOfflineUnacked(gone->second.stream);
         std::vector<std::string> gone_durables;
         for (const auto& [key, offline] : offline_durables_) {
           if (offline.channel == channel_name) gone_durables.push_back(key);
         }
         for (const std::string& key : gone_durables) ForgetOffline(key);
         channels_.erase(gone);
         PublishDirectory();
       });
}

void StanService::ForgetOfflineUnacked(const std::string& stream) {
  // A stream made again under the same name must not see acks meant for the deleted one.
  const std::string prefix = "$JS.ACK." + stream + ".";
  for (auto it = offline_unacked_.begin(); it != offline_unacked_.end();) {
    std::vector<std::string>& subjects = it->second;
    std::erase_if(subjects, [&](const std::string& s) { return s.starts_with(prefix); });
    it = subjects.empty() ? offline_unacked_.erase(it) : std::next(it);
  }
}

void StanService::ScheduleInactivityCheck() {
  // The next turn looks at every channel and sets the check after that from their deadlines.
  next_inactivity_check_ns_ = std::max<int64_t>(now_ns_, 1);
}

}  // namespace tern::core
