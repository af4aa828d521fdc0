#include "core/jetstream/consumer.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "core/jetstream/advisories.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/jetstream/stream.h"
#include "core/log.h"
#include "core/shard.h"
#include "core/subject.h"
#include "core/units.h"

namespace tern::core::js {
namespace {

constexpr int64_t kSaveIntervalNs = 100'000'000;
constexpr int kMaxPushPerTurn = 1024;
constexpr uint64_t kFlowControlWindow = 4u << 20;

void AppendNumber(std::string* out, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out->append(digits, end);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Consumer::Consumer(Stream* stream, std::string name, ConsumerConfig config, int64_t created_ns)
    : stream_(stream), name_(std::move(name)), config_(std::move(config)), created_ns_(created_ns) {
  last_active_ = stream_->js()->now_ns();
  last_delivery_ = last_active_;
  SetRateLimit();
}

void Consumer::set_config(const ConsumerConfig& config) {
  config_ = config;
  dirty_ = true;
  SetRateLimit();
}

void Consumer::SetRateLimit() {
  uint64_t bps = 0;
  if (auto rate = config_.kept.find("rate_limit_bps");
      rate != config_.kept.end() && rate->is_number_unsigned()) {
    bps = rate->get<uint64_t>();
  }
  const int64_t stream_max = stream_->config().max_msg_size;
  const uint64_t burst = stream_max > 0
                             ? static_cast<uint64_t>(stream_max)
                             : static_cast<uint64_t>(stream_->js()->shard()->options().max_payload);
  rate_limit_ = RateLimit(bps, burst, stream_->js()->now_ns());
  rate_wait_until_ = 0;
}

void Consumer::Start() {
  storage::StreamLog& log = stream_->log();
  const storage::LogState state = log.State();
  const std::vector<std::string> filters = config_.Filters();
  switch (config_.deliver_policy) {
    case DeliverPolicy::kAll:
      next_seq_ = state.first_seq;
      break;
    case DeliverPolicy::kNew:
      next_seq_ = state.last_seq + 1;
      break;
    case DeliverPolicy::kByStartSequence:
      next_seq_ = config_.opt_start_seq;
      break;
    case DeliverPolicy::kByStartTime:
      next_seq_ = log.SeqAtTime(config_.opt_start_time_ns);
      break;
    case DeliverPolicy::kLast: {
      next_seq_ = state.last_seq == 0 ? 1 : state.last_seq;
      if (!filters.empty()) {
        uint64_t last = 0;
        for (const std::string& filter : filters) {
          log.ForEachSubject(filter, [&](std::string_view subject, uint64_t) {
            storage::StoredMessage msg;
            if (log.ReadLastBySubject(subject, &msg)) last = std::max(last, msg.seq);
          });
        }
        next_seq_ = last == 0 ? state.last_seq + 1 : last;
      }
      break;
    }
    case DeliverPolicy::kLastPerSubject: {
      for (const std::string& filter : filters.empty() ? std::vector<std::string>{">"} : filters) {
        log.ForEachSubject(filter, [&](std::string_view subject, uint64_t) {
          storage::StoredMessage msg;
          if (log.ReadLastBySubject(subject, &msg)) last_per_subject_.push_back(msg.seq);
        });
      }
      std::sort(last_per_subject_.begin(), last_per_subject_.end());
      next_seq_ = state.last_seq + 1;
      break;
    }
  }
  if (next_seq_ == 0) next_seq_ = 1;
  const uint64_t first = last_per_subject_.empty() ? next_seq_ : last_per_subject_.front();
  delivered_stream_ = first - 1;
  dirty_ = true;
  state_dirty_ = true;
}

std::string Consumer::StateDir() const { return stream_->dir() + "/obs/" + name_; }

bool Consumer::SaveMeta(std::string* error) {
  if (!config_.durable() || stream_->config().storage == StorageKind::kMemory) return true;
  storage::Env* env = storage::Env::Posix();
  absl::Status status = env->CreateDirs(StateDir());
  if (status.ok()) {
    status = env->WriteFileAtomically(StateDir() + "/meta.json", Dump(MetaJson()));
  }
  if (!status.ok()) *error = std::string(status.message());
  return status.ok();
}

nlohmann::json Consumer::MetaJson() const {
  return {{"name", name_}, {"config", config_.ToJson()}, {"created", created_ns_}};
}

nlohmann::json Consumer::StateJson() const {
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& [seq, p] : pending_) pending.push_back({seq, p.consumer_seq, p.deliveries});
  nlohmann::json lps(
      std::vector<uint64_t>(last_per_subject_.begin() + lps_at_, last_per_subject_.end()));
  return {{"next_seq", next_seq_},
          {"delivered_stream", delivered_stream_},
          {"delivered_consumer", delivered_consumer_},
          {"redelivered", redelivered_count_},
          {"last_per_subject", lps},
          {"pending", pending}};
}

void Consumer::SaveState() {
  if (!state_dirty_ || !config_.durable() || stream_->config().storage == StorageKind::kMemory)
    return;
  const nlohmann::json state = StateJson();
  // Not synced: it survives a crash of the process (the page cache keeps it); after a
  // machine crash an older state means redelivery, which at-least-once allows. A sync
  // here would stall the shard for every durable consumer every 100 ms.
  absl::Status status =
      storage::Env::Posix()->WriteFileReplacing(StateDir() + "/state.json", Dump(state), false);
  if (!status.ok()) {
    LOG_ERROR("JetStream consumer '%s > %s': cannot save state: %s", stream_->name().c_str(),
              name_.c_str(), std::string(status.message()).c_str());
    return;
  }
  state_dirty_ = false;
  last_saved_ = stream_->js()->now_ns();
}

bool Consumer::Restore() {
  std::unique_ptr<storage::File> file;
  std::string text;
  if (!storage::Env::Posix()->OpenFile(StateDir() + "/state.json", false, &file).ok() ||
      !file->ReadAll(&text).ok()) {
    return false;
  }
  nlohmann::json state = nlohmann::json::parse(text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return false;
  try {
    RestoreFrom(state);
  } catch (const nlohmann::json::exception& e) {
    LOG_WARN("JetStream consumer '%s > %s': unreadable state (%s); starting over",
             stream_->name().c_str(), name_.c_str(), e.what());
    pending_.clear();
    last_per_subject_.clear();
    return false;
  }
  dirty_ = true;
  return true;
}

void Consumer::RestoreFrom(const nlohmann::json& state) {
  next_seq_ = state.value("next_seq", uint64_t{1});
  delivered_stream_ = state.value("delivered_stream", uint64_t{0});
  delivered_consumer_ = state.value("delivered_consumer", uint64_t{0});
  redelivered_count_ = state.value("redelivered", uint64_t{0});
  last_per_subject_ = state.value("last_per_subject", std::vector<uint64_t>{});
  const int64_t now = stream_->js()->now_ns();
  for (const auto& entry : state.value("pending", nlohmann::json::array())) {
    if (!entry.is_array() || entry.size() != 3) continue;
    // Unacknowledged at shutdown: due for redelivery after a fresh ack wait.
    pending_[entry[0].get<uint64_t>()] =
        Pending{entry[1].get<uint64_t>(), entry[2].get<uint32_t>(), now + config_.ack_wait_ns,
                entry[1].get<uint64_t>(), now};
    if (entry[2].get<uint32_t>() > 1) redelivered_seqs_.insert(entry[0].get<uint64_t>());
  }
  if (!pending_.empty()) earliest_deadline_ = now + config_.ack_wait_ns;
}

nlohmann::json Consumer::Info() const {
  const uint64_t floor_stream = pending_.empty() ? delivered_stream_ : pending_.begin()->first - 1;
  const uint64_t floor_consumer =
      pending_.empty() ? delivered_consumer_ : pending_.begin()->second.first_consumer_seq - 1;
  nlohmann::json delivered = {{"consumer_seq", delivered_consumer_},
                              {"stream_seq", delivered_stream_}};
  if (last_delivery_wall_ns_ != 0) delivered["last_active"] = FormatTime(last_delivery_wall_ns_);
  nlohmann::json ack_floor = {{"consumer_seq", floor_consumer}, {"stream_seq", floor_stream}};
  if (last_ack_wall_ns_ != 0) ack_floor["last_active"] = FormatTime(last_ack_wall_ns_);
  nlohmann::json info = {
      {"stream_name", stream_->name()},     {"name", name_},
      {"created", FormatTime(created_ns_)}, {"config", config_.ToJson()},
      {"delivered", std::move(delivered)},  {"ack_floor", std::move(ack_floor)},
      {"num_ack_pending", pending_.size()}, {"num_redelivered", redelivered_seqs_.size()},
      {"num_waiting", waiting_.size()},     {"num_pending", NumPending()}};
  if (!config_.is_pull() && stream_->js()->HasInterest(config_.deliver_subject)) {
    info["push_bound"] = true;
  }
  return info;
}

uint64_t Consumer::NumPending() const {
  uint64_t n = last_per_subject_.size() - lps_at_;
  if (config_.filter_subjects.empty()) {
    const std::string& filter = config_.filter_subject;
    return n + stream_->log().NumPending(next_seq_, filter.empty() ? ">" : filter);
  }
  // Filters never overlap (validated): their counts add up.
  for (const std::string& filter : config_.filter_subjects) {
    n += stream_->log().NumPending(next_seq_, filter);
  }
  return n;
}

// ---------------------------------------------------------------- acks

int64_t Consumer::AckWaitFor(uint32_t deliveries) const {
  if (!config_.backoff_ns.empty()) {
    const std::size_t i = std::min<std::size_t>(deliveries - 1, config_.backoff_ns.size() - 1);
    return config_.backoff_ns[i];
  }
  return config_.ack_wait_ns;
}

void Consumer::Acked(uint64_t seq) {
  if (pending_.erase(seq) == 0) return;
  redeliver_.erase(seq);
  redelivered_seqs_.erase(seq);
  state_dirty_ = true;
  dirty_ = true;  // max_ack_pending may have room again
  stream_->MaybeRemoveAcked(seq);
}

void Consumer::OnAck(uint64_t seq, std::string_view reply, std::string_view payload) {
  const int64_t now = stream_->js()->now_ns();
  last_active_ = now;
  payload = Trim(payload);
  bool respond = !reply.empty();
  if (config_.ack_policy == AckPolicy::kNone) {
    // Nothing is tracked; still answer a synchronous ack.
  } else if (payload.empty() || payload == "+ACK" || payload == "+OK" ||
             payload.substr(0, 5) == "+TERM") {
    if (auto it = pending_.find(seq); it != pending_.end()) {
      last_ack_wall_ns_ = WallNowNs();
      const DeliveryEvent event = EventFor(seq, it->second);
      if (payload.substr(0, 5) == "+TERM") {
        AdviseTerminated(stream_->js(), event);
      } else if (ShouldSample(config_.sample_percent)) {
        PublishAckMetric(stream_->js(), event, now - it->second.delivered_at);
      }
    }
    if (config_.ack_policy == AckPolicy::kAll) {
      while (!pending_.empty() && pending_.begin()->first <= seq) Acked(pending_.begin()->first);
    } else {
      Acked(seq);
    }
  } else if (payload.substr(0, 4) == "-NAK") {
    auto it = pending_.find(seq);
    if (it != pending_.end()) {
      AdviseNak(stream_->js(), EventFor(seq, it->second));
      int64_t delay = 0;
      std::string_view rest = Trim(payload.substr(4));
      if (!rest.empty() && rest.front() == '{') {
        nlohmann::json body = ParseClientJson(rest);
        if (body.is_object() && body.contains("delay") && body["delay"].is_number_integer())
          delay = body["delay"].get<int64_t>();
      } else if (!rest.empty()) {
        ParseDuration(std::string(rest), &delay);
      }
      delay = std::min(delay, int64_t{100} * 365 * 24 * 3600 * 1'000'000'000);  // no overflow
      if (delay <= 0) {
        redeliver_.insert(seq);
      } else {
        it->second.deadline = now + delay;
        if (earliest_deadline_ == 0 || it->second.deadline < earliest_deadline_)
          earliest_deadline_ = it->second.deadline;
      }
      dirty_ = true;
    }
  } else if (payload == "+WPI") {
    auto it = pending_.find(seq);
    if (it != pending_.end()) {
      it->second.deadline = now + AckWaitFor(it->second.deliveries);
      it->second.delivered_at = now;  // ack times count from the last progress
    }
  } else if (payload.substr(0, 4) == "+NXT") {
    if (auto it = pending_.find(seq);
        it != pending_.end() && ShouldSample(config_.sample_percent)) {
      PublishAckMetric(stream_->js(), EventFor(seq, it->second), now - it->second.delivered_at);
    }
    Acked(seq);
    respond = false;
    if (!reply.empty()) OnPullRequest(reply, Trim(payload.substr(4)));
  }
  if (respond) stream_->js()->Send(reply, {}, {}, {});
}

DeliveryEvent Consumer::EventFor(uint64_t stream_seq, const Pending& pending) const {
  return DeliveryEvent{.stream = stream_->name(),
                       .consumer = name_,
                       .stream_seq = stream_seq,
                       .consumer_seq = pending.consumer_seq,
                       .deliveries = pending.deliveries};
}

bool Consumer::DoneWith(uint64_t seq, std::string_view subject) const {
  if (!config_.filter_subject.empty() && !SubjectMatches(config_.filter_subject, subject))
    return true;
  if (!config_.filter_subjects.empty() &&
      std::none_of(config_.filter_subjects.begin(), config_.filter_subjects.end(),
                   [subject](const std::string& f) { return SubjectMatches(f, subject); })) {
    return true;
  }
  if (seq >= next_seq_) return false;
  return pending_.find(seq) == pending_.end();
}

// ---------------------------------------------------------------- pull requests

void Consumer::OnPullRequest(std::string_view reply, std::string_view body) {
  const int64_t now = stream_->js()->now_ns();
  last_active_ = now;
  if (!config_.is_pull()) return SendStatus(reply, 409, "Consumer is push based", -1, -1);
  PullRequest request;
  request.reply.assign(reply);
  request.into_own_stream = StoredByOwnStream(reply);
  body = Trim(body);
  if (!body.empty() && body.front() == '{') {
    nlohmann::json j = ParseClientJson(body);
    if (j.is_discarded() || !j.is_object()) {
      return SendStatus(reply, 400, "Bad Request - invalid JSON", -1, -1);
    }
    int64_t expires = 0;
    // Typed reads: a float or a string where a number belongs is invalid JSON (a float
    // converted unchecked is undefined behaviour).
    if (!ReadInt(j, "batch", &request.batch) || !ReadInt(j, "max_bytes", &request.max_bytes) ||
        !ReadInt(j, "expires", &expires) || !ReadBool(j, "no_wait", &request.no_wait) ||
        !ReadInt(j, "idle_heartbeat", &request.heartbeat_ns)) {
      return SendStatus(reply, 400, "Bad Request - invalid JSON", -1, -1);
    }
    if (request.batch <= 0) request.batch = 1;
    if (expires < 0 || request.max_bytes < 0 || request.heartbeat_ns < 0) {
      return SendStatus(reply, 400, "Bad Request", -1, -1);
    }
    // Durations past a century are a century: deadlines stay far from int64's end.
    constexpr int64_t kLongestNs = int64_t{100} * 365 * 24 * 3600 * 1'000'000'000;
    expires = std::min(expires, kLongestNs);
    request.heartbeat_ns = std::min(request.heartbeat_ns, kLongestNs);
    if (request.heartbeat_ns > 0 && (expires == 0 || request.heartbeat_ns * 2 > expires)) {
      return SendStatus(reply, 400, "Bad Request - heartbeat value too large", -1, -1);
    }
    if (config_.max_expires_ns > 0 && expires > config_.max_expires_ns) {
      return SendStatus(reply, 409,
                        "Exceeded MaxRequestExpires of " +
                            std::to_string(config_.max_expires_ns / 1'000'000) + "ms",
                        -1, -1);
    }
    if (expires > 0) request.expires_at = now + expires;
    if (request.heartbeat_ns > 0) request.next_heartbeat = now + request.heartbeat_ns;
  } else if (!body.empty()) {
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), request.batch);
    if (ec != std::errc() || end != body.data() + body.size() || request.batch <= 0) {
      return SendStatus(reply, 400, "Bad Request", -1, -1);
    }
  }
  if (config_.max_batch > 0 && request.batch > config_.max_batch) {
    return SendStatus(reply, 409,
                      "Exceeded MaxRequestBatch of " + std::to_string(config_.max_batch), -1, -1);
  }
  if (config_.max_bytes > 0 && request.max_bytes > config_.max_bytes) {
    return SendStatus(
        reply, 409, "Exceeded MaxRequestMaxBytes of " + std::to_string(config_.max_bytes), -1, -1);
  }
  if (request.no_wait) {
    const uint64_t available = NumPending() + redeliver_.size();
    if (available == 0 && request.expires_at == 0) {
      return SendStatus(reply, 404, "No Messages", -1, -1);
    }
  }
  if (config_.max_waiting > 0 && static_cast<int64_t>(waiting_.size()) >= config_.max_waiting) {
    return SendStatus(reply, 409, "Exceeded MaxWaiting", -1, -1);
  }
  waiting_.push_back(std::move(request));
  dirty_ = true;
  stream_->js()->MarkBusy();
}

void Consumer::SendStatus(std::string_view to, int status, std::string_view text,
                          int64_t pending_msgs, int64_t pending_bytes) {
  std::string header = StatusBlock(status, text);
  if (pending_msgs >= 0) {
    AddHeader(&header, "Nats-Pending-Messages", std::to_string(pending_msgs));
    AddHeader(&header, "Nats-Pending-Bytes", std::to_string(pending_bytes));
  }
  stream_->js()->Send(to, {}, header, {});
}

void Consumer::SendHeartbeat(std::string_view to) {
  std::string header = StatusBlock(100, "Idle Heartbeat");
  AddHeader(&header, "Nats-Last-Consumer", std::to_string(delivered_consumer_));
  AddHeader(&header, "Nats-Last-Stream", std::to_string(delivered_stream_));
  stream_->js()->Send(to, {}, header, {});
}

void Consumer::ExpireRequests(int64_t now) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->expires_at != 0 && now >= it->expires_at) {
      SendStatus(it->reply, 408, "Request Timeout", it->batch - it->delivered,
                 it->max_bytes == 0 ? 0 : it->max_bytes - it->bytes);
      it = waiting_.erase(it);
      continue;
    }
    if (it->heartbeat_ns > 0 && now >= it->next_heartbeat) {
      SendHeartbeat(it->reply);
      it->next_heartbeat = now + it->heartbeat_ns;
    }
    ++it;
  }
}

