// StanService's subscriptions (docs/STAN.md, "Subscriptions"): each one a push consumer on
// its channel's stream. The subscription's start position becomes the consumer's deliver
// policy, maxInFlight its max_ack_pending, ackWait its ack_wait; JetStream's deliveries are
// turned into MsgProtos and a subscriber's Acks into +ACKs.
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
constexpr std::string_view kErrInvalidUnsubReq = "stan: invalid unsubscribe request";
constexpr std::string_view kErrUnknownChannel = "stan: unknown channel";
constexpr std::string_view kErrInvalidSub = "stan: invalid subscription";
constexpr std::string_view kErrQueuesNotServed = "stan: queue subscriptions are not served yet";
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

uint64_t ParseNumber(std::string_view text) {
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

uint64_t TrailingId(std::string_view subject) {
  return ParseNumber(subject.substr(subject.rfind('.') + 1));
}

}  // namespace

uint64_t StanService::ApiCallFor(ApiCall::Kind kind, uint64_t sub, const std::string& subject,
                                 const std::string& body) {
  const uint64_t token = ++next_token_;
  ApiCall call{kind, {}, {}, {}, now_ns_ + kApiTimeoutNs, sub};
  if (auto it = stan_subs_.find(sub); it != stan_subs_.end()) call.channel = it->second.channel;
  calls_[token] = std::move(call);
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
  if (!request.q_group.empty()) {
    if (!request.durable_name.empty() && request.durable_name.find(':') != std::string_view::npos) {
      return refuse(kErrInvalidDurName);
    }
    return refuse(kErrQueuesNotServed);
  }
  std::string durable_key;
  if (!request.durable_name.empty()) {
    durable_key = client_id + "-" + channel_name + "-" + std::string(request.durable_name);
    if (durables_.count(durable_key) != 0) return refuse(kErrDupDurable);
  }
  std::string_view error;
  Channel* channel = OpenChannel(channel_name, &error);
  if (channel == nullptr) return refuse(error);

  const uint64_t id = ++next_token_;
  StanSub& sub = stan_subs_[id];
  sub.id = id;
  sub.client_id = client_id;
  sub.channel = channel_name;
  sub.inbox = std::string(request.inbox);
  sub.reply = in.reply;
  sub.request = in.data;
  const std::string suffix = options_.cluster_id + "." + run_nonce_ + "." + std::to_string(id);
  sub.deliver = "_STAN.dlv." + suffix;
  sub.ack_inbox = "_STAN.ack." + suffix;
  if (!durable_key.empty()) {
    sub.durable_key = durable_key;
    sub.consumer = stan::DurableConsumerName(durable_key);
    durables_[durable_key] = id;
  }
  if (!channel->ready) return channel->waiting_subs.push_back(id);
  StartSub(sub);
}

void StanService::StartSub(StanSub& sub) {
  stan::SubscriptionRequest request;
  stan::Decode(sub.request, &request);  // checked by OnSubscribe
  const std::string& stream = channels_[sub.channel].stream;
  if (!sub.durable_key.empty()) {
    ApiCallFor(ApiCall::Kind::kConsumerInfo, sub.id,
               "$JS.API.CONSUMER.INFO." + stream + "." + sub.consumer, "");
  } else if (NeedsLastSequence(request)) {
    ApiCallFor(ApiCall::Kind::kStreamInfo, sub.id, "$JS.API.STREAM.INFO." + stream, "");
  } else {
    CreateConsumer(sub, ConsumerConfig(request, 0));
  }
}

