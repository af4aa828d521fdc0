#pragma once
// System account advisories, as nats-server publishes them in its system account:
// $SYS.ACCOUNT.<account>.CONNECT when a client has authenticated and
// $SYS.ACCOUNT.<account>.DISCONNECT when it goes (with its traffic and the reason).
// Built only when someone in the system account listens. Stateless; called by the
// client's shard.
#include <cstdint>
#include <string>

#include "core/conn_info.h"
#include "core/server_context.h"

namespace tern::core {

std::string ClientEventSubject(const ConnInfo& info, bool connect);
// The advisory's JSON; `seq` numbers this shard's events.
std::string ClientEventJson(const ConnInfo& info, const ServerContext& context, bool connect,
                            uint64_t seq);

}  // namespace tern::core