// ---------------------------------------------------------------- delivery

bool Consumer::Peek(Candidate* next) {
  storage::StreamLog& log = stream_->log();
  while (!redeliver_.empty()) {
    const uint64_t seq = *redeliver_.begin();
    auto it = pending_.find(seq);
    if (it == pending_.end()) {
      redeliver_.erase(redeliver_.begin());
      continue;
    }
    if (!log.Read(seq, &next->msg)) {  // removed meanwhile: nothing left to ack
      redeliver_.erase(redeliver_.begin());
      pending_.erase(it);
      state_dirty_ = true;
      continue;
    }
    if (config_.max_deliver > 0 && it->second.deliveries >= config_.max_deliver) {
      AdviseMaxDeliveries(stream_->js(), EventFor(seq, it->second));
      redeliver_.erase(redeliver_.begin());
      pending_.erase(it);  // given up on: no more deliveries, no longer pending
      state_dirty_ = true;
      continue;
    }
    next->source = Source::kRedelivery;
    next->deliveries = it->second.deliveries + 1;
    return true;
  }
  if (config_.ack_policy != AckPolicy::kNone && config_.max_ack_pending > 0 &&
      static_cast<int64_t>(pending_.size()) >= config_.max_ack_pending) {
    return false;
  }
  while (lps_at_ < last_per_subject_.size()) {
    if (log.Read(last_per_subject_[lps_at_], &next->msg)) {
      next->source = Source::kLastPerSubject;
      next->deliveries = 1;
      return true;
    }
    ++lps_at_;
  }
  if (config_.filter_subjects.empty()) {
    if (!log.ReadNext(next_seq_, config_.filter_subject, &next->msg)) return false;
  } else {
    // Several filters: the earliest message any of them takes.
    bool found = false;
    storage::StoredMessage candidate;
    for (const std::string& filter : config_.filter_subjects) {
      if (log.ReadNext(next_seq_, filter, &candidate) &&
          (!found || candidate.seq < next->msg.seq)) {
        next->msg = candidate;
        found = true;
      }
    }
    if (!found) return false;
  }
  if (config_.replay_original && !ReplayDue(next->msg.time_ns)) return false;
  next->source = Source::kNew;
  next->deliveries = 1;
  return true;
}

