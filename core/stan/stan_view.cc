// StanService's snapshot for the monitoring endpoints (core/stan/stan_view.h): its clients,
// channels and subscriptions as nats-streaming-server's /streaming endpoints count them.
#include "core/stan/stan_service.h"

namespace tern::core {

StanSubView StanService::SubView(const Feed& feed, const StanSub& sub) const {
  StanSubView view;
  view.client_id = sub.client_id;
  view.inbox = sub.inbox;
  view.ack_inbox = sub.ack_inbox;
  view.durable_name = sub.durable_name;
  view.queue_name = feed.group;
  view.is_durable = !feed.durable_key.empty();
  view.max_inflight = sub.max_in_flight;
  view.ack_wait_s = sub.ack_wait_s;
  view.last_sent = sub.last_sent;
  view.pending_count = sub.pending;
  view.is_stalled = sub.pending >= static_cast<uint32_t>(sub.max_in_flight);
  return view;
}

void StanService::Snapshot(StanView* out) const {
  out->cluster_id = options_.cluster_id;
  out->limits = options_.limits;
  std::map<std::string, StanClientView> clients;
  for (const auto& [id, client] : clients_) {
    StanClientView& view = clients[id];
    view.id = id;
    view.hb_inbox = client.heartbeat_inbox;
  }
  std::map<std::string, StanChannelView> channels;
  for (const auto& [name, channel] : channels_) {
    if (channel.deleting) continue;
    StanChannelView& view = channels[name];
    view.name = name;
    view.stream = channel.stream;
  }
  for (const auto& [id, sub] : stan_subs_) {
    const auto feed = feeds_.find(sub.feed);
    if (feed == feeds_.end()) continue;
    const StanSubView view = SubView(feed->second, sub);
    if (auto channel = channels.find(sub.channel); channel != channels.end()) {
      channel->second.subs.push_back(view);
    }
    if (auto client = clients.find(sub.client_id); client != clients.end()) {
      client->second.subs[sub.channel].push_back(view);
      ++client->second.subs_count;
    }
  }
  for (const auto& [key, offline] : offline_durables_) {
    if (auto channel = channels.find(offline.channel); channel != channels.end()) {
      channel->second.subs.push_back(offline.view);
    }
  }
  out->subscriptions = static_cast<int64_t>(stan_subs_.size() + offline_durables_.size());
  for (auto& [id, view] : clients) out->clients.push_back(std::move(view));
  for (auto& [name, view] : channels) out->channels.push_back(std::move(view));
  out->in_msgs = directory_->TotalMsgs();
  out->in_bytes = directory_->TotalBytes();
  out->out_msgs = out_msgs_;
  out->out_bytes = out_bytes_;
}

}  // namespace tern::core
