// StanService's subscription requests and the feeds behind them (docs/STAN.md,
// "Subscriptions"): a feed is a push consumer on the channel's stream, for one subscription
// or a whole queue group. The first request's start position becomes its deliver policy;
// the members' maxInFlights add up to its max_ack_pending; the newest ackWait is its
// ack_wait.
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/shard.h"
#include "core/stan/channel.h"
#include "core/stan/protocol.h"
#include "core/stan/stan_service.h"
#include "core/time_format.h"

namespace tern::core {
namespace {

// nats-streaming-server's texts (docs/STAN.md, "Error strings").
constexpr std::string_view kErrInvalidSubReq = "stan: invalid subscription request";
constexpr std::string_view kErrMissingClient = "stan: clientID missing";
constexpr std::string_view kErrInvalidAckWait = "stan: invalid ack wait time, should be >= 1s";
constexpr std::string_view kErrInvalidMaxInflight = "stan: invalid MaxInflight, should be >= 1";
constexpr std::string_view kErrInvalidStart = "stan: invalid start position";
constexpr std::string_view kErrInvalidSubject = "stan: invalid subject";
constexpr std::string_view kErrUnknownClient = "stan: unknown clientID";
constexpr std::string_view kErrInvalidDurName =
    "stan: durable name of a durable queue subscriber can't contain the character ':'";
constexpr std::string_view kErrDupDurable = "stan: duplicate durable registration";
constexpr std::string_view kErrTooManySubs = "too many subscriptions per channel";
constexpr std::string_view kErrInvalidUnsubReq = "stan: invalid unsubscribe request";
constexpr std::string_view kErrUnknownChannel = "stan: unknown channel";
constexpr std::string_view kErrInvalidSub = "stan: invalid subscription";
constexpr int kConsumerNotFound = 10014;  // JetStream's err_code

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The consumer a new subscription asks for; `last_seq` is the channel's last sequence (only
// read for a start at a sequence).
nlohmann::json ConsumerConfig(const stan::SubscriptionRequest& request, uint64_t last_seq) {
  nlohmann::json config = {
      {"ack_policy", "explicit"}, {"replay_policy", "instant"}, {"deliver_policy", "new"}};
  switch (request.start_position) {
    case stan::StartPosition::kNewOnly:
      break;
    case stan::StartPosition::kLastReceived:
      config["deliver_policy"] = "last";
      break;
    case stan::StartPosition::kTimeDeltaStart:
      // A start in the future is new messages only, as nats-streaming-server has it.
      if (request.start_time_delta > 0) {
        config["deliver_policy"] = "by_start_time";
        config["opt_start_time"] = Rfc3339Nano(WallClockNs() - request.start_time_delta);
      }
      break;
    case stan::StartPosition::kSequenceStart:
      // Below the first: from the first. Past the last: new messages only.
      if (request.start_sequence == 0) {
        config["deliver_policy"] = "all";
      } else if (request.start_sequence <= last_seq) {
        config["deliver_policy"] = "by_start_sequence";
        config["opt_start_seq"] = request.start_sequence;
      }
      break;
    case stan::StartPosition::kFirst:
      config["deliver_policy"] = "all";
      break;
  }
  return config;
}

bool NeedsLastSequence(const stan::SubscriptionRequest& request) {
  return request.start_position == stan::StartPosition::kSequenceStart &&
         request.start_sequence > 0;
}

}  // namespace

uint64_t StanService::ApiCallFor(ApiCall::Kind kind, uint64_t feed, const std::string& subject,
                                 const std::string& body) {
  const uint64_t token = ++next_token_;
  ApiCall call{kind, {}, {}, {}, now_ns_ + kApiTimeoutNs, feed};
  if (auto it = feeds_.find(feed); it != feeds_.end()) call.channel = it->second.channel;
  TrackCall(token, std::move(call));
  Send(subject, Token(api_inbox_, token), body);
  return token;
}

void StanService::OnSubscribe(const Arrived& in) {
  stan::SubscriptionRequest request;
  auto refuse = [&](std::string_view error) {
    if (in.reply.empty()) return;
    std::string out;
    stan::Encode(stan::SubscriptionResponse{.error = error}, &out);
    Send(in.reply, {}, out);
  };
  if (!stan::Decode(in.data, &request)) return refuse(kErrInvalidSubReq);
  if (request.client_id.empty()) return refuse(kErrMissingClient);
  if (request.ack_wait_in_secs <= 0) return refuse(kErrInvalidAckWait);
  if (request.max_in_flight <= 0) return refuse(kErrInvalidMaxInflight);
  const auto start = static_cast<int32_t>(request.start_position);
  if (start < 0 || start > static_cast<int32_t>(stan::StartPosition::kFirst)) {
    return refuse(kErrInvalidStart);
  }
  if (!stan::IsValidChannelName(request.subject)) return refuse(kErrInvalidSubject);
  const std::string client_id(request.client_id), channel_name(request.subject);
  if (clients_.count(client_id) == 0) return refuse(kErrUnknownClient);
  std::string_view error;
  Channel* channel = OpenChannel(channel_name, &error);
  if (channel == nullptr) return refuse(error);
  const std::string durable(request.durable_name);
  std::string group(request.q_group), durable_key;
  if (!group.empty() && !durable.empty()) {
    // A durable queue group belongs to no client: nats-streaming-server names it
    // "durable:group", hence no ':' in its durable name.
    if (durable.find(':') != std::string::npos) return refuse(kErrInvalidDurName);
    group = durable + ":" + group;
    durable_key = "q|" + channel_name + "|" + group;  // never a plain durable's key
  } else if (!durable.empty()) {
    durable_key = "d|" + client_id + "-" + channel_name + "-" + durable;
    if (durables_.count(durable_key) != 0) return refuse(kErrDupDurable);
  }
  if (const int64_t max = channel->limits.max_subs; max > 0) {
    int64_t on_channel = 0;
    for (const auto& [other_id, other] : stan_subs_) on_channel += other.channel == channel_name;
    if (on_channel >= max) return refuse(kErrTooManySubs);
  }

  const uint64_t id = ++next_token_;
  StanSub& sub = stan_subs_[id];
  sub.id = id;
  sub.client_id = client_id;
  sub.channel = channel_name;
  sub.inbox = std::string(request.inbox);
  sub.reply = in.reply;
  sub.request = in.data;
  sub.max_in_flight = request.max_in_flight;
  sub.ack_wait_s = request.ack_wait_in_secs;
  if (group.empty()) sub.durable_name = durable;
  sub.ack_inbox = "_STAN.ack." + options_.cluster_id + "." + run_nonce_ + "." + std::to_string(id);

  // A queue group joined: its feed serves this member too.
  const std::string group_key = channel_name + " " + group;
  if (!group.empty()) {
    if (auto joined = groups_.find(group_key); joined != groups_.end()) {
      Feed& feed = feeds_[joined->second];
      sub.feed = feed.id;
      feed.members.push_back(id);
      if (!feed.ready) return;  // answered with the rest when it is
      PersistAndAnswer(id);
      return RefreshConsumer(feed);
    }
  }
  const uint64_t feed_id = ++next_token_;
  Feed& feed = feeds_[feed_id];
  feed.id = feed_id;
  feed.channel = channel_name;
  feed.group = group;
  feed.durable_key = durable_key;
  ForgetOffline(durable_key);
  feed.deliver =
      "_STAN.dlv." + options_.cluster_id + "." + run_nonce_ + "." + std::to_string(feed_id);
  feed.members.push_back(id);
  sub.feed = feed_id;
  ++channel->feeds;
  // Every feed's consumer is durable in JetStream's sense, so that a subscription kept
  // across a restart finds it; a plain subscription's is deleted with it.
  feed.consumer = durable_key.empty() ? "feed_" + run_nonce_ + "_" + std::to_string(feed_id)
                                      : stan::DurableConsumerName(durable_key);
  if (!group.empty()) {
    groups_[group_key] = feed_id;
  } else if (!durable_key.empty()) {
    durables_[durable_key] = feed_id;
  }
  if (!channel->ready) return channel->waiting_feeds.push_back(feed_id);
  StartFeed(feed);
}

void StanService::StartFeed(Feed& feed) {
  if (feed.started || feed.members.empty()) return;
  feed.started = true;
  stan::SubscriptionRequest request;
  stan::Decode(stan_subs_[feed.members.front()].request, &request);  // checked by OnSubscribe
  const std::string& stream = channels_[feed.channel].stream;
  if (!feed.durable_key.empty()) {
    ApiCallFor(ApiCall::Kind::kConsumerInfo, feed.id,
               "$JS.API.CONSUMER.INFO." + stream + "." + feed.consumer, "");
  } else if (NeedsLastSequence(request)) {
    ApiCallFor(ApiCall::Kind::kStreamInfo, feed.id, "$JS.API.STREAM.INFO." + stream, "");
  } else {
    PutConsumer(feed, ConsumerConfig(request, 0));
  }
}

void StanService::PutConsumer(Feed& feed, nlohmann::json config) {
  int64_t max_ack_pending = 0, ack_wait_s = 0;
  uint64_t newest = 0;
  for (uint64_t member : feed.members) {
    const StanSub& sub = stan_subs_[member];
    max_ack_pending += sub.max_in_flight;
    if (sub.id > newest) {
      newest = sub.id;
      ack_wait_s = sub.ack_wait_s;
    }
  }
  config["deliver_subject"] = feed.deliver;
  config["ack_wait"] = ack_wait_s * 1'000'000'000;
  config["max_ack_pending"] = max_ack_pending;
  config["durable_name"] = feed.consumer;
  feed.sent_max_ack_pending = max_ack_pending;
  feed.sent_ack_wait_s = ack_wait_s;
  const std::string& stream = channels_[feed.channel].stream;
  const std::string subject = "$JS.API.CONSUMER.DURABLE.CREATE." + stream + "." + feed.consumer;
  if (feed.deliver_sub == nullptr) {
    // Bound from now on: the consumer pushes once its home shard learns of this.
    feed.deliver_sub = std::make_unique<Subscription>();
    feed.deliver_sub->account = auth::kGlobalAccount;
    feed.deliver_sub->sink = this;
    feed.deliver_sub->tag = kDeliver;
    feed.deliver_sub->subject = feed.deliver;
    shard_->AddInternal(feed.deliver_sub.get(), /*announce=*/true);
  }
  feed.config = config.dump();
  const nlohmann::json body = {{"stream_name", stream}, {"config", std::move(config)}};
  ApiCallFor(ApiCall::Kind::kCreateConsumer, feed.id, subject, body.dump());
}

void StanService::FinishFeedCall(const ApiCall& call, const std::string& error,
                                 const nlohmann::json& answer) {
  if (call.kind == ApiCall::Kind::kDeleteConsumer) return;
  // Gone while its consumer was being made: DropFeed asked for the consumer's deletion
  // (after its creation, on the same path) unless it is a durable's to keep.
  auto it = feeds_.find(call.feed);
  if (it == feeds_.end()) return;
  Feed& feed = it->second;
  stan::SubscriptionRequest request;
  if (!feed.members.empty()) stan::Decode(stan_subs_[feed.members.front()].request, &request);
  switch (call.kind) {
    case ApiCall::Kind::kConsumerInfo: {
      if (error.empty()) {
        // A durable resumed: where it stood is kept, the start position is not read.
        return PutConsumer(feed, answer.value("config", nlohmann::json::object()));
      }
      const bool missing = answer.contains("error") && answer.at("error").is_object() &&
                           answer.at("error").value("err_code", 0) == kConsumerNotFound;
      if (!missing) return FeedReady(feed, error);
      if (NeedsLastSequence(request)) {
        ApiCallFor(ApiCall::Kind::kStreamInfo, feed.id,
                   "$JS.API.STREAM.INFO." + channels_[feed.channel].stream, "");
        return;
      }
      return PutConsumer(feed, ConsumerConfig(request, 0));
    }
    case ApiCall::Kind::kStreamInfo: {
      if (!error.empty()) return FeedReady(feed, error);
      const uint64_t last = answer.at("state").value("last_seq", uint64_t{0});
      return PutConsumer(feed, ConsumerConfig(request, last));
    }
    case ApiCall::Kind::kCreateConsumer:
      if (feed.ready) return;  // an update for a member's arrival or departure
      if (!error.empty()) return FeedReady(feed, error);
      feed.consumer = answer.value("name", feed.consumer);
      return FeedReady(feed, {});
    default:
      return;
  }
}

void StanService::FeedReady(Feed& feed, std::string_view error) {
  const std::vector<uint64_t> members = feed.members;
  if (!error.empty()) {
    for (uint64_t member : members) AnswerSub(stan_subs_[member], error);
    return;  // the last one's going took the feed
  }
  feed.ready = true;
  WriteState("f." + std::to_string(feed.id), FeedRecord(feed));
  // A durable resumed: what it had not acknowledged comes again now, not after the ack wait.
  if (auto offline = offline_unacked_.find(feed.durable_key); offline != offline_unacked_.end()) {
    for (const std::string& ack_subject : offline->second) Send(ack_subject, {}, "-NAK");
    offline_unacked_.erase(offline);
  }
  for (uint64_t member : members) PersistAndAnswer(member);
  // Members that came or went while it was being made.
  RefreshConsumer(feed);
}

void StanService::RefreshConsumer(Feed& feed) {
  int64_t max_ack_pending = 0;
  uint64_t newest = 0;
  int64_t ack_wait_s = 0;
  for (uint64_t member : feed.members) {
    const StanSub& sub = stan_subs_[member];
    max_ack_pending += sub.max_in_flight;
    if (sub.id > newest) {
      newest = sub.id;
      ack_wait_s = sub.ack_wait_s;
    }
  }
  if (feed.members.empty() ||
      (max_ack_pending == feed.sent_max_ack_pending && ack_wait_s == feed.sent_ack_wait_s)) {
    return;
  }
  PutConsumer(feed, nlohmann::json::parse(feed.config));
}

void StanService::PersistAndAnswer(uint64_t sub_id) {
  WriteState("s." + std::to_string(sub_id), SubRecord(stan_subs_[sub_id]),
             [this, sub_id](const std::string& error) {
               auto it = stan_subs_.find(sub_id);
               if (it != stan_subs_.end() && !it->second.answered) AnswerSub(it->second, error);
             });
}

void StanService::AnswerSub(StanSub& sub, std::string_view error) {
  std::string out;
  stan::Encode(
      stan::SubscriptionResponse{.ack_inbox = error.empty() ? sub.ack_inbox : "", .error = error},
      &out);
  if (!sub.reply.empty()) Send(sub.reply, {}, out);
  if (!error.empty()) return DropSub(sub.id, /*close=*/true);
  sub.answered = true;
  sub.request.clear();
  // What JetStream pushed before a member could take it follows the answer, in order.
  auto feed = feeds_.find(sub.feed);
  if (feed == feeds_.end()) return;
  std::vector<std::pair<std::string, std::string>> early;
  early.swap(feed->second.early);
  for (const auto& [ack_subject, data] : early) Deliver(feed->second, ack_subject, data);
}

void StanService::OnUnsubscribe(const Arrived& in, bool close) {
  stan::UnsubscribeRequest request;
  std::string_view error;
  uint64_t found = 0;
  if (!stan::Decode(in.data, &request)) {
    error = kErrInvalidUnsubReq;
  } else if (channels_.count(std::string(request.subject)) == 0) {
    error = kErrUnknownChannel;
  } else {
    // By its ack inbox (what clients send), else by its delivery inbox.
    for (const auto& [id, sub] : stan_subs_) {
      if (sub.channel == request.subject && sub.ack_inbox == request.inbox) found = id;
    }
    for (const auto& [id, sub] : stan_subs_) {
      if (found == 0 && sub.channel == request.subject && sub.inbox == request.inbox) found = id;
    }
    if (found == 0) {
      error = kErrInvalidSub;
    } else if (stan_subs_[found].client_id != request.client_id) {
      error = kErrUnknownClient;
    } else {
      DropSub(found, close);
    }
  }
  if (in.reply.empty()) return;
  std::string out;
  stan::Encode(stan::SubscriptionResponse{.error = error}, &out);
  Send(in.reply, {}, out);
}

void StanService::DropSub(uint64_t id, bool close) {
  auto it = stan_subs_.find(id);
  if (it == stan_subs_.end()) return;
  const uint64_t feed_id = it->second.feed;
  if (auto feed = feeds_.find(feed_id); feed != feeds_.end() && close && it->second.answered &&
                                        !feed->second.durable_key.empty() &&
                                        feed->second.members.size() == 1) {
    // The last one of a durable: it stays, offline, as this subscription left it.
    StanSubView view = SubView(feed->second, it->second);
    view.is_offline = true;
    KeepOffline(feed->second.durable_key, {feed->second.channel, std::move(view), feed_id});
  }
  stan_subs_.erase(it);
  ForgetState("s." + std::to_string(id));
  auto found = feeds_.find(feed_id);
  if (found == feeds_.end()) return;
  Feed& feed = found->second;
  std::erase(feed.members, id);
  if (feed.members.empty()) {
    // A durable closed (or its client gone) stays, offline; anything else goes.
    return DropFeed(feed, /*keep_consumer=*/close && !feed.durable_key.empty());
  }
  // Its unacknowledged messages go to the others now, not after the ack wait.
  for (auto pending = feed.unacked.begin(); pending != feed.unacked.end();) {
    if (pending->second.member != id) {
      ++pending;
      continue;
    }
    Send(pending->second.ack_subject, {}, "-NAK");
    pending = feed.unacked.erase(pending);
  }
  if (feed.ready) RefreshConsumer(feed);
}

void StanService::DropFeed(Feed& feed, bool keep_consumer) {
  // Unbound: the consumer stops pushing.
  if (feed.deliver_sub != nullptr) shard_->RemoveInternal(feed.deliver_sub.get());
  if (auto online = durables_.find(feed.durable_key);
      online != durables_.end() && online->second == feed.id) {
    durables_.erase(online);
  }
  if (auto group = groups_.find(feed.channel + " " + feed.group);
      group != groups_.end() && group->second == feed.id) {
    groups_.erase(group);
  }
  if (keep_consumer && !feed.unacked.empty()) {
    std::vector<std::string>& kept = offline_unacked_[feed.durable_key];
    for (const auto& [seq, unacked] : feed.unacked) kept.push_back(unacked.ack_subject);
  } else if (!keep_consumer) {
    offline_unacked_.erase(feed.durable_key);
  }
  auto channel = channels_.find(feed.channel);
  if (channel != channels_.end() && --channel->second.feeds == 0) {
    channel->second.last_activity_ns = now_ns_;
    if (channel->second.limits.max_inactivity_ns > 0) ScheduleInactivityCheck();
  }
  if (feed.started && !keep_consumer && channel != channels_.end()) {
    ApiCallFor(ApiCall::Kind::kDeleteConsumer, feed.id,
               "$JS.API.CONSUMER.DELETE." + channel->second.stream + "." + feed.consumer, "");
  }
  if (feed.ready) ForgetState("f." + std::to_string(feed.id));
  const uint64_t id = feed.id;
  feeds_.erase(id);
}
}  // namespace tern::core
