#pragma once
// tern-bench's STAN modes, the NATS Streaming protocol end to end (docs/STAN.md). stan-pub:
// P publishers send PubMsgs to one channel each with up to `window` awaiting their PubAck.
// stan-sub: the channel is filled first, then S durable subscriptions (deliver all available,
// maxInFlight = window) receive every message and acknowledge each. Both verify the result
// and report in JsRun's terms, so that they sit beside js-pub and js-fetch in one run. Runs on
// the calling thread plus one thread per connection.
#include "tools/bench/jetstream.h"

namespace tern::bench {

JsRun RunStanPublish(const JsParams& p, const std::string& cluster_id);
JsRun RunStanSubscribe(const JsParams& p, const std::string& cluster_id);

}  // namespace tern::bench