bool Consumer::ReplayDue(int64_t stored_ns) {
  const int64_t now = stream_->js()->now_ns();
  if (replay_base_now_ == 0 || stored_ns < replay_base_stored_) {
    replay_base_now_ = now;  // the first message goes at once; the rest keep their gaps
    replay_base_stored_ = stored_ns;
  }
  const int64_t due = replay_base_now_ + (stored_ns - replay_base_stored_);
  if (now >= due) return true;
  replay_wait_until_ = due;
  return false;
}

std::size_t Consumer::DeliverySize(const Candidate& next) const {
  return next.msg.subject.size() + next.msg.header.size() +
         (config_.headers_only ? 0 : next.msg.payload.size());
}

bool Consumer::StoredByOwnStream(std::string_view subject) const {
  for (const std::string& pattern : stream_->config().subjects) {
    if (SubjectMatches(pattern, subject)) return true;
  }
  return false;
}

void Consumer::Deliver(const Candidate& next, std::string_view to, bool copy) {
  storage::StoredMessage msg = next.msg;
  if (copy) {
    delivery_copy_.assign(msg.subject).append(msg.header).append(msg.payload);
    const std::string_view all = delivery_copy_;
    msg.subject = all.substr(0, msg.subject.size());
    msg.header = all.substr(msg.subject.size(), msg.header.size());
    msg.payload = all.substr(msg.subject.size() + msg.header.size());
  }
  const int64_t now = stream_->js()->now_ns();
  uint64_t consumer_seq;
  if (next.source == Source::kRedelivery) {
    redeliver_.erase(msg.seq);
    Pending& p = pending_[msg.seq];
    p.deliveries = next.deliveries;
    p.deadline = now + AckWaitFor(p.deliveries);
    p.delivered_at = now;
    // Every delivery takes the next consumer sequence, redeliveries too (nats-server's).
    consumer_seq = p.consumer_seq = ++delivered_consumer_;
    ++redelivered_count_;
    redelivered_seqs_.insert(msg.seq);
  } else {
    if (next.source == Source::kLastPerSubject) {
      ++lps_at_;
    } else {
      next_seq_ = msg.seq + 1;
    }
    consumer_seq = ++delivered_consumer_;
    delivered_stream_ = msg.seq;
    if (pending_estimate_ > 0) --pending_estimate_;
    if (config_.ack_policy != AckPolicy::kNone) {
      pending_[msg.seq] = Pending{consumer_seq, 1, now + AckWaitFor(1), consumer_seq, now};
    }
  }
  if (config_.ack_policy != AckPolicy::kNone) {
    const int64_t deadline = now + AckWaitFor(next.deliveries);
    if (earliest_deadline_ == 0 || deadline < earliest_deadline_) earliest_deadline_ = deadline;
  }
  ack_reply_.assign("$JS.ACK.");
  ack_reply_.append(stream_->name());
  ack_reply_.push_back('.');
  ack_reply_.append(name_);
  for (uint64_t field : {uint64_t{next.deliveries}, msg.seq, consumer_seq,
                         static_cast<uint64_t>(msg.time_ns), pending_estimate_}) {
    ack_reply_.push_back('.');
    AppendNumber(&ack_reply_, field);
  }
  if (config_.headers_only) {
    std::string header =
        WithHeader(msg.header, "Nats-Msg-Size", std::to_string(msg.payload.size()));
    stream_->js()->Send(to, ack_reply_, header, {}, msg.subject);
  } else {
    stream_->js()->Send(to, ack_reply_, msg.header, msg.payload, msg.subject);
  }
  fc_bytes_ += DeliverySize(next);
  last_delivery_wall_ns_ = WallNowNs();
  last_delivery_ = now;
  last_active_ = now;
  state_dirty_ = true;
  if (config_.ack_policy == AckPolicy::kNone) stream_->MaybeRemoveAcked(msg.seq);
}

