#include "core/jetstream/stream.h"

#include <charconv>
#include <filesystem>

#include "core/clock.h"
#include "core/jetstream/consumer.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/js_shard.h"
#include "core/log.h"
#include "core/shard.h"
#include "core/stan/pub_ack_reply.h"
#include "storage/store_error.h"

namespace tern::core::js {
namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr int64_t kExpiryCheckNs = 100'000'000;
constexpr int64_t kFiguresIntervalNs = 20'000'000;

bool ParseUint(std::string_view text, uint64_t* value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

void AppendNumber(std::string* out, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out->append(digits, end);
}

}  // namespace

Stream::Stream(JsShard* js, StreamConfig config, int64_t created_ns, std::string dir,
               std::shared_ptr<StreamFigures> figures)
    : js_(js),
      config_(std::move(config)),
      created_ns_(created_ns),
      dir_(std::move(dir)),
      figures_(figures ? std::move(figures) : std::make_shared<StreamFigures>()) {
  if (config_.republish) republisher_ = std::make_unique<Republisher>(*config_.republish);
  MakeTransform();
}

void Stream::MakeTransform() {
  transform_.reset();
  if (!config_.subject_transform) return;
  SubjectTransform transform;
  std::string problem;
  const std::string& src = config_.subject_transform->src;
  if (SubjectTransform::Make(src.empty() ? ">" : src, config_.subject_transform->dest, &transform,
                             &problem)) {
    transform_ = std::move(transform);  // validated with the config: only a defect fails here
  }
}

Stream::~Stream() {
  if (sync_in_flight_) js_->CancelSync(sync_token_);
  for (auto& [name, consumer] : consumers_) consumer->SaveState();
  if (log_) (void)log_->Close();
}

storage::StreamLimits Stream::Limits() const {
  storage::StreamLimits limits;
  limits.max_msgs = config_.max_msgs;
  limits.max_bytes = config_.max_bytes;
  limits.max_age_ns = config_.max_age_ns;
  limits.max_msgs_per_subject = config_.max_msgs_per_subject;
  limits.max_msg_size = config_.max_msg_size;
  limits.discard = config_.discard_new ? storage::Discard::kNew : storage::Discard::kOld;
  limits.discard_new_per_subject = config_.discard_new_per_subject;
  return limits;
}

std::unique_ptr<Stream> Stream::Open(JsShard* js, StreamConfig config, int64_t created_ns,
                                     bool create, ApiError* error,
                                     std::shared_ptr<StreamFigures> figures) {
  const std::string dir = js->registry()->StreamsDir() + "/" + config.name;
  const bool memory = config.storage == StorageKind::kMemory;
  std::unique_ptr<Stream> stream(
      new Stream(js, std::move(config), created_ns, dir, std::move(figures)));
  storage::Env* env = storage::Env::Posix();
  if (memory) {
    stream->memory_env_ = storage::NewMemoryEnv();
    env = stream->memory_env_.get();
  }
  if (create && !memory) {
    if (std::filesystem::exists(dir)) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);  // leftovers of a stream deleted mid-way
    }
    if (!stream->WriteMeta(error)) return nullptr;
  }
  storage::LogOptions options;
  options.sync = memory ? storage::SyncPolicy::kNone : storage::SyncPolicy::kAlways;
  storage::RecoveryReport report;
  auto log = storage::StreamLog::Open(env, dir + "/msgs", options, stream->Limits(), &report);
  if (!log.ok()) {
    *error = MakeError(err::kStoreFailed, std::string(log.status().message()));
    return nullptr;
  }
  for (const std::string& problem : report.problems) {
    LOG_WARN("JetStream stream '%s': recovered: %s", stream->name().c_str(), problem.c_str());
  }
  stream->log_ = std::move(log).value();
  if (create && stream->config_.first_seq > 1 && stream->log_->State().last_seq == 0) {
    storage::PurgeRequest purge;  // 2.10's first_seq: the first message gets that sequence
    purge.below = stream->config_.first_seq;
    (void)stream->log_->Purge(purge);
  }
  stream->figures_->memory.store(memory, std::memory_order_relaxed);
  stream->RebuildMsgIds();
  stream->PublishFigures();
  return stream;
}

