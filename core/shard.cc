#include "core/shard.h"

#include "core/system_events.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "core/clock.h"
#include "core/log.h"
#include "io/socket.h"

namespace tern::core {
namespace {

// Counts nested Route calls for the routing-depth check (where checks are on).
struct RouteDepth {
  explicit RouteDepth(int* depth) : depth_(depth) {
    if constexpr (base::kDChecks) ++*depth_;
  }
  ~RouteDepth() {
    if constexpr (base::kDChecks) --*depth_;
  }
  int* depth_;
};

constexpr int64_t kTimerTickNs = 100'000'000;
constexpr int64_t kStopGraceNs = 2'000'000'000;
constexpr int64_t kPoolTrimNs = 1'000'000'000;
// While subscribers congest, how often the shard re-judges them (their drain rate is judged
// over 20 ms; see Client::StillCongesting).
constexpr int64_t kCongestionRecheckNs = 5'000'000;
constexpr uint8_t kMaxQueueHops = 8;

// May this subscriber take a message that came in on a connection of kind `origin`
// (`from`, when it is on this shard)? The per-kind rule (connection.h, MayForward) and no
// echo to a publisher that asked for none. Internal sinks always may.
// nats-server's reply subjects of service imports (`_R_.`): a route passes these to the
// node's hub too, where the requester may be.
bool IsServiceReply(std::string_view subject) { return subject.starts_with("_R_."); }

bool MayReceive(const Subscription& sub, const Message& msg, const Connection* from, bool echo) {
  if (sub.sink != nullptr) return true;
  const ConnectionKind to = sub.conn->kind();
  if (!MayForward(msg.origin, to) && !(msg.origin == ConnectionKind::kRoute &&
                                       to == ConnectionKind::kHub && IsServiceReply(msg.subject))) {
    return false;
  }
  // Never back out on the link it came in on (it may have been handed to another shard).
  if (msg.link != 0 && sub.conn->is_link() && sub.conn->id() == msg.link) return false;
  // Nor to a leafnode link of the cluster it came from (nats-server's cluster-wide no
  // echo): that cluster's nodes have it from each other.
  if (!msg.origin_cluster.empty() && IsLeafKind(to) &&
      msg.origin_cluster == sub.conn->link_cluster()) {
    return false;
  }
  return sub.conn != from || (echo && !sub.no_local);
}

// May this queue member take a message? As MayReceive, and not if its connection is
// closing (the message would be dropped with it).
bool QueueEligible(const Subscription& sub, const Message& msg, const Connection* from, bool echo) {
  if (sub.sink == nullptr && sub.conn->closing()) return false;
  return MayReceive(sub, msg, from, echo);
}

// A message from a link (route, leafnode) serves only the queue groups the sending node
// named in it (none when it named none), as in nats-server.
bool FromLink(const Message& msg) { return msg.origin != ConnectionKind::kClient; }

// Is `name` one of the space-separated queue names a route sent?
bool NamesQueue(std::string_view names, std::string_view name) {
  while (!names.empty()) {
    const std::size_t space = names.find(' ');
    if (names.substr(0, space) == name) return true;
    if (space == std::string_view::npos) break;
    names.remove_prefix(space + 1);
  }
  return false;
}

}  // namespace

Shard::Shard(int index, ServerContext* context)
    : index_(index),
      context_(context),
      settings_(context->settings),
      outboxes_(context->shard_count),
      in_flight_(context->shard_count, 0),
      queue_picks_(context->shard_count),
      acked_(context->shard_count, 0),
      rng_(static_cast<unsigned>(index * 7919 + 17)) {
  // The global account gets the large match cache; other accounts a small one each (its
  // slots are allocated up front: ~30 KB per account per shard), so that hundreds of JWT
  // accounts stay cheap.
  constexpr std::size_t kGlobalCacheSlots = 8192, kAccountCacheSlots = 256;
  const std::size_t accounts = std::max<std::size_t>(1, settings_->options.auth.accounts.size());
  for (std::size_t account = 0; account < accounts; ++account) {
    interests_.push_back(std::make_unique<Interest>(
        context->shard_count, account == 0 ? kGlobalCacheSlots : kAccountCacheSlots));
  }
  system_service_ = static_cast<SystemService*>(AddService(std::make_unique<SystemService>(this)));
  mqtt_wills_ = static_cast<MqttWillService*>(AddService(std::make_unique<MqttWillService>(this)));
}

Shard::~Shard() {
  for (Connection* c : clients_) delete c;
  if (partial_ != nullptr) XBatch::Destroy(partial_);
  for (Outbox& ob : outboxes_) {
    if (ob.filling != nullptr) XBatch::Destroy(ob.filling);
    for (XBatch* b : ob.sealed) XBatch::Destroy(b);
  }
}

bool Shard::Init(io::Backend backend, std::string* note, std::string* error) {
  reactor_ = io::MakeReactor(backend, this, note);
  if (!reactor_) {
    *error = *note;
    return false;
  }
  return true;
}

void Shard::Init(const ReactorFactory& make_reactor) { reactor_ = make_reactor(this); }

void Shard::SetConnectionFactory(uint32_t listener, ConnectionFactory make, bool pinned) {
  if (factories_.size() <= listener) factories_.resize(listener + 1);
  if (pinned_.size() <= listener) pinned_.resize(listener + 1);
  factories_[listener] = std::move(make);
  pinned_[listener] = pinned;
}

void Shard::AdoptConnected(int fd, const ConnectionFactory& make) {
  if (seen_state_ != RunState::kRunning) {
    close(fd);
    return;
  }
  io::ConfigureAccepted(fd);
  const uint64_t id = context_->next_client_id.fetch_add(1) + 1;
  AddConnection(fd, make, id);
}

bool Shard::Listen(int listen_fd, uint32_t listener, std::string* error) {
  if (!reactor_->Listen(listen_fd, listener, error)) return false;
  listening_ = true;
  return true;
}

// ---------------------------------------------------------------- the loop

void Shard::Post(std::function<void()> task) {
  {
    base::MutexLock lock(&posted_mutex_);
    posted_.push_back(std::move(task));
  }
  has_posted_.store(true, std::memory_order_release);
  Wake();
}

void Shard::ApplySettings(std::shared_ptr<const LiveSettings> settings) {
  const bool auth_changed = settings->options.auth_source != settings_->options.auth_source;
  settings_ = std::move(settings);
  if (!auth_changed) return;
  // Reauthorize may close a client or drop its subscriptions: walk a copy of the list.
  const std::vector<Connection*> clients = clients_;
  for (Connection* client : clients) client->Reauthorize();
}

void Shard::SetClusterInfo(std::string fragment, std::string lame_duck_fragment,
                           std::string cluster_name) {
  cluster_name_ = std::move(cluster_name);
  cluster_info_lame_duck_ = std::move(lame_duck_fragment);
  if (fragment == cluster_info_) return;
  cluster_info_ = std::move(fragment);
  for (Connection* c : clients_) c->SendInfoUpdate();
}

void Shard::RunPostedTasks() {
  std::vector<std::function<void()>> tasks;
  {
    base::MutexLock lock(&posted_mutex_);
    tasks.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& task : tasks) task();
}

void Shard::RememberClosed(const Connection& client) {
  // nats-server keeps max_closed_clients (10000) in all; each shard keeps its share.
  const auto keep = static_cast<std::size_t>(
      std::max<int64_t>(1, options().max_closed_clients / context_->shard_count));
  while (closed_.size() >= keep) closed_.pop_front();
  closed_.emplace_back();
  client.Describe(&closed_.back(), false);
  closed_.back().stop_unix_ns = WallClockNs();
  if (closed_.back().reason.empty()) closed_.back().reason = "Client Closed";
  if (client.connected()) PublishClientEvent(closed_.back(), false);
}

void Shard::PublishClientEvent(const ConnInfo& info, bool connect) {
  const auth::AccountId system = settings_->options.auth.accounts.system;
  if (system >= interests_.size()) return;
  const std::string subject = ClientEventSubject(info, connect);
  if (!HasInterest(system, subject)) return;
  const std::string event = ClientEventJson(info, *context_, connect, ++event_seq_);
  Route(Message{.subject = subject, .data = event, .account = system}, nullptr);
}

void Shard::Run() {
  BeginLoop();
  while (Step()) {
  }
  EndLoop();
}

void Shard::BeginLoop() {
  now_ns_ = context_->clock->MonotonicNs();
  next_timer_ns_ = now_ns_ + kTimerTickNs;
  loop_started_ns_ = now_ns_;
  stats().loop_started_ns.store(static_cast<uint64_t>(now_ns_), std::memory_order_relaxed);
}

void Shard::EndLoop() {
  // Give the kernel's last completions (closes) a chance before the shard goes away.
  reactor_->Poll(0);
}

bool Shard::Step(int64_t* slept_for_ns) {
  now_ns_ = context_->clock->MonotonicNs();
  if (sleep_started_ns_ != 0) {
    // Busy time = everything but the reactor's sleep (clock read only around sleeps).
    idle_ns_ += now_ns_ - sleep_started_ns_;
    sleep_started_ns_ = 0;
  }
  if (has_posted_.load(std::memory_order_acquire)) RunPostedTasks();
  // A shard whose subscribers are congested stops taking messages from its peers for a
  // while; their windows fill and they stall their own publishers in turn.
  if (!UpdateCongestion()) DrainRings();
  UpdateStalls();
  RunClientTimers();
  if (accept_resume_ns_ != 0 && now_ns_ >= accept_resume_ns_) {
    accept_resume_ns_ = 0;
    reactor_->ResumeAccept();
  }
  if (now_ns_ >= next_timer_ns_) {
    next_timer_ns_ = now_ns_ + kTimerTickNs;
    sweep_rings_ = true;
    RunTimers();
    stats().busy_ns.store(static_cast<uint64_t>(now_ns_ - loop_started_ns_ - idle_ns_),
                          std::memory_order_relaxed);
  }
  CheckRunState();
  ProcessCloses();
  for (auto& service : services_) service->Turn(now_ns_);
  PushOutboxes();
  FlushClients();
  if (seen_state_ == RunState::kStopping && clients_.empty()) return false;

  // Batches left in an outbox (a full ring, or written after the push): go round again.
  bool backlog = outbox_dirty_.Any();
  int64_t wake_at = next_timer_ns_;
  if (timers_.NextDeadline() != 0) wake_at = std::min(wake_at, timers_.NextDeadline());
  if (accept_resume_ns_ != 0) wake_at = std::min(wake_at, accept_resume_ns_);
  for (const auto& service : services_) {
    backlog |= service->Busy();
    const int64_t deadline = service->NextDeadline();
    if (deadline != 0) wake_at = std::min(wake_at, deadline);
  }
  // Congestion and stalls end with time too: look again at their checkpoints. A congested
  // shard leaves its inbound batches waiting, so they do not keep it awake meanwhile (a
  // send completion wakes it when the subscriber drains).
  const bool congested = !congested_.empty();
  if (congested) wake_at = std::min(wake_at, now_ns_ + kCongestionRecheckNs);
  for (const auto& [client, since] : stalled_) wake_at = std::min(wake_at, since + kStallBudgetNs);
  int64_t timeout = backlog || !dirty_.empty() ? 0 : std::max<int64_t>(1, wake_at - now_ns_);
  ShardMesh& mesh = *context_->mesh;
  if (timeout > 0) {
    // Announce sleep, then look once more: a peer that pushed before seeing the flag
    // is caught here; one that pushes after will see it and ring the doorbell.
    mesh.sleeping(index_).store(true, std::memory_order_seq_cst);
    if ((!congested && InboundPending()) || has_posted_.load(std::memory_order_acquire)) {
      timeout = 0;
    }
    sleep_started_ns_ = context_->clock->MonotonicNs();
  }
  if (slept_for_ns != nullptr) *slept_for_ns = timeout;
  reactor_->Poll(timeout);
  mesh.sleeping(index_).store(false, std::memory_order_relaxed);
  return true;
}

bool Shard::InboundPending() { return undrained_.Any() || context_->mesh->AnyAnnounced(index_); }

// ---------------------------------------------------------------- reactor callbacks

void Shard::OnAcceptError(int err) {
  constexpr int64_t kMinBackoffNs = 10'000'000, kMaxBackoffNs = 1'000'000'000;
  accept_backoff_ns_ =
      accept_backoff_ns_ == 0 ? kMinBackoffNs : std::min(kMaxBackoffNs, accept_backoff_ns_ * 2);
  accept_resume_ns_ = now_ns_ + accept_backoff_ns_;
  LOG_ERROR("Temporary Accept Error(accept: %s), sleeping %ldms", strerror(err),
            static_cast<long>(accept_backoff_ns_ / 1'000'000));
}

void Shard::OnIoError(const char* what, int err) {
  ++io_errors_unlogged_;
  if (io_error_logged_ns_ != 0 && now_ns_ - io_error_logged_ns_ < 1'000'000'000) return;
  io_error_logged_ns_ = now_ns_;
  LOG_ERROR("Shard %d: %s failed: %s (%lu such errors since the last report)", index_, what,
            strerror(err), static_cast<unsigned long>(io_errors_unlogged_));
  io_errors_unlogged_ = 0;
}

void Shard::OnAccept(int fd, uint32_t listener) {
  if (seen_state_ != RunState::kRunning) {
    close(fd);
    return;
  }
  accept_backoff_ns_ = 0;
  io::ConfigureAccepted(fd);
  const uint64_t client_id = context_->next_client_id.fetch_add(1) + 1;
  const bool pinned = listener < pinned_.size() && pinned_[listener];
  const int target = pinned ? index_ : static_cast<int>(accepted_++ % context_->shard_count);
  if (target == index_) {
    AdoptSocket(fd, listener, client_id);
  } else {
    WriteAdopt(OutboxFor(target, sizeof(XAdoptItem)), fd, listener, client_id);
  }
}

void Shard::AdoptSocket(int fd, uint32_t listener, uint64_t client_id) {
  if (listener >= factories_.size() || !factories_[listener]) {
    LOG_ERROR("Shard %d: no connection kind for listener %u", index_, listener);
    close(fd);
    return;
  }
  AddConnection(fd, factories_[listener], client_id);
}

void Shard::AddConnection(int fd, const ConnectionFactory& make, uint64_t client_id) {
  std::string ip;
  int port = 0;
  io::PeerAddress(fd, &ip, &port);
  Connection* client = make(this, client_id, std::move(ip), port);
  // Client connections count against max_connections (and lame duck waits for them);
  // links to other nodes do not, as in nats-server.
  const bool counted = client->kind() == ConnectionKind::kClient;
  const bool over_limit =
      counted && context_->connections.fetch_add(1) >= options().max_connections;
  if (!counted) ++links_;
  client->list_index = clients_.size();
  clients_.push_back(client);
  if (counted) ShardStats::Add(stats().total_connections, 1);
  stats().connections.store(clients_.size() - links_, std::memory_order_relaxed);
  client->Start(reactor_->Adopt(fd, client), over_limit);
}

void Shard::OnData(io::IoConn* conn, const char* data, std::size_t len) {
  static_cast<Connection*>(conn->user)->OnBytes(data, len);
}

void Shard::OnRecvEnd(io::IoConn* conn, int err) {
  static_cast<Connection*>(conn->user)->OnPeerClosed(err);
}

void Shard::OnSendDone(io::IoConn* conn, int result) {
  static_cast<Connection*>(conn->user)->OnSendDone(result);
}

namespace {
constexpr int kServiceTokenShift = 48;
}  // namespace

void Shard::SyncData(const LoopService& service, int fd, uint64_t tag) {
  reactor_->SyncData(fd, (static_cast<uint64_t>(service.service_id()) << kServiceTokenShift) |
                             (tag & ((uint64_t{1} << kServiceTokenShift) - 1)));
}

void Shard::OnSyncDone(uint64_t token, int result) {
  const uint64_t index = token >> kServiceTokenShift;
  if (index < services_.size()) {
    services_[index]->OnCompletion(token & ((uint64_t{1} << kServiceTokenShift) - 1), result);
  }
}

void Shard::OnReleased(io::IoConn* conn) {
  auto* client = static_cast<Connection*>(conn->user);
  const std::size_t i = client->list_index;
  TERN_DCHECK(i < clients_.size() && clients_[i] == client);
  clients_[i] = clients_.back();
  clients_[i]->list_index = i;
  clients_.pop_back();
  timers_.Cancel(client);
  auto dirty = std::find(dirty_.begin(), dirty_.end(), client);
  if (dirty != dirty_.end()) dirty_.erase(dirty);
  auto held = std::find(held_.begin(), held_.end(), client);
  if (held != held_.end()) held_.erase(held);
  auto congested = std::find(congested_.begin(), congested_.end(), client);
  if (congested != congested_.end()) congested_.erase(congested);
  auto stalled = std::find_if(stalled_.begin(), stalled_.end(),
                              [&](const auto& entry) { return entry.first == client; });
  if (stalled != stalled_.end()) stalled_.erase(stalled);
  if (client->kind() == ConnectionKind::kClient) {
    context_->connections.fetch_sub(1);
  } else {
    --links_;
  }
  stats().connections.store(clients_.size() - links_, std::memory_order_relaxed);
  if (client->kind() == ConnectionKind::kClient) RememberClosed(*client);
  delete client;
}

// ---------------------------------------------------------------- routing

bool Shard::Route(const Message& msg, Connection* from) {
  // A sink runs inside a match and must not route (subscription.h); routing nests only
  // once, for the messages account imports queued (ImportRouter::Drain).
  TERN_DCHECK(!in_sink_);
  TERN_DCHECK(route_depth_ < 2);
  RouteDepth depth(&route_depth_);
  const bool echo = from == nullptr || from->echo();
  Interest& interest = *interests_[msg.account];
  const MatchResult& match = interest.Match(msg.subject);
  const uint64_t match_stamp = interest.match_stamp();
  bool delivered = false;
  bool stall = false;
  for (Subscription* sub : match.plain) {
    if (!MayReceive(*sub, msg, from, echo)) continue;
    delivered = true;
    if (sub->conn != nullptr && sub->conn->is_link()) {
      AddLinkTarget(sub->conn, {});
      continue;
    }
    stall |= DeliverLocal(msg, sub);
  }
  bool picked_remote = false;
  for (const QueueMatch& group : match.queues) {
    if (FromLink(msg) && !NamesQueue(msg.route_queues, group.name)) continue;
    // Exactly one member of each group, chosen uniformly over all shards' live members (a
    // route's member weighing as many members as the other node has); members behind
    // leafnode links only when there is no other.
    bool fallback = false;
    uint32_t local = EligibleWeight(group, msg, from, echo, false);
    uint32_t total = local + group.remote_total;
    if (total == 0) {
      fallback = true;
      local = EligibleWeight(group, msg, from, echo, true);
      total = local + group.remote_fallback_total;
    }
    if (total == 0) {
      if (Subscription* next = SecondHopMember(group, msg)) {
        AddLinkTarget(next->conn, group.name);
        delivered = true;
      }
      continue;
    }
    const uint32_t pick = static_cast<uint32_t>(rng_() % total);
    delivered = true;
    if (pick < local) {
      stall |= DeliverToMember(msg, group, PickLocal(group, msg, from, echo, fallback, pick));
      continue;
    }
    const int shard =
        PickRemoteMember(fallback ? group.remote_fallback : group.remote, pick - local);
    if (!picked_remote) {
      for (auto& picks : queue_picks_) picks.clear();
      picked_remote = true;
    }
    queue_picks_[shard].push_back(group.name);
  }
  stall |= DeliverToLinks(msg);
  if (match.remote_plain.Any() || picked_remote) {
    for (int shard = 0; shard < context_->shard_count; ++shard) {
      const bool plain = match.remote_plain.Test(shard);
      const auto* picks = picked_remote ? &queue_picks_[shard] : nullptr;
      const uint16_t queue_count = picks ? static_cast<uint16_t>(picks->size()) : 0;
      if (!plain && queue_count == 0) continue;
      const std::string_view* queues = queue_count ? picks->data() : nullptr;
      const uint32_t size = PublishItemSize(msg, queues, queue_count);
      WritePublish(OutboxFor(shard, size), msg, plain, queues, queue_count);
      delivered = true;
      stall |= WindowFull(shard);
    }
  }
  // Deliveries must leave the match alone: no interest change, no nested Match.
  TERN_DCHECK(interest.match_stamp() == match_stamp);
  if (stall && from != nullptr) from->Stall();
  if (!delivered && !msg.reply.empty() && from != nullptr && from->no_responders()) {
    if (Subscription* own = interest.FindLocalFor(from, msg.reply)) {
      from->SendNoResponders(own->sid, msg.reply);
    }
  }
  FinishAutoUnsubscribes();
  if (imports_ != nullptr && imports_->HasPending() && !draining_imports_) {
    draining_imports_ = true;
    imports_->Drain(from);
    draining_imports_ = false;
  }
  return delivered;
}

void Shard::NoRespondersFor(Connection* from, std::string_view reply) {
  if (from == nullptr || !from->no_responders() || from->closing()) return;
  if (Subscription* own = interests_[from->account()]->FindLocalFor(from, reply)) {
    from->SendNoResponders(own->sid, reply);
  }
}

void Shard::StartAccountServices(const ImportRouter::Key& key) {
  system_service_->Start();
  const auth::Accounts& accounts = settings_->options.auth.accounts;
  if (!ImportRouter::Needed(accounts)) return;
  imports_ = std::make_unique<ImportRouter>(this, accounts, key);
  imports_->Start();
}

bool Shard::DeliverLocal(const Message& msg, Subscription* sub) {
  if (sub->sink != nullptr) {
    if constexpr (base::kDChecks) in_sink_ = true;
    sub->sink->OnInternalMessage(*sub, msg);
    if constexpr (base::kDChecks) in_sink_ = false;
    return false;
  }
  if (sub->conn->closing()) return false;
  const bool congested = sub->conn->DeliverMessage(*sub, msg);
  ++sub->delivered;
  if (sub->max != 0 && sub->delivered >= sub->max) auto_unsub_.push_back(sub);
  return congested;
}

bool Shard::UpdateCongestion() {
  std::size_t kept = 0;
  for (Connection* client : congested_) {
    if (client->StillCongesting(now_ns_)) congested_[kept++] = client;
  }
  congested_.resize(kept);
  return !congested_.empty();
}

void Shard::AddStalled(Connection* client) {
  reactor_->PauseRecv(client->io());
  stalled_.emplace_back(client, now_ns_);
}

void Shard::UpdateStalls() {
  if (stalled_.empty()) return;
  bool window_full = false;
  for (int shard = 0; shard < context_->shard_count; ++shard) window_full |= WindowFull(shard);
  const bool release_all = congested_.empty() && !window_full;
  // Unstall() parses buffered input, which may stall the client again (AddStalled).
  std::vector<std::pair<Connection*, int64_t>> current;
  current.swap(stalled_);
  for (const auto& [client, since] : current) {
    if (release_all || now_ns_ - since >= kStallBudgetNs) {
      client->Unstall();
    } else {
      stalled_.emplace_back(client, since);
    }
  }
}

void Shard::DeliverForwarded(const XItem& item) {
  const Message& msg = item.msg;
  if (msg.account >= interests_.size()) return;
  TERN_DCHECK(!in_sink_);
  const Interest& interest = *interests_[msg.account];
  const MatchResult& match = interests_[msg.account]->Match(msg.subject);
  const uint64_t match_stamp = interest.match_stamp();
  if (item.deliver_plain) {
    for (Subscription* sub : match.plain) {
      // The publishing shard ran its own import subscriptions already.
      if (sub->shard_local || !MayReceive(*sub, msg, nullptr, true)) continue;
      if (sub->conn != nullptr && sub->conn->is_link()) {
        AddLinkTarget(sub->conn, {});
        continue;
      }
      DeliverLocal(msg, sub);
    }
  }
  ForEachQueue(item, [&](std::string_view name) {
    const QueueMatch* found = nullptr;
    for (const QueueMatch& group : match.queues) {
      if (group.name == name) found = &group;
    }
    if (found == nullptr) return;
    bool fallback = false;
    uint32_t live = EligibleWeight(*found, msg, nullptr, true, false);
    if (live == 0) {
      fallback = true;
      live = EligibleWeight(*found, msg, nullptr, true, true);
    }
    if (live > 0) {
      const uint32_t pick = static_cast<uint32_t>(rng_() % live);
      DeliverToMember(msg, *found, PickLocal(*found, msg, nullptr, true, fallback, pick));
      return;
    }
    // The member the publishing shard picked is gone (its UNSUB or close had not reached
    // that shard yet). A queue message must reach a live member if one exists anywhere:
    // pick again among the others this shard knows of. Each hop carries fresher interest
    // (a shard's deltas travel in order with its messages); the hop bound stops a loop
    // while every view is stale at once.
    const bool others = found->remote_total > 0;
    const uint32_t remote = others ? found->remote_total : found->remote_fallback_total;
    if (remote == 0 || item.hops >= kMaxQueueHops) {
      if (Subscription* next = SecondHopMember(*found, msg)) AddLinkTarget(next->conn, name);
      return;
    }
    const int shard = PickRemoteMember(others ? found->remote : found->remote_fallback,
                                       static_cast<uint32_t>(rng_() % remote));
    WritePublish(OutboxFor(shard, PublishItemSize(msg, &name, 1)), msg, false, &name, 1,
                 static_cast<uint8_t>(item.hops + 1));
  });
  DeliverToLinks(msg);
  TERN_DCHECK(interest.match_stamp() == match_stamp);
  FinishAutoUnsubscribes();
}

uint32_t Shard::EligibleWeight(const QueueMatch& group, const Message& msg, const Connection* from,
                               bool echo, bool fallback) const {
  uint32_t weight = 0;
  for (const Subscription* s : group.local) {
    if (IsFallbackMember(*s) != fallback) continue;
    if (QueueEligible(*s, msg, from, echo)) weight += s->weight;
  }
  return weight;
}

Subscription* Shard::PickLocal(const QueueMatch& group, const Message& msg, const Connection* from,
                               bool echo, bool fallback, uint32_t pick) const {
  Subscription* last = nullptr;
  for (Subscription* s : group.local) {
    if (IsFallbackMember(*s) != fallback || !QueueEligible(*s, msg, from, echo)) continue;
    if (pick < s->weight) return s;
    pick -= s->weight;
    last = s;
  }
  return last;  // unreachable while pick < EligibleWeight
}

bool Shard::DeliverToMember(const Message& msg, const QueueMatch& group, Subscription* member) {
  if (member->conn != nullptr && member->conn->is_link()) {
    AddLinkTarget(member->conn, group.name);
    return false;
  }
  return DeliverLocal(msg, member);
}

void Shard::AddLinkTarget(Connection* link, std::string_view queue) {
  LinkTarget* target = nullptr;
  for (std::size_t i = 0; i < link_target_count_; ++i) {
    if (link_targets_[i].link == link) target = &link_targets_[i];
  }
  if (target == nullptr) {
    if (link_target_count_ == link_targets_.size()) link_targets_.emplace_back();
    target = &link_targets_[link_target_count_++];
    target->link = link;
    target->queues.clear();
  }
  if (!queue.empty()) target->queues.push_back(queue);
}

bool Shard::DeliverToLinks(const Message& msg) {
  bool stall = false;
  for (std::size_t i = 0; i < link_target_count_; ++i) {
    const LinkTarget& target = link_targets_[i];
    if (target.link->closing()) continue;
    stall |= target.link->DeliverToLink(msg, target.queues.data(), target.queues.size());
  }
  link_target_count_ = 0;
  return stall;
}

Subscription* Shard::SecondHopMember(const QueueMatch& group, const Message& msg) const {
  if (msg.origin != ConnectionKind::kRoute) return nullptr;
  for (Subscription* s : group.local) {
    if (s->conn == nullptr || s->conn->kind() != ConnectionKind::kRoute || s->conn->closing()) {
      continue;
    }
    if (s->conn->id() == msg.link) continue;
    return s;
  }
  return nullptr;
}

int Shard::PickRemoteMember(const std::vector<uint32_t>& members, uint32_t pick) const {
  for (int shard = 0; shard < context_->shard_count; ++shard) {
    if (pick < members[shard]) return shard;
    pick -= members[shard];
  }
  return context_->shard_count - 1;  // unreachable while pick < remote_total
}

void Shard::FinishAutoUnsubscribes() {
  if (auto_unsub_.empty()) return;
  std::vector<Subscription*> done;
  done.swap(auto_unsub_);
  for (Subscription* sub : done) {
    const std::string sid = sub->sid;
    sub->conn->RemoveSubscription(sid);
  }
}

void Shard::AddSubscription(Connection* client, Subscription* sub) {
  TERN_DCHECK(!in_sink_);
  if (interests_[sub->account]->AddLocal(sub)) AnnounceInterest(+1, *sub);
  CountSubscriptions(+1);
  ExportInterest(*sub, +1, client);
}

void Shard::AddInternal(Subscription* sub, bool announce) {
  TERN_DCHECK(!in_sink_);
  if (interests_[sub->account]->AddLocal(sub) && announce && !sub->shard_local) {
    AnnounceInterest(+1, *sub);
  }
  // Shard-local ones are per-shard copies of one server subscription: not counted.
  if (sub->shard_local) {
    if (sub->announce_to_links) ExportInterest(*sub, +1, nullptr);
    return;
  }
  CountSubscriptions(+1);
  ExportInterest(*sub, +1, nullptr);
}

void Shard::RemoveInternal(Subscription* sub) {
  TERN_DCHECK(!in_sink_);
  bool found = false;
  if (interests_[sub->account]->RemoveLocal(sub, &found) && !sub->shard_local) {
    AnnounceInterest(-1, *sub);
  }
  if (sub->shard_local) {
    if (sub->announce_to_links && found) ExportInterest(*sub, -1, nullptr);
    return;
  }
  CountSubscriptions(-1);
  if (found) ExportInterest(*sub, -1, nullptr);
}

void Shard::ApplyRemoteInterest(int shard, auth::AccountId account, std::string_view subject) {
  interests_[account]->ApplyRemote(shard, +1, subject, {});
  for (InterestExport* exporter : interest_exports_) {
    exporter->OnNodeInterest(account, subject, {}, +1, nullptr, {});
  }
}

void Shard::CountSubscriptions(int delta) {
  local_subscriptions_ += static_cast<std::size_t>(static_cast<int64_t>(delta));
  stats().subscriptions.store(local_subscriptions_, std::memory_order_relaxed);
}

LoopService* Shard::AddService(std::unique_ptr<LoopService> service) {
  service->AttachToShard(static_cast<uint32_t>(services_.size()));
  services_.push_back(std::move(service));
  return services_.back().get();
}

void Shard::RemoveSubscription(Connection* client, Subscription* sub) {
  TERN_DCHECK(!in_sink_);
  bool found = false;
  if (interests_[sub->account]->RemoveLocal(sub, &found)) AnnounceInterest(-1, *sub);
  CountSubscriptions(-1);
  if (found) ExportInterest(*sub, -1, client);
}

void Shard::ExportInterest(const Subscription& sub, int delta, const Connection* holder) {
  if (interest_exports_.empty()) return;
  const Connection* source = holder != nullptr && holder->is_link() ? holder : nullptr;
  const int32_t change = sub.queue.empty() ? delta : delta * static_cast<int32_t>(sub.weight);
  std::string_view origin;
  if (sub.origin != nullptr) {
    origin = *sub.origin;
  } else if (source != nullptr && IsLeafKind(source->kind())) {
    origin = source->link_cluster();
  }
  for (InterestExport* exporter : interest_exports_) {
    exporter->OnNodeInterest(sub.account, sub.subject, sub.queue, change, source, origin);
  }
}

void Shard::AnnounceInterest(int delta, const Subscription& sub) {
  // Peers count queue members; a route's member counts as its weight.
  const int32_t change = sub.queue.empty() ? delta : delta * static_cast<int32_t>(sub.weight);
  const bool fallback = !sub.queue.empty() && IsFallbackMember(sub);
  for (int shard = 0; shard < context_->shard_count; ++shard) {
    if (shard == index_) continue;
    WriteInterest(OutboxFor(shard, InterestItemSize(sub.subject, sub.queue)), sub.account, change,
                  sub.subject, sub.queue, fallback);
    interest_changed_ = true;
  }
}

// ---------------------------------------------------------------- cross-shard

XBatch* Shard::OutboxFor(int dest, uint32_t bytes) {
  Outbox& ob = outboxes_[dest];
  outbox_dirty_.Set(dest);
  if (ob.filling != nullptr && ob.filling->space() >= bytes) return ob.filling;
  if (ob.filling != nullptr) ob.sealed.push_back(ob.filling);
  if (bytes <= XBatch::kStandardCapacity && !batch_pool_.empty()) {
    ob.filling = batch_pool_.Take();
  } else {
    ob.filling = XBatch::Create(static_cast<uint16_t>(index_),
                                std::max<uint32_t>(bytes, XBatch::kStandardCapacity));
  }
  ob.filling->used = 0;
  ob.filling->returning = false;
  return ob.filling;
}

void Shard::RecycleBatch(XBatch* batch) {
  if (batch->capacity != XBatch::kStandardCapacity || !batch_pool_.Give(batch)) {
    XBatch::Destroy(batch);
  }
}

void Shard::PushOutboxes() {
  const int count = context_->shard_count;
  if (count == 1) {
    outbox_dirty_.Reset();  // nothing crosses shards with one
    return;
  }
  if (interest_changed_) {
    for (int shard = 0; shard < count; ++shard) {
      if (shard != index_)
        WriteEpoch(OutboxFor(shard, sizeof(XEpochItem)), XKind::kBarrier, next_epoch_);
    }
    ++next_epoch_;
    interest_changed_ = false;
  }
  ShardMesh& mesh = *context_->mesh;
  ShardSet pushed;
  ShardSet todo = outbox_dirty_;
  outbox_dirty_.Reset();
  for (int shard = todo.First(); shard >= 0; shard = todo.First()) {
    todo.Clear(shard);
    TERN_DCHECK(shard != index_);
    Outbox& ob = outboxes_[shard];
    if (ob.filling != nullptr && ob.filling->used > 0) {
      ob.sealed.push_back(ob.filling);
      ob.filling = nullptr;
    }
    auto& ring = mesh.ring(index_, shard);
    while (!ob.sealed.empty()) {
      // Read the batch before the push: once pushed, it belongs to the peer.
      XBatch* batch = ob.sealed.front();
      const uint64_t forward_bytes = batch->returning ? 0 : batch->used;
      if (!ring.TryPush(batch)) break;
      in_flight_[shard] += forward_bytes;
      ob.sealed.pop_front();
      pushed.Set(shard);
    }
    if (!ob.sealed.empty()) outbox_dirty_.Set(shard);  // the ring is full: next turn
  }
  if (!pushed.Any()) return;
  pushed.ForEach([&](int shard) {
    mesh.Announce(index_, shard);
    if (mesh.sleeping(shard).load(std::memory_order_seq_cst)) context_->shards[shard]->Wake();
  });
}

void Shard::DrainRings() {
  if (partial_ != nullptr) {
    if (!ProcessBatch(partial_, partial_from_, &partial_offset_)) return;
    FinishInbound(partial_, partial_from_);
    partial_ = nullptr;
  }
  ShardMesh& mesh = *context_->mesh;
  ShardSet todo = undrained_;
  todo |= mesh.TakeAnnounced(index_);
  undrained_.Reset();
  if (sweep_rings_) {
    // Once a timer tick, every peer's ring: a push whose announcement went astray waits
    // one tick at most, never until that peer happens to push again.
    sweep_rings_ = false;
    for (int from = 0; from < context_->shard_count; ++from) {
      if (from != index_) todo.Set(from);
    }
  }
  for (int from = todo.First(); from >= 0; from = todo.First()) {
    todo.Clear(from);
    auto& ring = mesh.ring(from, index_);
    XBatch* batch;
    int taken = 0;
    for (; taken < kMaxBatchesPerRing && ring.TryPop(&batch); ++taken) {
      if (batch->returning) {
        in_flight_[from] -= batch->used;
        RecycleBatch(batch);
        continue;
      }
      uint32_t offset = 0;
      if (!ProcessBatch(batch, from, &offset)) {
        // Subscribers congested mid-batch: resume here once they catch up.
        partial_ = batch;
        partial_from_ = from;
        partial_offset_ = offset;
        undrained_ |= todo;  // keeps rings left at the per-turn cap above
        undrained_.Set(from);
        return;
      }
      FinishInbound(batch, from);
    }
    if (taken == kMaxBatchesPerRing) undrained_.Set(from);  // more next turn
  }
}

void Shard::FinishInbound(XBatch* batch, int from) {
  batch->returning = true;
  outboxes_[from].sealed.push_back(batch);  // back to its owner
  outbox_dirty_.Set(from);
}

bool Shard::ProcessBatch(const XBatch* batch, int from, uint32_t* offset) {
  XItem item;
  while (ReadItem(batch, offset, &item)) {
    switch (item.kind) {
      case XKind::kPublish:
        DeliverForwarded(item);
        if (!congested_.empty()) return *offset >= batch->used;
        break;
      case XKind::kInterest:
        if (item.account < interests_.size()) {
          interests_[item.account]->ApplyRemote(from, item.delta, item.subject, item.queue,
                                                item.fallback);
          // Other shards hold no link subscriptions: all they announce is the node's.
          for (InterestExport* exporter : interest_exports_) {
            exporter->OnNodeInterest(item.account, item.subject, item.queue, item.delta, nullptr,
                                     {});
          }
        }
        break;
      case XKind::kBarrier:
        WriteEpoch(OutboxFor(from, sizeof(XEpochItem)), XKind::kBarrierAck, item.epoch);
        break;
      case XKind::kBarrierAck: {
        acked_[from] = std::max(acked_[from], item.epoch);
        uint64_t low = UINT64_MAX;
        for (int s = 0; s < context_->shard_count; ++s) {
          if (s != index_) low = std::min(low, acked_[s]);
        }
        acked_min_ = low;
        ReleaseHeldClients();
        break;
      }
      case XKind::kAdopt:
        if (seen_state_ == RunState::kRunning) {
          AdoptSocket(item.fd, item.listener, item.client_id);
        } else {
          close(item.fd);
        }
        break;
    }
  }
  return true;
}

void Shard::ReleaseHeldClients() {
  std::size_t kept = 0;
  for (Connection* client : held_) {
    client->ReleaseHolds(acked_min_);
    if (client->has_holds()) held_[kept++] = client;
  }
  held_.resize(kept);
}

// ---------------------------------------------------------------- output, closes, timers

void Shard::MarkDirty(Connection* client) { dirty_.push_back(client); }

void Shard::FlushClients() {
  if (dirty_.empty()) return;
  flushing_.swap(dirty_);  // both keep their capacity: no allocation per turn
  for (Connection* client : flushing_) client->Flush();
  flushing_.clear();
}

void Shard::ScheduleClose(Connection* client) { closing_.push_back(client); }

void Shard::CloseConnectionOn(int shard, uint64_t conn_id, CloseReason reason) {
  Shard* owner = context_->shards[shard];
  auto close = [owner, conn_id, reason] {
    for (Connection* conn : owner->clients_) {
      if (conn->id() == conn_id && !conn->closing()) conn->Close(reason, true);
    }
  };
  if (owner == this) {
    close();
  } else {
    owner->Post(close);
  }
}

void Shard::ProcessCloses() {
  if (closing_.empty()) return;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < closing_.size(); ++i) {
    Connection* client = closing_[i];
    client->DropSubscriptions();
    if (client->WantsIoClose()) {
      reactor_->Close(client->io());
    } else {
      closing_[kept++] = client;
    }
  }
  closing_.resize(kept);
}

void Shard::RunClientTimers() {
  while (Connection* client = timers_.PopDue(now_ns_)) {
    client->OnTimer(now_ns_);
    const int64_t next = client->NextDeadline();
    if (next != 0) timers_.Schedule(client, std::max(next, now_ns_ + 1));
  }
}

void Shard::RunTimers() {
  if (now_ns_ >= next_pool_trim_ns_) {
    next_pool_trim_ns_ = now_ns_ + kPoolTrimNs;
    chunk_pool_.TrimIdle();
    batch_pool_.Trim();
  }
  // Lame duck: after the grace period, close connections spread over the duration.
  if (seen_state_ == RunState::kLameDuck && now_ns_ >= lame_duck_close_at_ns_ &&
      !clients_.empty()) {
    const int64_t end = lame_duck_close_at_ns_ +
                        std::max<int64_t>(kTimerTickNs, options().lame_duck_duration_ns -
                                                            options().lame_duck_grace_period_ns);
    const int64_t ticks_left = std::max<int64_t>(1, (end - now_ns_) / kTimerTickNs);
    std::size_t to_close = (clients_.size() + ticks_left - 1) / ticks_left;
    for (std::size_t i = 0; i < clients_.size() && to_close > 0; ++i) {
      // Routes stay up while the node's clients move away; they close at shutdown.
      if (!clients_[i]->closing() && clients_[i]->kind() == ConnectionKind::kClient) {
        clients_[i]->Close(CloseReason::kServerShutdown, true);
        --to_close;
      }
    }
  }
  if (seen_state_ == RunState::kStopping && now_ns_ >= stop_deadline_ns_) {
    for (Connection* c : clients_) c->Close(CloseReason::kServerShutdown, false);
  }
}

void Shard::CheckRunState() {
  const RunState state = context_->run_state();
  if (state == seen_state_) return;
  seen_state_ = state;
  if (listening_) {
    reactor_->StopListening();
    listening_ = false;
  }
  if (state == RunState::kLameDuck) {
    for (Connection* c : clients_) c->SendLameDuckInfo();
    lame_duck_close_at_ns_ = now_ns_ + options().lame_duck_grace_period_ns;
  } else if (state == RunState::kStopping) {
    for (Connection* c : clients_) c->Close(CloseReason::kServerShutdown, true);
    stop_deadline_ns_ = now_ns_ + kStopGraceNs;
  }
}

}  // namespace tern::core