void Consumer::DeliverPull(int64_t now) {
  bool estimated = false;
  while (!waiting_.empty()) {
    PullRequest& request = waiting_.front();
    if (!stream_->js()->HasInterest(request.reply)) {  // the requester went away
      waiting_.pop_front();
      continue;
    }
    if (!estimated) {
      pending_estimate_ = NumPending();
      estimated = true;
    }
    Candidate next;
    bool exhausted = false;
    while (request.delivered < request.batch) {
      if (!Peek(&next)) {
        exhausted = true;
        break;
      }
      const int64_t size = static_cast<int64_t>(DeliverySize(next));
      if (request.max_bytes > 0 && request.bytes + size > request.max_bytes) {
        if (request.delivered == 0) {
          SendStatus(request.reply, 409, "Message Size Exceeds MaxBytes", -1, -1);
        }
        request.delivered = request.batch;  // ends the request
        break;
      }
      Deliver(next, request.reply, request.into_own_stream);
      ++request.delivered;
      request.bytes += size;
      if (request.heartbeat_ns > 0) request.next_heartbeat = now + request.heartbeat_ns;
    }
    if (request.delivered >= request.batch) {
      waiting_.pop_front();
      continue;
    }
    if (exhausted) {
      if (request.no_wait && request.delivered > 0) {
        SendStatus(request.reply, 408, "Request Timeout", request.batch - request.delivered,
                   request.max_bytes == 0 ? 0 : request.max_bytes - request.bytes);
        waiting_.pop_front();
      } else if (request.no_wait && request.expires_at == 0) {
        SendStatus(request.reply, 404, "No Messages", -1, -1);
        waiting_.pop_front();
      }
      return;
    }
  }
}