bool Stream::WriteMeta(ApiError* error) {
  if (config_.storage == StorageKind::kMemory) return true;
  storage::Env* env = storage::Env::Posix();
  absl::Status status = env->CreateDirs(dir_);
  if (status.ok()) {
    nlohmann::json meta = {{"config", config_.ToJson()}, {"created", created_ns_}};
    status = env->WriteFileAtomically(dir_ + "/meta.json", meta.dump());
  }
  if (!status.ok()) {
    *error = MakeError(err::kStoreFailed, std::string(status.message()));
    return false;
  }
  return true;
}

void Stream::Subscribe(bool announce, std::vector<std::string>* subjects) {
  auto add = [&](std::string subject, int tag) {
    auto sub = std::make_unique<Subscription>();
    sub->sink = this;
    sub->tag = tag;
    sub->account = js_->account();
    sub->subject = std::move(subject);
    js_->shard()->AddInternal(sub.get(), announce);
    if (subjects != nullptr) subjects->push_back(sub->subject);
    subs_.push_back(std::move(sub));
  };
  for (const std::string& subject : config_.subjects) add(subject, kSubjectTag);
  add("$JS.ACK." + config_.name + ".>", kAckTag);
  add("$JS.FC." + config_.name + ".>", kFlowControlTag);
  if (links_.empty()) {
    if (config_.mirror) {
      links_.push_back(
          std::make_unique<SourceLink>(this, true, *config_.mirror, log_->State().last_seq));
    }
    for (const StreamSource& source : config_.sources) {
      links_.push_back(std::make_unique<SourceLink>(this, false, source,
                                                    LastSourced(SourceLink::IndexName(source))));
    }
  }
  for (std::size_t i = 0; i < links_.size(); ++i) {
    const int tag = kSourceTag + 2 * static_cast<int>(i);
    add(links_[i]->deliver_subject(), tag);
    add(links_[i]->reply_subject(), tag + 1);
  }
  if (!links_.empty()) js_->MarkBusy();
}

void Stream::Unsubscribe() {
  for (auto& sub : subs_) js_->shard()->RemoveInternal(sub.get());
  subs_.clear();
}

ApiError Stream::Update(const StreamConfig& next) {
  const bool sources_changed = next.kept.value("sources", nlohmann::json()) !=
                               config_.kept.value("sources", nlohmann::json());
  const bool subjects_changed = next.subjects != config_.subjects || sources_changed;
  const StreamConfig previous = config_;
  config_ = next;
  ApiError error;
  if (!WriteMeta(&error)) {
    config_ = previous;
    return error;
  }
  if (subjects_changed) {
    Unsubscribe();
    if (sources_changed) links_.clear();  // followed again, each from its last message
    Subscribe(true, nullptr);
  }
  log_->SetLimits(Limits());
  MakeTransform();
  for (auto& [name, consumer] : consumers_) consumer->Notify();
  PublishFigures();
  return {};
}

