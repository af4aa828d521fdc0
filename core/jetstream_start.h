#pragma once
// JetStream at server start: each account's store opened and its streams loaded on every
// shard. Called by the main thread before the shards run (Server::Start, and the loop
// test harness).
#include <memory>
#include <string>
#include <vector>

#include "core/jetstream/registry.h"
#include "core/options.h"
#include "core/shard.h"

namespace tern::core {

// Creates one registry per account that has JetStream (or answers that it has none), a
// JsShard loop service per shard and registry, applies the streams the config declares,
// and tells every shard about every other shard's internal subscriptions, so that no
// client can meet a shard that does not know where the API is.
bool StartJetStream(const ServerOptions& options, const std::vector<Shard*>& shards,
                    std::vector<std::unique_ptr<js::Registry>>* registries, std::string* error);

}  // namespace tern::core