void Consumer::DeliverPush(int64_t now) {
  if (!push_bound_) return;
  pending_estimate_ = NumPending();
  Candidate next;
  for (int sent = 0; sent < kMaxPushPerTurn; ++sent) {
    if (config_.flow_control && fc_outstanding_ && fc_bytes_ >= kFlowControlWindow) return;
    if (!Peek(&next)) return;
    if (rate_limit_.limited()) {
      if (const int64_t wait = rate_limit_.Take(DeliverySize(next), now); wait != 0) {
        rate_wait_until_ = wait;  // Turn comes back then
        return;
      }
    }
    Deliver(next, config_.deliver_subject);
    if (config_.flow_control && !fc_outstanding_ && fc_bytes_ >= kFlowControlWindow / 2) {
      std::string reply = "$JS.FC." + stream_->name() + "." + name_ + "." +
                          std::to_string(delivered_consumer_ % 10000);
      stream_->js()->Send(config_.deliver_subject, reply, StatusBlock(100, "FlowControl Request"),
                          {});
      fc_outstanding_ = true;
      fc_bytes_ = 0;
    }
  }
  dirty_ = true;  // more may be waiting: come back next turn
}

void Consumer::CheckRedeliveries(int64_t now) {
  if (earliest_deadline_ == 0 || now < earliest_deadline_) return;
  earliest_deadline_ = 0;
  for (const auto& [seq, p] : pending_) {
    if (p.deadline <= now) {
      if (redeliver_.insert(seq).second) dirty_ = true;
    } else if (earliest_deadline_ == 0 || p.deadline < earliest_deadline_) {
      earliest_deadline_ = p.deadline;
    }
  }
}

