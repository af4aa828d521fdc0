#pragma once
// Subscription: one SUB of one connection. Owned by its Client (by sid); lives on the
// client's shard only.
#include <cstdint>
#include <string>

namespace tern::core {

class Client;

struct Subscription {
  Client* client = nullptr;
  std::string subject;
  std::string queue;  // empty for a plain subscription
  std::string sid;
  uint64_t max = 0;  // auto-unsubscribe after this many deliveries; 0 = no limit
  uint64_t delivered = 0;
};

}  // namespace tern::core
