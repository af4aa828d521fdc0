#include "core/jetstream/js_shard.h"

#include <algorithm>
#include <filesystem>

#include "core/jetstream/advisories.h"
#include "core/jetstream/config_json.h"
#include "core/jetstream/consumer.h"
#include "core/jetstream/headers.h"
#include "core/jetstream/source_checks.h"
#include "core/jetstream/stream.h"
#include "core/log.h"
#include "core/shard.h"
#include "core/subject.h"

namespace tern::core::js {
namespace {

constexpr std::string_view kApiPrefix = "$JS.API.";
constexpr int kDomainApiTag = 1;  // the internal subscription of $JS.<domain>.API.>
constexpr int kSnapshotTag = 2;   // $JS.SNAPSHOT.>: snapshot acks, restore chunks
constexpr std::string_view kSnapshotAckPrefix = "$JS.SNAPSHOT.ACK.";
constexpr std::string_view kRestorePrefix = "$JS.SNAPSHOT.RESTORE.";

// Takes the next token off the front of *s.
std::string_view TakeToken(std::string_view* s) {
  const std::size_t dot = s->find('.');
  const std::string_view token = s->substr(0, dot);
  s->remove_prefix(dot == std::string_view::npos ? s->size() : dot + 1);
  return token;
}

// Splits an API subject (without the prefix) into the operation (e.g. "STREAM.INFO"), the
// stream it names and what follows the stream name (a consumer, a filter, a subject).
// `op` is empty for a subject the API does not know; `stream` for account-level requests.
void ParseApi(std::string_view api, std::string_view* op, std::string_view* stream,
              std::string_view* rest) {
  *op = *stream = *rest = {};
  std::string_view s = api;
  const std::string_view first = TakeToken(&s);
  if (first == "INFO") {
    if (s.empty()) *op = api;
    return;
  }
  const std::string_view second = TakeToken(&s);
  if (first == "STREAM" && (second == "NAMES" || second == "LIST")) {
    if (s.empty()) *op = api;
    return;
  }
  if ((first == "STREAM" && second == "MSG") ||
      (first == "CONSUMER" && (second == "DURABLE" || second == "MSG"))) {
    TakeToken(&s);
  } else if (first != "STREAM" && first != "CONSUMER" && first != "DIRECT") {
    return;
  }
  if (s.empty()) return;
  *op = api.substr(0, static_cast<std::size_t>(s.data() - api.data()) - 1);
  *stream = TakeToken(&s);
  *rest = s;
  if (stream->empty()) *op = {};
}

const char* TypeFor(std::string_view op) {
  if (op == "INFO") return "io.nats.jetstream.api.v1.account_info_response";
  if (op == "STREAM.CREATE") return "io.nats.jetstream.api.v1.stream_create_response";
  if (op == "STREAM.UPDATE") return "io.nats.jetstream.api.v1.stream_update_response";
  if (op == "STREAM.DELETE") return "io.nats.jetstream.api.v1.stream_delete_response";
  if (op == "STREAM.NAMES") return "io.nats.jetstream.api.v1.stream_names_response";
  if (op == "STREAM.LIST") return "io.nats.jetstream.api.v1.stream_list_response";
  if (op == "STREAM.INFO") return "io.nats.jetstream.api.v1.stream_info_response";
  if (op == "STREAM.RESTORE") return "io.nats.jetstream.api.v1.stream_restore_response";
  if (op == "STREAM.SNAPSHOT") return "io.nats.jetstream.api.v1.stream_snapshot_response";
  if (op.substr(0, 8) == "CONSUMER") return "io.nats.jetstream.api.v1.consumer_info_response";
  return "io.nats.jetstream.api.v1.error_response";
}

}  // namespace

JsShard::JsShard(Shard* shard, Registry* registry) : shard_(shard), registry_(registry) {}

bool JsShard::HasInterest(std::string_view subject) const {
  return shard_->HasInterest(account(), subject);
}

JsShard::~JsShard() {
  streams_.clear();  // before syncs_: a stream forgets its sync in flight as it goes
}

void JsShard::Subscribe(const std::string& subject, int tag) {
  auto sub = std::make_unique<Subscription>();
  sub->sink = this;
  sub->tag = tag;
  sub->account = account();
  sub->subject = subject;
  shard_->AddInternal(sub.get(), false);
  api_subs_.push_back(std::move(sub));
}

bool JsShard::Start(std::vector<std::string>* internal_subjects, std::string* error) {
  Subscribe("$JS.API.>", 0);
  internal_subjects->push_back("$JS.API.>");
  Subscribe("$JS.SNAPSHOT.>", kSnapshotTag);
  internal_subjects->push_back("$JS.SNAPSHOT.>");
  // The domain's prefix reaches the same API (nats-server maps $JS.<domain>.API.> onto it
  // in every account with JetStream).
  const std::string& domain = shard_->options().js_domain;
  if (!domain.empty()) {
    const std::string prefixed = "$JS." + domain + ".API.>";
    Subscribe(prefixed, kDomainApiTag);
    internal_subjects->push_back(prefixed);
  }
  if (!registry_->enabled()) return true;
  if (!LoadStreams(error)) return false;
  for (auto& [name, stream] : streams_) stream->Subscribe(false, internal_subjects);
  return true;
}

bool JsShard::LoadStreams(std::string* error) {
  storage::Env* env = storage::Env::Posix();
  const std::string dir = registry_->StreamsDir();
  absl::Status status = env->CreateDirs(dir);
  if (!status.ok()) {
    *error = "cannot create the JetStream store " + dir + ": " + std::string(status.message());
    return false;
  }
  // Restores cut short by a stop leave their staging directory (restore.h): never a stream.
  const std::string account_dir = registry_->store_dir() + "/jetstream/" + registry_->account();
  std::vector<std::string> names;
  (void)env->ListDir(account_dir, &names);
  for (const std::string& name : names) {
    if (name.rfind("restore-", 0) == 0 && registry_->HomeOf(name.substr(8)) == shard_->index()) {
      std::error_code ignored;
      std::filesystem::remove_all(account_dir + "/" + name, ignored);
    }
  }
  names.clear();
  (void)env->ListDir(dir, &names);
  for (const std::string& name : names) {
    if (registry_->HomeOf(name) != shard_->index()) continue;
    std::string problem;
    Stream* stream = OpenStored(name, &problem);
    if (stream == nullptr) {
      LOG_WARN("JetStream: stream '%s' in %s not restored: %s", name.c_str(), dir.c_str(),
               problem.c_str());
      continue;
    }
    const storage::LogState state = stream->log().State();
    LOG_INFO("  Restored stream '%s': %lu messages, %zu consumers", name.c_str(),
             static_cast<unsigned long>(state.msgs), stream->consumer_count());
  }
  return true;
}

Stream* JsShard::OpenStored(const std::string& name, std::string* problem) {
  const std::string dir = registry_->StreamsDir() + "/" + name;
  std::unique_ptr<storage::File> file;
  std::string text;
  if (!storage::Env::Posix()->OpenFile(dir + "/meta.json", false, &file).ok() ||
      !file->ReadAll(&text).ok()) {
    *problem = "no readable meta.json";
    return nullptr;
  }
  nlohmann::json meta = nlohmann::json::parse(text, nullptr, false);
  StreamConfig config;
  if (meta.is_discarded() || !meta.is_object() || !meta.contains("config") ||
      !ParseStreamConfig(meta["config"], &config).ok() || config.name != name) {
    *problem = "unreadable configuration";
    return nullptr;
  }
  ApiError error;
  std::unique_ptr<Stream> stream =
      Stream::Open(this, config, IntOr(meta, "created", 0), false, &error, nullptr);
  if (!stream) {
    *problem = error.description;
    return nullptr;
  }
  StreamEntry entry{name,
                    shard_->index(),
                    config.subjects,
                    config.ToJson(),
                    stream->created_ns(),
                    stream->figures()};
  if (ApiError e = registry_->Add(entry); !e.ok()) {
    *problem = e.description;
    return nullptr;
  }
  stream->LoadConsumers();
  Stream* opened = stream.get();
  streams_[name] = std::move(stream);
  return opened;
}

// ---------------------------------------------------------------- requests

int JsShard::OwnerOf(std::string_view api) const {
  std::string_view op, stream, rest;
  ParseApi(api, &op, &stream, &rest);
  if (stream.empty()) return 0;
  return registry_->HomeOf(stream);
}

void JsShard::OnInternalMessage(const Subscription& sub, const Message& msg) {
  if (sub.tag == kSnapshotTag) {
    // $JS.SNAPSHOT.ACK.<stream>.<token>.<bytes>.<index> or .RESTORE.<stream>.<token>: the
    // stream's home shard takes them.
    std::string_view rest = msg.subject;
    const bool ack = rest.substr(0, kSnapshotAckPrefix.size()) == kSnapshotAckPrefix;
    const bool chunk = rest.substr(0, kRestorePrefix.size()) == kRestorePrefix;
    if (!ack && !chunk) return;
    rest.remove_prefix(ack ? kSnapshotAckPrefix.size() : kRestorePrefix.size());
    const std::string_view stream = TakeToken(&rest);
    if (stream.empty() || registry_->HomeOf(stream) != shard_->index()) return;
    if (ack) {
      const std::string_view token = TakeToken(&rest);
      if (Stream* target = Find(std::string(stream))) target->OnSnapshotAck(token, rest);
      return;
    }
    requests_.push_back(Request{std::string(msg.subject), std::string(msg.reply),
                                std::string(msg.header()), std::string(msg.payload())});
    return;
  }
  std::string subject(msg.subject);
  if (sub.tag == kDomainApiTag) {
    // $JS.<domain>.API.<request> is $JS.API.<request>.
    const std::size_t prefix = 4 + shard_->options().js_domain.size() + 5;
    if (subject.size() <= prefix) return;
    subject = std::string(kApiPrefix) + subject.substr(prefix);
  }
  if (msg.reply.empty() || subject.size() <= kApiPrefix.size()) return;
  const std::string_view api = std::string_view(subject).substr(kApiPrefix.size());
  std::string target;
  if (api.substr(0, 11) == "DIRECT.GET.") {
    // The origin or one of its mirrors answers (mirror_direct), on its own home shard.
    std::string_view rest = api.substr(11);
    const std::string_view stream = TakeToken(&rest);
    const int home = registry_->DirectResponder(stream, &target);
    if (home == Registry::kNoResponder) return;
    if (home == Registry::kNoStream) target.clear();
    if ((home >= 0 ? home : registry_->HomeOf(stream)) != shard_->index()) return;
  } else if (OwnerOf(api) != shard_->index()) {
    return;
  }
  requests_.push_back(Request{std::move(subject), std::string(msg.reply), std::string(msg.header()),
                              std::string(msg.payload()), std::move(target)});
}

void JsShard::Turn(int64_t now_ns) {
  now_ns_ = now_ns;
  busy_ = false;
  if (!requests_.empty()) {
    for (auto& [name, stream] : streams_) stream->ApplyIncomingAcks();
    handling_.swap(requests_);
    for (const Request& r : handling_) {
      if (r.subject.rfind(kRestorePrefix, 0) == 0) {
        RestoreChunk(r);
      } else {
        Handle(r);
      }
    }
    audited_ = nullptr;
    handling_.clear();
  }
  for (auto& [name, stream] : streams_) stream->Turn(now_ns);
  if (!restores_.empty()) ExpireRestores(now_ns);
}

bool JsShard::Busy() const {
  if (busy_ || !requests_.empty()) return true;
  for (const auto& [name, stream] : streams_) {
    if (stream->Busy()) return true;
  }
  return false;
}

int64_t JsShard::NextDeadline() const {
  int64_t next = 0;
  for (const auto& [name, restore] : restores_) {
    const int64_t t = restore->last_chunk_ns() + kRestoreIdleNs + 1;
    if (next == 0 || t < next) next = t;
  }
  for (const auto& [name, stream] : streams_) {
    const int64_t t = stream->NextDeadline();
    if (t != 0 && (next == 0 || t < next)) next = t;
  }
  return next;
}

uint64_t JsShard::StartSync(Stream* stream, int fd) {
  const uint64_t token = next_sync_token_++;
  syncs_[token] = stream;
  shard_->SyncData(*this, fd, token);
  return token;
}

void JsShard::OnCompletion(uint64_t token, int result) {
  auto it = syncs_.find(token);
  if (it == syncs_.end()) return;
  Stream* stream = it->second;
  syncs_.erase(it);
  stream->OnSyncDone(result);
  busy_ = true;  // its acks can go out this turn
}

bool JsShard::Send(std::string_view subject, std::string_view reply, std::string_view header,
                   std::string_view payload, std::string_view display) {
  std::string_view data = payload;
  if (!header.empty()) {
    if (header.data() + header.size() == payload.data() || payload.empty()) {
      data = std::string_view(header.data(), header.size() + payload.size());
    } else {
      scratch_.assign(header);
      scratch_.append(payload);
      data = scratch_;
    }
  }
  return shard_->Route(Message{.subject = subject,
                               .reply = reply,
                               .data = data,
                               .header_len = header.size(),
                               .display = display,
                               .account = account()},
                       nullptr);
}

void JsShard::Reply(std::string_view reply, nlohmann::json body, const char* type,
                    const ApiError& error, bool count_error) {
  if (!body.is_object()) body = nlohmann::json::object();
  body["type"] = type;
  if (!error.ok()) {
    body["error"] = error.ToJson();
    if (count_error) registry_->api_errors.fetch_add(1, std::memory_order_relaxed);
  }
  const std::string text = Dump(body);
  Send(reply, {}, {}, text);
  if (audited_ != nullptr && reply == audited_->reply) AdviseApiAudit(this, *audited_, text);
}

void JsShard::ReplyStatus(std::string_view reply, int status, std::string_view text) {
  Send(reply, {}, StatusBlock(status, text), {});
}

Stream* JsShard::Find(const std::string& name) {
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second.get();
}

void JsShard::Handle(const Request& r) {
  std::string_view op, stream_name, rest;
  ParseApi(std::string_view(r.subject).substr(kApiPrefix.size()), &op, &stream_name, &rest);
  // As nats-server counts them: direct gets and pull requests go to the stream's and the
  // consumer's own responders, not the API; an INFO reports the count before itself.
  // A subject no API serves is not answered (nats-server has no responder there): an
  // account importing `$JS.API.>` and `$KV.>` under one prefix sends KV puts to both.
  if (op.empty()) return;
  const bool counted = op != "DIRECT.GET" && op != "CONSUMER.MSG.NEXT";
  audited_ = counted ? &r : nullptr;  // its JSON reply is audited (advisories.h)
  if (counted && op != "INFO") registry_->api_total.fetch_add(1, std::memory_order_relaxed);
  if (!registry_->enabled()) {
    return Reply(r.reply, {}, TypeFor(op), MakeError(err::kNotEnabledForAccount));
  }
  if (op == "INFO") {
    AccountInfo(r);
    registry_->api_total.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (op == "STREAM.NAMES") return StreamNamesOrList(r, false);
  if (op == "STREAM.LIST") return StreamNamesOrList(r, true);
  const std::string name(stream_name);
  if (op == "STREAM.CREATE") return StreamCreate(r, name);
  if (op == "STREAM.UPDATE") return StreamUpdate(r, name);
  if (op == "STREAM.DELETE") return StreamDelete(r, name);
  if (op == "STREAM.RESTORE") return StreamRestoreRequest(r, name);
  if (op == "DIRECT.GET" && !r.target.empty()) {
    if (Stream* responder = Find(r.target)) responder->ApiDirectGet(r, rest, r.target != name);
    return;
  }
  Stream* stream = Find(name);
  if (stream == nullptr) {
    // These are served by per-stream / per-consumer subscriptions in nats-server: a
    // missing target looks like no responders.
    if (op == "DIRECT.GET" || op == "CONSUMER.MSG.NEXT") return ReplyStatus(r.reply, 503, "");
    return Reply(r.reply, {}, TypeFor(op), MakeError(err::kStreamNotFound));
  }
  stream->HandleApi(r, op, rest);
}

void JsShard::AccountInfo(const Request& r) {
  uint64_t memory = 0, storage = 0, consumers = 0;
  const std::vector<StreamEntry> streams = registry_->List({});
  for (const StreamEntry& e : streams) {
    const uint64_t bytes = e.figures->bytes.load(std::memory_order_relaxed);
    (e.figures->memory.load(std::memory_order_relaxed) ? memory : storage) += bytes;
    consumers += e.figures->consumers.load(std::memory_order_relaxed);
  }
  nlohmann::json body = {{"memory", memory},
                         {"storage", storage},
                         {"streams", streams.size()},
                         {"consumers", consumers},
                         {"limits",
                          {{"max_memory", registry_->limits().max_memory},
                           {"max_storage", registry_->limits().max_file},
                           {"max_streams", registry_->limits().max_streams},
                           {"max_consumers", registry_->limits().max_consumers},
                           {"max_ack_pending", -1},
                           {"memory_max_stream_bytes", -1},
                           {"storage_max_stream_bytes", -1},
                           {"max_bytes_required", false}}},
                         {"api",
                          {{"total", registry_->api_total.load(std::memory_order_relaxed)},
                           {"errors", registry_->api_errors.load(std::memory_order_relaxed)}}}};
  if (!shard_->options().js_domain.empty()) body["domain"] = shard_->options().js_domain;
  Reply(r.reply, std::move(body), TypeFor("INFO"));
}

ApiError JsShard::ParseRequestConfig(const Request& r, const std::string& name,
                                     StreamConfig* config) {
  nlohmann::json body;
  if (r.payload.empty() || !ParseRequestBody(r.payload, &body)) {
    return MakeError(err::kInvalidJson);
  }
  if (!body.contains("name") || body["name"].is_null()) body["name"] = name;
  if (ApiError error = ParseStreamConfig(body, config); !error.ok()) return error;
  if (config->name != name) return MakeError(err::kStreamNameMismatch);
  return CheckOrigins(*registry_, config);
}

ApiError JsShard::CreateStream(const StreamConfig& config, bool announce,
                               std::vector<std::string>* internal_subjects, Stream** created) {
  const int64_t now = WallNowNs();
  auto figures = std::make_shared<StreamFigures>();
  StreamEntry entry{config.name, shard_->index(), config.subjects, config.ToJson(), now, figures};
  if (ApiError error = registry_->Add(entry); !error.ok()) return error;
  ApiError error;
  std::unique_ptr<Stream> stream = Stream::Open(this, config, now, true, &error, figures);
  if (!stream) {
    registry_->Remove(config.name);
    return error;
  }
  stream->Subscribe(announce, internal_subjects);
  *created = stream.get();
  streams_[config.name] = std::move(stream);
  return {};
}

void JsShard::StreamCreate(const Request& r, const std::string& name) {
  const char* type = TypeFor("STREAM.CREATE");
  StreamConfig config;
  if (ApiError error = ParseRequestConfig(r, name, &config); !error.ok()) {
    return Reply(r.reply, {}, type, error);
  }
  if (Stream* existing = Find(name)) {
    if (existing->config().ToJson() == config.ToJson()) {
      return Reply(r.reply, existing->Info({}), type);
    }
    return Reply(r.reply, {}, type, MakeError(err::kStreamNameExists));
  }
  if (config.sealed) {
    return Reply(
        r.reply, {}, type,
        MakeError(err::kStreamInvalidConfig, "stream configuration for create can not be sealed"));
  }
  Stream* stream = nullptr;
  if (ApiError error = CreateStream(config, true, nullptr, &stream); !error.ok()) {
    return Reply(r.reply, {}, type, error);
  }
  nlohmann::json info = stream->Info({});
  info.erase("mirror");  // nats-server's create response has neither
  info.erase("sources");
  info["did_create"] = true;
  AdviseStreamAction(this, name, "create");
  Reply(r.reply, std::move(info), type);
}

void JsShard::StreamUpdate(const Request& r, const std::string& name) {
  const char* type = TypeFor("STREAM.UPDATE");
  Stream* stream = Find(name);
  if (stream == nullptr) return Reply(r.reply, {}, type, MakeError(err::kStreamNotFound));
  StreamConfig config;
  if (ApiError error = ParseRequestConfig(r, name, &config); !error.ok()) {
    return Reply(r.reply, {}, type, error);
  }
  if (ApiError error = CheckStreamUpdate(stream->config(), config); !error.ok()) {
    return Reply(r.reply, {}, type, error);
  }
  if (ApiError error = registry_->Update(name, config.subjects, config.ToJson()); !error.ok()) {
    return Reply(r.reply, {}, type, error);
  }
  if (ApiError error = stream->Update(config); !error.ok()) {
    registry_->Update(name, stream->config().subjects, stream->config().ToJson());
    return Reply(r.reply, {}, type, error);
  }
  MarkBusy();
  AdviseStreamAction(this, name, "modify");
  Reply(r.reply, stream->Info({}), type);
}

void JsShard::StreamDelete(const Request& r, const std::string& name) {
  const char* type = TypeFor("STREAM.DELETE");
  auto it = streams_.find(name);
  if (it == streams_.end()) {
    return Reply(r.reply, {{"success", false}}, type, MakeError(err::kStreamNotFound));
  }
  it->second->Destroy();
  streams_.erase(it);
  registry_->Remove(name);
  AdviseStreamAction(this, name, "delete");
  Reply(r.reply, {{"success", true}}, type);
}

void JsShard::StreamNamesOrList(const Request& r, bool list) {
  const char* type = TypeFor(list ? "STREAM.LIST" : "STREAM.NAMES");
  nlohmann::json body;
  if (!ParseRequestBody(r.payload, &body))
    return Reply(r.reply, {}, type, MakeError(err::kInvalidJson));
  int64_t offset = 0;
  std::string subject;
  if (body.contains("offset") && !body["offset"].is_null()) {
    if (!body["offset"].is_number_integer() || body["offset"].get<int64_t>() < 0)
      return Reply(r.reply, {}, type, MakeError(err::kInvalidJson));
    offset = body["offset"].get<int64_t>();
  }
  if (body.contains("subject") && !body["subject"].is_null()) {
    if (!body["subject"].is_string()) return Reply(r.reply, {}, type, MakeError(err::kInvalidJson));
    subject = body["subject"].get<std::string>();
    if (!subject.empty() && !IsValidSubject(subject))
      return Reply(r.reply, {}, type, MakeError(err::kBadRequest));
  }
  const std::vector<StreamEntry> streams = registry_->List(subject);
  const int64_t limit = list ? 256 : 1024;
  nlohmann::json items = nlohmann::json::array();
  for (int64_t i = offset;
       i < static_cast<int64_t>(streams.size()) && static_cast<int64_t>(items.size()) < limit;
       ++i) {
    const StreamEntry& e = streams[i];
    if (!list) {
      items.push_back(e.name);
      continue;
    }
    const StreamFigures& f = *e.figures;
    auto time = [](int64_t ns) {
      return ns == 0 ? std::string("0001-01-01T00:00:00Z") : FormatTime(ns);
    };
    nlohmann::json state = {{"messages", f.msgs.load()},
                            {"bytes", f.bytes.load()},
                            {"first_seq", f.first_seq.load()},
                            {"first_ts", time(f.first_ts.load())},
                            {"last_seq", f.last_seq.load()},
                            {"last_ts", time(f.last_ts.load())},
                            {"consumer_count", f.visible_consumers.load()}};
    if (f.num_subjects.load() != 0) state["num_subjects"] = f.num_subjects.load();
    if (f.num_deleted.load() != 0) state["num_deleted"] = f.num_deleted.load();
    items.push_back(
        {{"config", e.config}, {"created", FormatTime(e.created_ns)}, {"state", state}});
  }
  nlohmann::json out = {{"total", streams.size()}, {"offset", offset}, {"limit", limit}};
  out["streams"] = items.empty() && !list ? nlohmann::json() : std::move(items);
  Reply(r.reply, std::move(out), type);
}

}  // namespace tern::core::js

namespace tern::core::js {

std::vector<nlohmann::json> JsShard::MonitorStreams(bool with_config, bool with_consumers) const {
  std::vector<const Stream*> sorted;
  for (const auto& [name, stream] : streams_) sorted.push_back(stream.get());
  std::sort(sorted.begin(), sorted.end(),
            [](const Stream* a, const Stream* b) { return a->name() < b->name(); });
  std::vector<nlohmann::json> out;
  for (const Stream* stream : sorted)
    out.push_back(stream->MonitorDetail(with_config, with_consumers));
  return out;
}

}  // namespace tern::core::js