void Consumer::Turn(int64_t now) {
  if (!config_.is_pull()) {
    const bool bound = stream_->js()->HasInterest(config_.deliver_subject);
    if (bound && !push_bound_) dirty_ = true;  // a subscriber arrived: start pushing
    push_bound_ = bound;
    if (bound) last_active_ = now;
  }
  CheckRedeliveries(now);
  if (!waiting_.empty()) ExpireRequests(now);
  if (dirty_) {
    dirty_ = false;
    if (config_.is_pull()) {
      DeliverPull(now);
    } else {
      DeliverPush(now);
    }
  }
  if (!config_.is_pull() && config_.idle_heartbeat_ns > 0 &&
      now - last_delivery_ >= config_.idle_heartbeat_ns) {
    if (stream_->js()->HasInterest(config_.deliver_subject)) {
      SendHeartbeat(config_.deliver_subject);
    }
    last_delivery_ = now;
  }
  if (state_dirty_ && now - last_saved_ >= kSaveIntervalNs) SaveState();

  int64_t next = earliest_deadline_;
  auto take = [&](int64_t t) {
    if (t != 0 && (next == 0 || t < next)) next = t;
  };
  for (const PullRequest& r : waiting_) {
    take(r.expires_at);
    if (r.heartbeat_ns > 0) take(r.next_heartbeat);
  }
  if (!config_.is_pull() && config_.idle_heartbeat_ns > 0)
    take(last_delivery_ + config_.idle_heartbeat_ns);
  if (rate_wait_until_ != 0) {
    if (rate_wait_until_ <= now) {
      rate_wait_until_ = 0;
      dirty_ = true;
    } else {
      take(rate_wait_until_);
    }
  }
  if (replay_wait_until_ != 0) {
    if (replay_wait_until_ <= now) {
      replay_wait_until_ = 0;
      dirty_ = true;  // the next message of an original-pace replay is due
    } else {
      take(replay_wait_until_);
    }
  }
  if (config_.inactive_threshold_ns > 0) take(last_active_ + config_.inactive_threshold_ns + 1);
  if (state_dirty_ && config_.durable()) take(last_saved_ + kSaveIntervalNs);
  next_deadline_ = next;
}

bool Consumer::Expired(int64_t now) const {
  if (config_.inactive_threshold_ns <= 0) return false;
  if (config_.is_pull() ? !waiting_.empty() : push_bound_) return false;
  return now - last_active_ > config_.inactive_threshold_ns;
}

void Consumer::Shutdown(bool deleted) {
  if (deleted) {
    for (const PullRequest& r : waiting_) SendStatus(r.reply, 409, "Consumer Deleted", -1, -1);
    std::error_code ignored;
    std::filesystem::remove_all(StateDir(), ignored);
  } else {
    SaveState();
  }
  waiting_.clear();
}

}  // namespace tern::core::js
