#include "core/stan/stan_gate.h"

#include "core/shard.h"
#include "core/stan/channel.h"
#include "core/stan/errors.h"
#include "core/stan/protocol.h"
#include "core/stan/pub_ack_reply.h"
#include "core/stan/stan_service.h"
#include "core/strings.h"

namespace tern::core {
namespace {

// A channel's last publish is written for max_inactivity (seconds at the least) at most this
// often, so that shards publishing to one channel do not share a cache line per message.
constexpr int64_t kActivityGrainNs = 10'000'000;
// How long a made channel's publishes wait for its stream's subscription to reach this shard
// (the rings deliver it in microseconds; a stream deleted meanwhile never comes).
constexpr int64_t kInterestWaitNs = 2'000'000'000;

}  // namespace

StanGate::StanGate(Shard* shard, std::shared_ptr<stan::StanDirectory> directory,
                   std::string pub_prefix, Shard* service_shard, StanService* service)
    : shard_(shard),
      directory_(std::move(directory)),
      pub_prefix_(std::move(pub_prefix)),
      service_shard_(service_shard),
      service_(service) {}

StanGate::~StanGate() = default;

void StanGate::Start() {
  sub_ = std::make_unique<Subscription>();
  sub_->account = auth::kGlobalAccount;
  sub_->sink = this;
  sub_->shard_local = true;
  sub_->announce_to_links = shard_->index() == 0;
  sub_->subject = pub_prefix_ + ".>";
  shard_->AddInternal(sub_.get(), false);
}

void StanGate::OnInternalMessage(const Subscription&, const Message& msg) {
  const std::string_view data = msg.payload();
  arrived_.push_back(Span{
      static_cast<uint32_t>(bytes_.size()), static_cast<uint32_t>(msg.reply.size()),
      static_cast<uint32_t>(bytes_.size() + msg.reply.size()), static_cast<uint32_t>(data.size())});
  bytes_.append(msg.reply).append(data);
}

const stan::DirectorySnapshot& StanGate::Directory() {
  if (const uint64_t version = directory_->version(); version != seen_version_) {
    seen_version_ = version;
    snapshot_ = directory_->Load();
  }
  return *snapshot_;
}

void StanGate::Turn(int64_t now_ns) {
  now_ns_ = now_ns;
  // What was held until the service served goes before what came since.
  if (!before_serving_.empty()) Resume();
  if (!confirming_.empty()) CheckConfirming();
  if (arrived_.empty()) return;
  // Handling routes (answers, stores), and what it routes may come back here (a reply under
  // the publish subjects): that waits in arrived_ for the next turn, not in the batch read.
  batch_.swap(arrived_);
  batch_bytes_.swap(bytes_);
  const std::string_view bytes = batch_bytes_;
  for (const Span& in : batch_) {
    Handle(bytes.substr(in.reply_at, in.reply_len), bytes.substr(in.data_at, in.data_len));
  }
  batch_.clear();
  batch_bytes_.clear();
}

void StanGate::Resume() {
  if (!Directory().serving) return;
  std::vector<Held> held;
  held.swap(before_serving_);
  for (const Held& in : held) Handle(in.reply, in.data);
}

void StanGate::Handle(std::string_view reply, std::string_view data, bool wait_for_interest) {
  const stan::DirectorySnapshot& directory = Directory();
  // Before what was held until the service served, nothing goes (Resume takes the held out
  // of before_serving_ before it hands them here).
  if (!directory.serving || !before_serving_.empty()) {
    before_serving_.push_back(Held{std::string(reply), std::string(data)});
    return;
  }
  stan::PubMsg pub;
  if (!stan::Decode(data, &pub)) return Answer(reply, {}, stan::kErrInvalidPubReq);
  if (pub.guid.empty() || !KnownClient(directory, pub)) {
    return Answer(reply, pub.guid, stan::kErrInvalidPubReq);
  }
  // Behind a publish that waits for its channel, so that a channel's messages keep their order.
  if (!waiting_.empty()) {
    if (auto waiting = waiting_.find(AbslView(pub.subject)); waiting != waiting_.end()) {
      waiting->second.push_back(Held{std::string(reply), std::string(data)});
      return;
    }
  }
  stan::GateChannel* found = FindChannel(directory, pub.subject);
  if (found == nullptr) {
    // Only names that pass are made, so a channel found needs no check.
    if (!stan::IsValidChannelName(pub.subject)) {
      return Answer(reply, pub.guid, stan::kErrInvalidPubReq);
    }
    std::string name(pub.subject);
    waiting_[name].push_back(Held{std::string(reply), std::string(data)});
    service_shard_->Post(
        [service = service_, gate = this, name] { service->OpenChannelFor(gate, name); });
    return;
  }
  stan::GateChannel& channel = *found;
  if (!channel.open.load(std::memory_order_acquire)) {
    return Answer(reply, pub.guid, stan::kErrChanDelInProgress);
  }
  // A channel made lately (here or by another shard's publish or a subscription) may not
  // have its stream's subscription on this shard yet: its publishes wait for it.
  if (wait_for_interest && !last_channel_confirmed_) {
    if (!shard_->HasInterest(auth::kGlobalAccount, channel.subject)) {
      std::string name(pub.subject);
      waiting_[name].push_back(Held{std::string(reply), std::string(data)});
      confirming_.try_emplace(name, shard_->now_ns() + kInterestWaitNs);
      return;
    }
    last_channel_confirmed_ = true;
  }
  if (now_ns_ - channel.last_publish_ns.load(std::memory_order_relaxed) > kActivityGrainNs) {
    channel.last_publish_ns.store(now_ns_, std::memory_order_relaxed);
  }
  directory_->counters(shard_->index()).Add(pub.data.size());
  store_reply_.clear();
  if (!reply.empty()) stan::AppendPubAckReply(pub.guid, reply, &store_reply_);
  const Message msg{.subject = channel.subject,
                    .reply = store_reply_,
                    .data = pub.data,
                    .account = auth::kGlobalAccount};
  // No stream took it (deleted behind the service's back): nobody else would answer.
  if (!shard_->Route(msg, nullptr)) Answer(reply, pub.guid, stan::kErrNoStream);
}

bool StanGate::KnownClient(const stan::DirectorySnapshot& directory, const stan::PubMsg& pub) {
  // A client publishes many times in a row: the last one found is compared, not hashed.
  const bool by_conn = !pub.conn_id.empty();
  const std::string_view key = by_conn ? pub.conn_id : pub.client_id;
  if (known_client_version_ == seen_version_ && known_client_by_conn_ == by_conn &&
      known_client_ == key) {
    return true;
  }
  const bool known = by_conn ? directory.conn_ids.contains(AbslView(key))
                             : directory.client_ids.contains(AbslView(key));
  if (known) {
    known_client_.assign(key);
    known_client_by_conn_ = by_conn;
    known_client_version_ = seen_version_;
  }
  return known;
}

stan::GateChannel* StanGate::FindChannel(const stan::DirectorySnapshot& directory,
                                         std::string_view name) {
  if (last_channel_version_ == seen_version_ && last_channel_ != nullptr &&
      last_channel_name_ == name) {
    return last_channel_;
  }
  auto found = directory.channels.find(AbslView(name));
  if (found == directory.channels.end()) return nullptr;
  last_channel_name_.assign(name);
  last_channel_ = found->second.get();  // held by the snapshot of this version
  last_channel_confirmed_ = false;
  last_channel_version_ = seen_version_;
  return last_channel_;
}

void StanGate::OnChannelResolved(const std::string& name, const std::string& error) {
  auto it = waiting_.find(name);
  if (it == waiting_.end()) return;
  if (error.empty()) {
    // The stream's subscription reaches this shard through the rings, which this answer may
    // have overtaken: the publishes wait until this shard sees it.
    confirming_[name] = shard_->now_ns() + kInterestWaitNs;
    return CheckConfirming();
  }
  std::vector<Held> held = std::move(it->second);
  waiting_.erase(it);
  for (const Held& in : held) {
    stan::PubMsg pub;
    stan::Decode(in.data, &pub);  // read once already
    Answer(in.reply, pub.guid, error);
  }
}

void StanGate::CheckConfirming() {
  const int64_t now = shard_->now_ns();
  for (auto it = confirming_.begin(); it != confirming_.end();) {
    const std::string name = it->first;
    const int64_t deadline = it->second;
    const auto& channels = Directory().channels;
    auto found = channels.find(name);
    const bool seen = found != channels.end() &&
                      shard_->HasInterest(auth::kGlobalAccount, found->second->subject);
    if (!seen && found != channels.end() && now < deadline) {
      ++it;
      continue;
    }
    confirming_.erase(it++);
    auto waiting = waiting_.find(name);
    if (waiting == waiting_.end()) continue;
    std::vector<Held> held = std::move(waiting->second);
    waiting_.erase(waiting);
    // Not in the directory (deleted since): each publish asks again, in order. Past the
    // deadline they are routed anyway, and answered that no stream took them.
    for (const Held& in : held) Handle(in.reply, in.data, /*wait_for_interest=*/seen);
  }
}

int64_t StanGate::NextDeadline() const {
  int64_t next = 0;
  for (const auto& [name, deadline] : confirming_) {
    if (next == 0 || deadline < next) next = deadline;
  }
  return next;
}

void StanGate::Answer(std::string_view reply, std::string_view guid, std::string_view error) {
  if (reply.empty()) return;
  ack_.clear();
  stan::Encode(stan::PubAck{.guid = guid, .error = error}, &ack_);
  shard_->Route(Message{.subject = reply, .data = ack_, .account = auth::kGlobalAccount}, nullptr);
}

}  // namespace tern::core