void StanService::CreateConsumer(StanSub& sub, nlohmann::json config) {
  stan::SubscriptionRequest request;
  stan::Decode(sub.request, &request);
  config["deliver_subject"] = sub.deliver;
  config["ack_wait"] = static_cast<int64_t>(request.ack_wait_in_secs) * 1'000'000'000;
  config["max_ack_pending"] = request.max_in_flight;
  const std::string& stream = channels_[sub.channel].stream;
  std::string subject = "$JS.API.CONSUMER.CREATE." + stream;
  if (!sub.consumer.empty()) {
    config["durable_name"] = sub.consumer;
    subject = "$JS.API.CONSUMER.DURABLE.CREATE." + stream + "." + sub.consumer;
  }
  if (sub.deliver_sub == nullptr) {
    // Bound from now on: the consumer pushes as soon as its home shard learns of this.
    sub.deliver_sub = std::make_unique<Subscription>();
    sub.deliver_sub->account = auth::kGlobalAccount;
    sub.deliver_sub->sink = this;
    sub.deliver_sub->tag = kDeliver;
    sub.deliver_sub->subject = sub.deliver;
    shard_->AddInternal(sub.deliver_sub.get(), /*announce=*/true);
  }
  const nlohmann::json body = {{"stream_name", stream}, {"config", std::move(config)}};
  ApiCallFor(ApiCall::Kind::kCreateConsumer, sub.id, subject, body.dump());
}

void StanService::FinishSubCall(const ApiCall& call, const std::string& error,
                                const nlohmann::json& answer) {
  if (call.kind == ApiCall::Kind::kDeleteConsumer) return;
  auto it = stan_subs_.find(call.sub);
  if (it == stan_subs_.end()) {
    // Gone while its consumer was being made: an ephemeral one has no one to serve.
    if (call.kind == ApiCall::Kind::kCreateConsumer && error.empty() && answer.contains("config") &&
        !answer["config"].contains("durable_name")) {
      auto channel = channels_.find(call.channel);
      if (channel != channels_.end()) {
        ApiCallFor(ApiCall::Kind::kDeleteConsumer, call.sub,
                   "$JS.API.CONSUMER.DELETE." + channel->second.stream + "." +
                       answer.value("name", std::string()),
                   "");
      }
    }
    return;
  }
  StanSub& sub = it->second;
  stan::SubscriptionRequest request;
  stan::Decode(sub.request, &request);
  switch (call.kind) {
    case ApiCall::Kind::kConsumerInfo: {
      if (!error.empty()) {
        const bool missing = answer.is_object() && answer.contains("error") &&
                             answer["error"].value("err_code", 0) == kConsumerNotFound;
        if (!missing) return AnswerSub(sub, error);
        // A new durable.
        if (NeedsLastSequence(request)) {
          ApiCallFor(ApiCall::Kind::kStreamInfo, sub.id,
                     "$JS.API.STREAM.INFO." + channels_[sub.channel].stream, "");
          return;
        }
        return CreateConsumer(sub, ConsumerConfig(request, 0));
      }
      // A durable resumed: where it stood is kept, the start position is not read, and
      // this request's maxInFlight and ackWait replace the stored ones.
      return CreateConsumer(sub, answer.value("config", nlohmann::json::object()));
    }
    case ApiCall::Kind::kStreamInfo: {
      if (!error.empty()) return AnswerSub(sub, error);
      const uint64_t last = answer["state"].value("last_seq", uint64_t{0});
      return CreateConsumer(sub, ConsumerConfig(request, last));
    }
    case ApiCall::Kind::kCreateConsumer:
      if (!error.empty()) return AnswerSub(sub, error);
      sub.consumer = answer.value("name", sub.consumer);
      return AnswerSub(sub, {});
    default:
      return;
  }
}

void StanService::AnswerSub(StanSub& sub, std::string_view error) {
  std::string out;
  stan::Encode(
      stan::SubscriptionResponse{.ack_inbox = error.empty() ? sub.ack_inbox : "", .error = error},
      &out);
  if (!sub.reply.empty()) Send(sub.reply, {}, out);
  if (!error.empty()) {
    sub.consumer.clear();  // none was made for it
    return DropSub(sub.id, /*keep_durable=*/true);
  }
  sub.answered = true;
  sub.request.clear();
  // What JetStream pushed before the answer went out follows it, in order.
  std::vector<std::pair<std::string, std::string>> early;
  early.swap(sub.early);
  for (const auto& [ack_subject, data] : early) SendMsgProto(sub, ack_subject, data);
}

