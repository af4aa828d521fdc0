#pragma once
// SystemService: the requests nats-server answers in its system account that tools use to
// find servers: $SYS.REQ.SERVER.PING (and .PING.STATSZ) and $SYS.REQ.SERVER.<id>.STATSZ,
// answered with a server stats message (what `nats server list` shows). Its subscriptions
// are shard-local, so the requester's shard answers once. Requests arrive while a message
// is routed, so replies wait for the next turn. Ownership: its shard only.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/loop_service.h"
#include "core/subscription.h"

namespace tern::core {

class Shard;

class SystemService final : public InternalSink, public LoopService {
 public:
  explicit SystemService(Shard* shard);
  ~SystemService() override;
  // Before the shard starts: subscribes in the system account.
  void Start();
  // Once per loop turn: answers what arrived.
  void Turn(int64_t now_ns) override;
  bool Busy() const override { return !replies_.empty(); }

 private:
  void OnInternalMessage(const Subscription& sub, const Message& msg) override;
  std::string StatszJson();

  Shard* shard_;
  std::vector<std::unique_ptr<Subscription>> subs_;
  std::vector<std::string> replies_;
  uint64_t seq_ = 0;
};

}  // namespace tern::core
