// StanService's state across restarts (docs/STAN.md, "Clients"): each client, feed and
// subscription is one record in the state stream `STANSTATE_<cluster id>` under
// `_STAN.state.<cluster id>.<c|f|s>.<key>`, one message kept per subject; a record goes with
// a purge of its subject. At start the stream is read in order before any request is served,
// as nats-streaming-server's file store is recovered before it answers.
#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"
#include "core/log.h"
#include "core/shard.h"
#include "core/stan/channel.h"
#include "core/stan/stan_gate.h"
#include "core/stan/stan_service.h"

namespace tern::core {
namespace {

constexpr int kNoMessageFound = 10037;  // JetStream's err_code for MSG.GET past the end

uint64_t IdOf(std::string_view subject) {
  uint64_t n = 0;
  for (char c : subject.substr(subject.rfind('.') + 1)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

void StanService::Call(
    const std::string& subject, const std::string& body,
    std::function<void(const std::string& error, const nlohmann::json& answer)> done) {
  const uint64_t token = ++next_token_;
  ApiCall call{ApiCall::Kind::kOther, {}, {}, {}, now_ns_ + kApiTimeoutNs, 0};
  call.done = std::move(done);
  TrackCall(token, std::move(call));
  Send(subject, Token(api_inbox_, token), body);
}

void StanService::WriteState(const std::string& key, const nlohmann::json& record,
                             std::function<void(const std::string& error)> done) {
  Call(state_prefix_ + key, record.dump(),
       [done = std::move(done)](const std::string& error, const nlohmann::json&) {
         if (done) done(error);
       });
}

void StanService::ForgetState(const std::string& key) {
  const nlohmann::json purge = {{"filter", state_prefix_ + key}};
  Call("$JS.API.STREAM.PURGE." + state_stream_, purge.dump(),
       [](const std::string&, const nlohmann::json&) {});
}

nlohmann::json StanService::ClientRecord(const StanClient& client) const {
  return {{"id", client.id}, {"hb_inbox", client.heartbeat_inbox}, {"conn_id", client.conn_id}};
}

nlohmann::json StanService::FeedRecord(const Feed& feed) const {
  return {{"channel", feed.channel},   {"group", feed.group},     {"durable_key", feed.durable_key},
          {"consumer", feed.consumer}, {"deliver", feed.deliver}, {"config", feed.config}};
}

nlohmann::json StanService::SubRecord(const StanSub& sub) const {
  return {{"feed", sub.feed},           {"client_id", sub.client_id},
          {"channel", sub.channel},     {"inbox", sub.inbox},
          {"ack_inbox", sub.ack_inbox}, {"max_in_flight", sub.max_in_flight},
          {"ack_wait", sub.ack_wait_s}, {"durable", sub.durable_name}};
}

void StanService::KeepOffline(const std::string& key, OfflineDurable offline) {
  ForgetOffline(key);  // an earlier record of it, if any
  const StanSubView& v = offline.view;
  WriteState("o." + std::to_string(offline.record), {{"key", key},
                                                     {"channel", offline.channel},
                                                     {"client_id", v.client_id},
                                                     {"inbox", v.inbox},
                                                     {"ack_inbox", v.ack_inbox},
                                                     {"durable", v.durable_name},
                                                     {"queue", v.queue_name},
                                                     {"max_inflight", v.max_inflight},
                                                     {"ack_wait", v.ack_wait_s},
                                                     {"last_sent", v.last_sent},
                                                     {"pending", v.pending_count}});
  offline_durables_[key] = std::move(offline);
}

void StanService::ForgetOffline(const std::string& key) {
  auto it = offline_durables_.find(key);
  if (it == offline_durables_.end()) return;
  ForgetState("o." + std::to_string(it->second.record));
  offline_durables_.erase(it);
}

void StanService::BeginRestore() {
  const nlohmann::json config = {{"name", state_stream_},     {"subjects", {state_prefix_ + ">"}},
                                 {"storage", StorageName()},  {"retention", "limits"},
                                 {"max_msgs_per_subject", 1}, {"discard", "old"}};
  Call("$JS.API.STREAM.CREATE." + state_stream_, config.dump(),
       [this](const std::string& error, const nlohmann::json&) {
         // "Already in use": made by an earlier run, which is what is read next.
         if (!error.empty() && error.find("already in use") == std::string::npos) {
           LOG_ERROR(
               "Streaming: state stream %s could not be made (%s): clients and "
               "subscriptions will not survive a restart",
               state_stream_.c_str(), error.c_str());
           return ListChannels(0);
         }
         ReadState(1);
       });
}

void StanService::ReadState(uint64_t seq) {
  const nlohmann::json request = {{"seq", seq}, {"next_by_subj", state_prefix_ + ">"}};
  Call("$JS.API.STREAM.MSG.GET." + state_stream_, request.dump(),
       [this](const std::string& error, const nlohmann::json& answer) {
         if (!error.empty()) {
           const bool end = answer.contains("error") && answer.at("error").is_object() &&
                            answer.at("error").value("err_code", 0) == kNoMessageFound;
           if (!end) LOG_ERROR("Streaming: reading the state stream: %s", error.c_str());
           return ListChannels(0);
         }
         const nlohmann::json& message = answer.at("message");
         std::string record;
         if (!auth::DecodeBase64Any(message.value("data", std::string()), &record)) record.clear();
         ApplyRecord(message.value("subject", std::string()), record);
         ReadState(message.at("seq").get<uint64_t>() + 1);
       });
}

void StanService::ApplyRecord(std::string_view subject, std::string_view record) {
  const nlohmann::json r = nlohmann::json::parse(record, nullptr, false);
  if (!r.is_object() || subject.size() < state_prefix_.size() + 2) return;
  const char kind = subject[state_prefix_.size()];
  const uint64_t id = IdOf(subject);
  next_token_ = std::max(next_token_, id);
  if (kind == 'c') {
    StanClient client;
    client.id = r.value("id", std::string());
    client.heartbeat_inbox = r.value("hb_inbox", std::string());
    client.conn_id = r.value("conn_id", std::string());
    client.next_heartbeat_ns = now_ns_ + options_.hb_interval_ns;
    if (client.id.empty()) return;
    if (!client.conn_id.empty()) by_conn_id_[client.conn_id] = client.id;
    clients_[client.id] = std::move(client);
  } else if (kind == 'f' && id != 0) {
    Feed& feed = feeds_[id];
    feed.id = id;
    feed.channel = r.value("channel", std::string());
    feed.group = r.value("group", std::string());
    feed.durable_key = r.value("durable_key", std::string());
    feed.consumer = r.value("consumer", std::string());
    feed.deliver = r.value("deliver", std::string());
    feed.config = r.value("config", std::string("{}"));
    feed.started = feed.ready = true;
  } else if (kind == 's' && id != 0) {
    StanSub& sub = stan_subs_[id];
    sub.id = id;
    sub.feed = r.value("feed", uint64_t{0});
    sub.client_id = r.value("client_id", std::string());
    sub.channel = r.value("channel", std::string());
    sub.inbox = r.value("inbox", std::string());
    sub.ack_inbox = r.value("ack_inbox", std::string());
    sub.max_in_flight = r.value("max_in_flight", 1);
    sub.ack_wait_s = r.value("ack_wait", 30);
    sub.durable_name = r.value("durable", std::string());
    sub.answered = true;
  } else if (kind == 'o' && id != 0) {
    const std::string key = r.value("key", std::string());
    if (key.empty()) return;
    OfflineDurable& offline = offline_durables_[key];
    offline.record = id;
    offline.channel = r.value("channel", std::string());
    StanSubView& v = offline.view;
    v.client_id = r.value("client_id", std::string());
    v.inbox = r.value("inbox", std::string());
    v.ack_inbox = r.value("ack_inbox", std::string());
    v.durable_name = r.value("durable", std::string());
    v.queue_name = r.value("queue", std::string());
    v.max_inflight = r.value("max_inflight", 0);
    v.ack_wait_s = r.value("ack_wait", 0);
    v.last_sent = r.value("last_sent", uint64_t{0});
    v.pending_count = r.value("pending", uint64_t{0});
    v.is_durable = v.is_offline = true;
  }
}

void StanService::FinishRestore() {
  // A subscription whose client or feed did not make it goes; so does a feed left with
  // no member (a durable's consumer stays, offline, as after a close).
  std::vector<uint64_t> orphans;
  for (auto& [id, sub] : stan_subs_) {
    auto feed = feeds_.find(sub.feed);
    if (feed == feeds_.end() || clients_.count(sub.client_id) == 0) {
      orphans.push_back(id);
    } else {
      feed->second.members.push_back(id);
    }
  }
  for (uint64_t id : orphans) {
    stan_subs_.erase(id);
    ForgetState("s." + std::to_string(id));
  }
  std::vector<uint64_t> empty;
  for (auto& [id, feed] : feeds_) {
    if (feed.members.empty()) {
      empty.push_back(id);
      continue;
    }
    // Listed already, unless its stream went while the server was down.
    auto listed = channels_.find(feed.channel);
    const bool missing = listed == channels_.end();
    Channel& channel =
        missing ? AddChannel(feed.channel, stan::ChannelStreamName(feed.channel)) : listed->second;
    channel.ready = true;
    // Its stream is made again, empty, so that publishes are stored and answered.
    if (missing) CreateChannelStream(feed.channel, /*update=*/false);
    ++channel.feeds;
    if (!feed.group.empty()) {
      groups_[feed.channel + " " + feed.group] = id;
    } else if (!feed.durable_key.empty()) {
      durables_[feed.durable_key] = id;
    }
    const nlohmann::json config = nlohmann::json::parse(feed.config, nullptr, false);
    if (config.is_object()) {
      feed.sent_max_ack_pending = config.value("max_ack_pending", int64_t{0});
      feed.sent_ack_wait_s = config.value("ack_wait", int64_t{0}) / 1'000'000'000;
    }
    // Online again: its consumer pushes what is pending and what comes.
    feed.deliver_sub = std::make_unique<Subscription>();
    feed.deliver_sub->account = auth::kGlobalAccount;
    feed.deliver_sub->sink = this;
    feed.deliver_sub->tag = kDeliver;
    feed.deliver_sub->subject = feed.deliver;
    shard_->AddInternal(feed.deliver_sub.get(), /*announce=*/true);
  }
  // An offline record of a durable that is online again (its forgetting did not reach the
  // store), or of a channel that is gone, is dropped.
  std::vector<std::string> stale;
  for (const auto& [key, offline] : offline_durables_) {
    bool online = false;
    for (const auto& [id, feed] : feeds_)
      online |= !feed.members.empty() && feed.durable_key == key;
    if (online || channels_.count(offline.channel) == 0) stale.push_back(key);
  }
  for (const std::string& key : stale) ForgetOffline(key);
  for (uint64_t id : empty) {
    Feed& feed = feeds_[id];
    feed.ready = true;
    // DropFeed lets go of the channel's count of feeds: count it first.
    if (auto channel = channels_.find(feed.channel); channel != channels_.end()) {
      ++channel->second.feeds;
    }
    DropFeed(feed, /*keep_consumer=*/!feed.durable_key.empty());
  }
  if (!clients_.empty() || !stan_subs_.empty()) {
    LOG_INFO("Streaming: restored %zu clients and %zu subscriptions", clients_.size(),
             stan_subs_.size());
  }
  phase_ = Phase::kServing;  // Turn takes the requests held meanwhile, in order
  PublishDirectory();
  for (StanGate* gate : gates_) {
    gate->shard()->Post([gate] { gate->Resume(); });  // and the gates what they held
  }
}

}  // namespace tern::core