void StanService::OnDeliver(const Arrived& in) {
  auto it = stan_subs_.find(TrailingId(in.subject));
  if (it == stan_subs_.end() || it->second.deliver != in.subject) return;
  // Only messages: this consumer has no heartbeats or flow control.
  if (in.reply.rfind("$JS.ACK.", 0) != 0) return;
  StanSub& sub = it->second;
  if (!sub.answered) {
    sub.early.emplace_back(in.reply, in.data);
    return;
  }
  SendMsgProto(sub, in.reply, in.data);
}

void StanService::SendMsgProto(StanSub& sub, std::string_view ack_subject, std::string_view data) {
  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>, or
  // with domain and account hash after ACK (and a token more at the end).
  std::vector<std::string_view> tokens;
  for (std::size_t start = 0;;) {
    const std::size_t dot = ack_subject.find('.', start);
    tokens.push_back(ack_subject.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  std::size_t at = 0;
  if (tokens.size() == 9) {
    at = 4;
  } else if (tokens.size() >= 11) {
    at = 6;
  } else {
    return;
  }
  const uint64_t delivered = ParseNumber(tokens[at]);
  const uint64_t sequence = ParseNumber(tokens[at + 1]);
  if (sequence == 0) return;
  stan::MsgProto msg{.sequence = sequence,
                     .subject = sub.channel,
                     .data = data,
                     .timestamp = static_cast<int64_t>(ParseNumber(tokens[at + 3])),
                     .redelivered = delivered > 1,
                     .redelivery_count = delivered > 1 ? static_cast<uint32_t>(delivered - 1) : 0};
  std::string out;
  stan::Encode(msg, &out);
  sub.unacked[sequence] = std::string(ack_subject);
  Send(sub.inbox, {}, out);
}

void StanService::OnAck(const Arrived& in) {
  auto it = stan_subs_.find(TrailingId(in.subject));
  if (it == stan_subs_.end() || it->second.ack_inbox != in.subject) return;
  stan::Ack ack;
  if (!stan::Decode(in.data, &ack)) return;
  // Nothing is sent back for an ack, and one for a sequence not pending is ignored.
  auto pending = it->second.unacked.find(ack.sequence);
  if (pending == it->second.unacked.end()) return;
  Send(pending->second, {}, "+ACK");
  it->second.unacked.erase(pending);
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
      DropSub(found, /*keep_durable=*/close);
    }
  }
  if (in.reply.empty()) return;
  std::string out;
  stan::Encode(stan::SubscriptionResponse{.error = error}, &out);
  Send(in.reply, {}, out);
}

void StanService::DropSub(uint64_t id, bool keep_durable) {
  auto it = stan_subs_.find(id);
  if (it == stan_subs_.end()) return;
  StanSub& sub = it->second;
  // Unbound: the consumer stops pushing (an offline durable keeps its place and its
  // unacknowledged messages for when it comes back).
  if (sub.deliver_sub != nullptr) shard_->RemoveInternal(sub.deliver_sub.get());
  const bool durable = !sub.durable_key.empty();
  if (durable) {
    auto online = durables_.find(sub.durable_key);
    if (online != durables_.end() && online->second == id) durables_.erase(online);
  }
  auto channel = channels_.find(sub.channel);
  if (!sub.consumer.empty() && (!durable || !keep_durable) && channel != channels_.end()) {
    ApiCallFor(ApiCall::Kind::kDeleteConsumer, id,
               "$JS.API.CONSUMER.DELETE." + channel->second.stream + "." + sub.consumer, "");
  }
  stan_subs_.erase(it);
}

}  // namespace tern::core
