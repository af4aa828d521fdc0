#pragma once
// tern-bench's JetStream modes. js-pub: P publishers publish to a fresh stream with up to
// `window` unacknowledged publishes each (window 1 = synchronous, timed per publish).
// js-fetch: the stream is filled first, then S pull consumers fetch it in batches and ack
// every message. Both verify the result (every publish acked and stored; every message
// consumed) and work against any JetStream server. Runs on the calling thread plus one
// thread per connection.
#include <cstdint>
#include <string>

#include "tools/bench/connection.h"
#include "tools/bench/histogram.h"

namespace tern::bench {

struct JsParams {
  ServerAddress server;
  int pubs = 1;
  int consumers = 1;
  int size = 128;
  uint64_t count = 100000;
  int window = 256;  // js-pub: outstanding publishes per publisher; js-push: max_ack_pending
  int batch = 256;   // js-fetch: messages per pull request
  int keys = 0;      // KV modes: distinct keys (subjects) written
  int timeout_s = 30;
  std::string storage = "file";
};

struct JsRun {
  uint64_t published = 0;    // publishes sent
  uint64_t acked = 0;        // positive PubAcks
  uint64_t stored = 0;       // messages in the stream afterwards
  uint64_t consumed = 0;     // js-fetch: messages received (and acked); js-kv-get: values
                             // read; js-mirror: messages in the mirror
  double seconds = 0;        // the timed phase
  LatencyHistogram latency;  // js-pub / js-kv-get with window 1: per request
  std::string error;
};

JsRun RunJsPublish(const JsParams& p);
JsRun RunJsFetch(const JsParams& p);
// js-push: the stream is filled, then one durable push consumer with explicit acks and
// `window` as its max_ack_pending delivers it, each message acknowledged (the JetStream
// counterpart of a STAN durable subscription).
JsRun RunJsPush(const JsParams& p);
JsRun RunKvGet(const JsParams& p);
JsRun RunMirror(const JsParams& p);

}  // namespace tern::bench
