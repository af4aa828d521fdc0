#include "core/system_service.h"

#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "core/shard.h"
#include "core/time_format.h"

namespace tern::core {

Totals SumStats(const ServerContext& context) {
  Totals t;
  for (const auto& s : context.stats) {
    t.in_msgs += s->in_msgs.load(std::memory_order_relaxed);
    t.in_bytes += s->in_bytes.load(std::memory_order_relaxed);
    t.out_msgs += s->out_msgs.load(std::memory_order_relaxed);
    t.out_bytes += s->out_bytes.load(std::memory_order_relaxed);
    t.slow_consumers += s->slow_consumers.load(std::memory_order_relaxed);
    t.stale_connections += s->stale_connections.load(std::memory_order_relaxed);
    t.connections += s->connections.load(std::memory_order_relaxed);
    t.total_connections += s->total_connections.load(std::memory_order_relaxed);
    t.subscriptions += s->subscriptions.load(std::memory_order_relaxed);
  }
  return t;
}

SystemService::SystemService(Shard* shard) : shard_(shard) {}
SystemService::~SystemService() = default;

void SystemService::Start() {
  const auth::AccountId system = shard_->options().auth.accounts.system;
  const std::string id = shard_->context().server_id;
  for (const std::string& subject :
       {std::string("$SYS.REQ.SERVER.PING"), std::string("$SYS.REQ.SERVER.PING.STATSZ"),
        "$SYS.REQ.SERVER." + id + ".STATSZ"}) {
    auto sub = std::make_unique<Subscription>();
    sub->account = system;
    sub->shard_local = true;
    sub->sink = this;
    sub->subject = subject;
    shard_->AddInternal(sub.get(), false);
    subs_.push_back(std::move(sub));
  }
}

void SystemService::OnInternalMessage(const Subscription&, const Message& msg) {
  constexpr std::size_t kMaxQueued = 1024;  // a flood of pings gets the first answers
  if (!msg.reply.empty() && replies_.size() < kMaxQueued) replies_.emplace_back(msg.reply);
}

void SystemService::Turn(int64_t /*now_ns*/) {
  if (replies_.empty()) return;
  const std::string body = StatszJson();
  const auth::AccountId system = shard_->options().auth.accounts.system;
  std::vector<std::string> replies;
  replies.swap(replies_);
  for (const std::string& reply : replies) {
    shard_->Route(Message{.subject = reply, .data = body, .account = system}, nullptr);
  }
}

std::string SystemService::StatszJson() {
  const ServerContext& context = shard_->context();
  const Totals t = SumStats(context);
  const int64_t now = WallClockNs();
  nlohmann::ordered_json server;
  server["name"] = context.server_name;
  server["host"] = shard_->options().host;
  server["id"] = context.server_id;
  server["ver"] = kNatsProtocolVersion;
  server["jetstream"] = shard_->options().jetstream;
  server["flags"] = shard_->options().jetstream ? 1 : 0;
  server["seq"] = ++seq_;
  server["time"] = Rfc3339Nano(now);
  nlohmann::ordered_json stats;
  stats["start"] = Rfc3339Nano(context.start_unix_ns);
  stats["cores"] = std::thread::hardware_concurrency();
  stats["connections"] = t.connections;
  stats["total_connections"] = t.total_connections;
  stats["active_accounts"] = shard_->options().auth.accounts.size();
  stats["subscriptions"] = t.subscriptions;
  stats["sent"] = {{"msgs", t.out_msgs}, {"bytes", t.out_bytes}};
  stats["received"] = {{"msgs", t.in_msgs}, {"bytes", t.in_bytes}};
  stats["slow_consumers"] = t.slow_consumers;
  stats["active_servers"] = 1;
  nlohmann::ordered_json message;
  message["server"] = server;
  message["statsz"] = stats;
  return message.dump();
}

}  // namespace tern::core