void Stream::Destroy() {
  store_failed_ = write_failing_ = false;
  UpdateHealth();
  if (sync_in_flight_) js_->CancelSync(sync_token_);
  sync_in_flight_ = false;
  for (auto& [name, consumer] : consumers_) consumer->Shutdown(true);
  consumers_.clear();
  Unsubscribe();
  links_.clear();
  if (log_) (void)log_->Close();
  log_.reset();
  if (config_.storage == StorageKind::kFile) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

// ---------------------------------------------------------------- publish path

void Stream::OnInternalMessage(const Subscription& sub, const Message& msg) {
  const std::string_view subject = msg.subject;
  switch (sub.tag) {
    case kSubjectTag:
      if (transform_ && (config_.subject_transform->src.empty() ||
                         SubjectMatches(config_.subject_transform->src, subject))) {
        transform_->Apply(subject, &transformed_subject_);  // 2.10's subject_transform
        Message transformed = msg;
        transformed.subject = transformed_subject_;
        Store(transformed);
      } else {
        Store(msg);
      }
      break;
    case kAckTag:
      OnAck(subject, msg.reply, msg.payload());
      break;
    case kFlowControlTag: {
      // $JS.FC.<stream>.<consumer>.<id>
      std::string_view rest = subject.substr(8 + config_.name.size());
      if (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
      const std::string consumer(rest.substr(0, rest.find('.')));
      auto it = consumers_.find(consumer);
      if (it != consumers_.end()) {
        it->second->OnFlowControlReply();
        it->second->Notify();
        js_->MarkBusy();
      }
      break;
    }
    default: {
      const std::size_t index = static_cast<std::size_t>(sub.tag - kSourceTag) / 2;
      if (sub.tag < kSourceTag || index >= links_.size()) break;
      if ((sub.tag - kSourceTag) % 2 == 0) {
        links_[index]->OnDelivery(msg, js_->now_ns());
      } else {
        links_[index]->OnCreateReply(msg.payload(), js_->now_ns());
      }
      break;
    }
  }
}

void Stream::Store(const Message& msg) {
  const std::string_view subject = msg.subject, reply = msg.reply;
  const std::string_view header = msg.header(), payload = msg.payload();
  const bool ack = !reply.empty() && !config_.no_ack;
  if (config_.sealed) {
    if (ack) QueueError(reply, MakeError(err::kStreamSealed));
    return;
  }
  if (header.size() > kMaxHeaderBytes) {
    if (ack) QueueError(reply, MakeError(err::kHeaderTooBig));
    return;
  }
  std::string_view msg_id;
  std::optional<std::string_view> rollup;
  if (!header.empty()) {
    if (auto id = HeaderValue(header, "Nats-Msg-Id"); id && !id->empty()) {
      msg_id = *id;
      auto seen = msg_ids_.find(absl::string_view(msg_id.data(), msg_id.size()));
      if (seen != msg_ids_.end()) {
        if (ack) QueueAck(reply, seen->second, true);
        return;
      }
    }
    if (ApiError error = CheckExpectations(subject, header, msg_id); !error.ok()) {
      if (ack) QueueError(reply, error);
      return;
    }
    rollup = HeaderValue(header, "Nats-Rollup");
    if (rollup) {
      if (!config_.allow_rollup || config_.deny_purge) {
        if (ack) QueueError(reply, MakeError(err::kRollupFailed, "rollup not permitted"));
        return;
      }
      if (*rollup != "sub" && *rollup != "all") {
        if (ack) {
          QueueError(reply, MakeError(err::kRollupFailed,
                                      "rollup value invalid: " + std::string(*rollup)));
        }
        return;
      }
    }
  }
  if (AccountFull(subject.size() + header.size() + payload.size())) {
    if (ack) QueueError(reply, MakeError(err::kAccountResourcesExceeded));
    return;
  }
  const bool republish = republisher_ != nullptr && republisher_->Matches(subject);
  const uint64_t previous = republish ? LastSeqOfSubject(subject) : 0;
  absl::StatusOr<uint64_t> seq = log_->Append(subject, header, payload);
  // A store that cannot write (disk full, I/O error) makes /healthz report the stream until
  // a write succeeds again; refusals by the stream's own limits do not.
  const bool write_failed =
      !seq.ok() && (absl::IsResourceExhausted(seq.status()) || absl::IsInternal(seq.status()));
  if (write_failed != write_failing_) {
    write_failing_ = write_failed;
    UpdateHealth();
  }
  if (!seq.ok()) {
    if (ack) {
      QueueError(reply, storage::StoreErrorOf(seq.status()) == storage::StoreError::kMessageTooLarge
                            ? MakeError(err::kMessageTooBig)
                            : MakeError(err::kStoreFailed, std::string(seq.status().message())));
    }
    return;
  }
  if (!msg_id.empty()) {
    RememberMsgId(msg_id, *seq, WallNowNs());
    last_msg_id_.assign(msg_id);
  }
  if (rollup) {
    storage::PurgeRequest purge;
    if (*rollup == "sub") purge.filter.assign(subject);
    purge.below = *seq;
    (void)log_->Purge(purge);
  }
  if (republish) republisher_->Note(*seq, previous, subject, header, payload);
  if (ack) QueueAck(reply, *seq, false);
  has_new_ = true;
  js_->MarkBusy();
  if (config_.retention == Retention::kInterest && consumers_.empty()) log_->Delete(*seq);
}

bool Stream::AccountFull(std::size_t adding) const {
  const bool memory = figures_->memory.load(std::memory_order_relaxed);
  const int64_t limit = js_->registry()->max_bytes(memory);
  if (limit < 0) return false;
  // Other streams as their figures last said (a few ms old at most), this one exactly.
  const uint64_t others =
      js_->registry()->usage(memory) - figures_->bytes.load(std::memory_order_relaxed);
  return others + log_->bytes() + adding > static_cast<uint64_t>(limit);
}

ApiError Stream::CheckExpectations(std::string_view subject, std::string_view header,
                                   std::string_view msg_id) const {
  if (auto expected = HeaderValue(header, "Nats-Expected-Stream")) {
    if (*expected != config_.name) return MakeError(err::kExpectedStreamMismatch);
  }
  if (auto expected = HeaderValue(header, "Nats-Expected-Last-Sequence")) {
    uint64_t want = 0;
    const uint64_t last = log_->State().last_seq;
    if (!ParseUint(*expected, &want) || want != last) {
      return MakeError(err::kWrongLastSequence, std::to_string(last));
    }
  }
  if (auto expected = HeaderValue(header, "Nats-Expected-Last-Subject-Sequence")) {
    uint64_t want = 0;
    const uint64_t last = LastSeqOfSubject(subject);
    if (!ParseUint(*expected, &want) || want != last) {
      return MakeError(err::kWrongLastSequence, std::to_string(last));
    }
  }
  if (auto expected = HeaderValue(header, "Nats-Expected-Last-Msg-Id")) {
    if (*expected != last_msg_id_) return MakeError(err::kWrongLastMsgId, last_msg_id_);
  }
  return {};
}

uint64_t Stream::LastSeqOfSubject(std::string_view subject) const {
  const storage::SubjectInfo* info = log_->Subject(subject);
  if (info == nullptr || info->count == 0) return 0;
  if (info->last != 0) return info->last;
  storage::StoredMessage msg;
  return log_->ReadLastBySubject(subject, &msg) ? msg.seq : 0;
}

void Stream::RememberMsgId(std::string_view id, uint64_t seq, int64_t time_ns) {
  auto [it, inserted] = msg_ids_.try_emplace(std::string(id), seq);
  if (inserted) msg_id_order_.emplace_back(time_ns, it->first);
}

void Stream::ExpireMsgIds(int64_t wall_ns) {
  while (!msg_id_order_.empty() &&
         msg_id_order_.front().first + config_.duplicate_window_ns <= wall_ns) {
    msg_ids_.erase(msg_id_order_.front().second);
    msg_id_order_.pop_front();
  }
}

void Stream::RebuildMsgIds() {
  const int64_t since = WallNowNs() - config_.duplicate_window_ns;
  storage::StoredMessage msg;
  for (uint64_t seq = log_->SeqAtTime(since); log_->ReadNext(seq, {}, &msg); seq = msg.seq + 1) {
    if (msg.header.empty()) continue;
    if (auto id = HeaderValue(msg.header, "Nats-Msg-Id"); id && !id->empty()) {
      RememberMsgId(*id, msg.seq, msg.time_ns);
      last_msg_id_.assign(*id);
    }
  }
}

void Stream::QueueAck(std::string_view reply, uint64_t seq, bool duplicate) {
  acks_.push_back(PendingAck{static_cast<uint32_t>(ack_arena_.size()),
                             static_cast<uint32_t>(reply.size()), 0, 0, seq, duplicate});
  ack_arena_.append(reply);
  js_->MarkBusy();
}

void Stream::QueueError(std::string_view reply, const ApiError& error) {
  // A STAN store is answered with STAN's PubAck carrying the error's text, to the client.
  std::string text;
  std::string_view client_reply;
  if (stan::PubAckFor(reply, error.description, &client_reply, &text)) {
    reply = client_reply;
  } else {
    text = nlohmann::json{{"error", error.ToJson()}, {"stream", config_.name}, {"seq", 0}}.dump();
  }
  PendingAck pending{static_cast<uint32_t>(ack_arena_.size()),
                     static_cast<uint32_t>(reply.size()),
                     0,
                     static_cast<uint32_t>(text.size()),
                     0,
                     false};
  ack_arena_.append(reply);
  pending.body_at = static_cast<uint32_t>(ack_arena_.size());
  ack_arena_.append(text);
  acks_.push_back(pending);
  js_->MarkBusy();
}

void Stream::ReleaseAcks() {
  // Republished messages go out before their PubAcks, as in nats-server.
  if (republisher_ != nullptr && !republisher_->empty()) {
    republisher_->Release(log_->acked_through(), !log_->failure().ok(), js_, config_.name);
  }
  if (acks_.empty()) return;
  // Sending may route back into this stream (a reply subject it captures), which queues
  // more acks: work on swapped-out buffers.
  std::vector<PendingAck> releasing;
  std::string arena;
  releasing.swap(acks_);
  arena.swap(ack_arena_);
  const bool failed = !log_->failure().ok();
  const uint64_t durable = log_->acked_through();
  std::size_t i = 0;
  for (; i < releasing.size(); ++i) {
    const PendingAck& a = releasing[i];
    const std::string_view reply(arena.data() + a.reply_at, a.reply_len);
    if (a.body_len > 0) {
      js_->Send(reply, {}, {}, std::string_view(arena.data() + a.body_at, a.body_len));
      continue;
    }
    std::string_view stan_client;
    if (failed && a.seq > durable) {
      const ApiError error = MakeError(err::kStoreFailed, std::string(log_->failure().message()));
      if (stan::PubAckFor(reply, error.description, &stan_client, &ack_body_)) {
        js_->Send(stan_client, {}, {}, ack_body_);
        continue;
      }
      nlohmann::json body = {{"error", error.ToJson()}, {"stream", config_.name}, {"seq", 0}};
      js_->Send(reply, {}, {}, body.dump());
      continue;
    }
    if (a.seq > durable) break;
    if (stan::PubAckFor(reply, {}, &stan_client, &ack_body_)) {
      js_->Send(stan_client, {}, {}, ack_body_);
      continue;
    }
    ack_body_.assign("{\"stream\":\"");
    ack_body_.append(config_.name);
    ack_body_.append("\",\"seq\":");
    AppendNumber(&ack_body_, a.seq);
    if (const std::string& domain = js_->shard()->options().js_domain; !domain.empty()) {
      ack_body_.append(",\"domain\":\"").append(domain).push_back('"');
    }
    if (a.duplicate) ack_body_.append(",\"duplicate\":true");
    ack_body_.push_back('}');
    js_->Send(reply, {}, {}, ack_body_);
  }
  // Whatever is not durable yet goes back in front of anything queued meanwhile.
  std::vector<PendingAck> later;
  std::string later_arena;
  later.swap(acks_);
  later_arena.swap(ack_arena_);
  for (; i < releasing.size(); ++i) {
    PendingAck a = releasing[i];
    const uint32_t reply_at = static_cast<uint32_t>(ack_arena_.size());
    ack_arena_.append(arena, a.reply_at, a.reply_len);
    if (a.body_len > 0) {  // an error queued behind a store not durable yet: its text too
      const uint32_t body_at = static_cast<uint32_t>(ack_arena_.size());
      ack_arena_.append(arena, a.body_at, a.body_len);
      a.body_at = body_at;
    }
    a.reply_at = reply_at;
    acks_.push_back(a);
  }
  for (PendingAck a : later) {
    const uint32_t reply_at = static_cast<uint32_t>(ack_arena_.size());
    ack_arena_.append(later_arena, a.reply_at, a.reply_len);
    if (a.body_len > 0) {
      const uint32_t body_at = static_cast<uint32_t>(ack_arena_.size());
      ack_arena_.append(later_arena, a.body_at, a.body_len);
      a.body_at = body_at;
    }
    a.reply_at = reply_at;
    acks_.push_back(a);
  }
}

// ---------------------------------------------------------------- the turn

void Stream::Turn(int64_t now_ns) {
  // Group commit: one fdatasync for everything appended since the last one. With
  // --js_sync ring the reactor runs it while this shard keeps working; otherwise, and
  // for a sync that is more than appended records (tombstones, new segment files), it
  // is done here and now.
  if (!sync_in_flight_ && log_->NeedsSync()) {
    sync_started_ns_ = MonotonicNs();
    if (js_->shard()->options().js_sync_in_ring && log_->PrepareAsyncSync(&sync_job_)) {
      sync_in_flight_ = true;
      sync_token_ = js_->StartSync(this, sync_job_.fd);
    } else {
      const absl::Status status = log_->Sync();
      js_->shard()->stats().RecordSync(MonotonicNs() - sync_started_ns_);
      if (!status.ok()) {
        LOG_ERROR("JetStream stream '%s': %s", config_.name.c_str(),
                  std::string(status.message()).c_str());
        NoteStoreFailure();
      }
    }
  }
  ReleaseAcks();
  ApplyIncomingAcks();
  for (auto& link : links_) link->Turn(now_ns);
  if (!msg_id_order_.empty() || (config_.max_age_ns != 0 && now_ns >= next_expiry_check_)) {
    const int64_t wall = WallNowNs();
    ExpireMsgIds(wall);
    if (config_.max_age_ns != 0 && now_ns >= next_expiry_check_) {
      const uint64_t before = log_->State().msgs;
      log_->ExpireOld();
      if (log_->State().msgs != before) has_new_ = true;  // consumers and figures
      next_expiry_check_ = now_ns + kExpiryCheckNs;
    }
  }
  if (has_new_) {
    for (auto& [name, consumer] : consumers_) consumer->Notify();
    has_new_ = false;
    figures_stale_ = true;
  }
  std::vector<std::string> expired;
  for (auto& [name, consumer] : consumers_) {
    consumer->Turn(now_ns);
    if (consumer->Expired(now_ns)) expired.push_back(name);
  }
  for (const std::string& name : expired) {
    LOG_DEBUG("JetStream consumer '%s > %s' removed after inactivity", config_.name.c_str(),
              name.c_str());
    RemoveConsumer(name, false);
  }
  if (snapshot_ != nullptr) PumpSnapshot(now_ns);
  // Listings read these; a few ms of staleness is fine, a State() per stream per loop
  // turn is not (the API on the home shard reads the log itself).
  if (figures_stale_ && now_ns >= next_figures_ns_) {
    PublishFigures();
    next_figures_ns_ = now_ns + kFiguresIntervalNs;
  }
}

void Stream::OnSyncDone(int result) {
  sync_in_flight_ = false;
  js_->shard()->stats().RecordSync(MonotonicNs() - sync_started_ns_);
  log_->FinishAsyncSync(sync_job_, result);
  if (result != 0) {
    LOG_ERROR("JetStream stream '%s': %s", config_.name.c_str(),
              std::string(log_->failure().message()).c_str());
    NoteStoreFailure();
  }
}

void Stream::NoteStoreFailure() {
  store_failed_ = true;
  UpdateHealth();
}

void Stream::UpdateHealth() {
  const bool unhealthy = store_failed_ || write_failing_;
  if (unhealthy == counted_unhealthy_) return;
  counted_unhealthy_ = unhealthy;
  if (unhealthy) {
    js_->registry()->failed_streams.fetch_add(1);
  } else {
    js_->registry()->failed_streams.fetch_sub(1);
  }
}

bool Stream::Busy() const {
  if (!incoming_acks_.empty() || has_new_) return true;
  if (republisher_ != nullptr && (republisher_->Ready(log_->acked_through()) ||
                                  (!republisher_->empty() && !log_->failure().ok()))) {
    return true;
  }
  // Waiting for a sync in flight is not work: the reactor wakes the shard when it ends.
  if (!sync_in_flight_ && log_->NeedsSync()) return true;
  if (!acks_.empty() && (acks_.front().body_len > 0 || acks_.front().seq <= log_->acked_through() ||
                         !log_->failure().ok())) {
    return true;
  }
  for (const auto& [name, consumer] : consumers_) {
    if (consumer->Busy()) return true;
  }
  for (const auto& link : links_) {
    if (link->Busy()) return true;
  }
  return false;
}

int64_t Stream::NextDeadline() const {
  int64_t next = 0;
  auto take = [&](int64_t t) {
    if (t != 0 && (next == 0 || t < next)) next = t;
  };
  if (config_.max_age_ns != 0 && figures_->msgs.load(std::memory_order_relaxed) > 0)
    take(next_expiry_check_);
  for (const auto& [name, consumer] : consumers_) take(consumer->NextDeadline());
  for (const auto& link : links_) take(link->NextDeadline());
  if (snapshot_ != nullptr && snapshot_->waiting()) take(snapshot_->NextDeadline());
  if (figures_stale_) take(next_figures_ns_);
  return next;
}

void Stream::PublishFigures() {
  figures_stale_ = false;
  const storage::LogState s = log_->State();
  StreamFigures& f = *figures_;
  f.msgs.store(s.msgs, std::memory_order_relaxed);
  const uint64_t before = f.bytes.exchange(s.bytes, std::memory_order_relaxed);
  js_->registry()->AddUsage(f.memory.load(std::memory_order_relaxed),
                            static_cast<int64_t>(s.bytes) - static_cast<int64_t>(before));
  f.first_seq.store(s.last_seq == 0 ? 0 : s.first_seq, std::memory_order_relaxed);
  f.last_seq.store(s.last_seq, std::memory_order_relaxed);
  f.first_ts.store(s.msgs == 0 ? 0 : s.first_time, std::memory_order_relaxed);
  f.last_ts.store(s.last_time, std::memory_order_relaxed);
  f.num_subjects.store(s.num_subjects, std::memory_order_relaxed);
  f.num_deleted.store(s.num_deleted, std::memory_order_relaxed);
  f.consumers.store(consumers_.size(), std::memory_order_relaxed);
  f.visible_consumers.store(visible_consumer_count(), std::memory_order_relaxed);
}

std::size_t Stream::visible_consumer_count() const {
  std::size_t count = 0;
  for (const auto& [name, consumer] : consumers_) count += consumer->config().direct ? 0 : 1;
  return count;
}

void Stream::MaybeRemoveAcked(uint64_t seq) {
  if (config_.retention == Retention::kLimits) return;
  storage::StoredMessage msg;
  if (!log_->Read(seq, &msg)) return;
  if (consumers_.empty() && config_.retention == Retention::kWorkQueue) return;
  for (const auto& [name, consumer] : consumers_) {
    if (!consumer->DoneWith(seq, msg.subject)) return;
  }
  log_->Delete(seq);
  figures_stale_ = true;
}

}  // namespace tern::core::js
