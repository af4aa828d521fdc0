#pragma once
// The checks of a stream's `mirror` and `sources` that need their origins' configurations
// (nats-server 2.9's checkStreamCfg): filters that overlap no origin subject, a smaller
// max_msg_size than the origin's, cycles through local mirrors and sources; and
// `mirror_direct`, which follows the origin's `allow_direct`. External origins (another
// account or domain) are not looked at. Runs on the shard that handles the request; the
// registry is the shared, locked part.
#include "core/jetstream/api_error.h"
#include "core/jetstream/registry.h"
#include "core/jetstream/stream_config.h"

namespace tern::core::js {

ApiError CheckOrigins(const Registry& registry, StreamConfig* config);

}  // namespace tern::core::js
