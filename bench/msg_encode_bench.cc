// Outbound MSG encoding: the per-delivery work of writing a frame into a subscriber's queue.
#include <benchmark/benchmark.h>

#include <string>

#include "core/msg_encode.h"
#include "core/outbound.h"

namespace {

using tern::core::AppendMsgFrame;
using tern::core::ChunkPool;
using tern::core::OutboundQueue;

// Measures: encoding one MSG (control line + payload copy + CRLF) of N payload bytes, with
// the queue drained as a send would (so chunks recycle through the pool).
void BM_EncodeMsg(benchmark::State& state) {
  ChunkPool pool;
  OutboundQueue out(&pool);
  std::string line;
  line.reserve(256);
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'p');
  for (auto _ : state) {
    AppendMsgFrame(&out, &line, "fleet.vehicle.42.position", "17", {}, 0, payload);
    if (out.pending_bytes() > (1u << 20)) out.Consume(out.pending_bytes());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_EncodeMsg)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384);

// Measures: an HMSG with a reply subject (JetStream delivery shape: ack reply + headers).
void BM_EncodeHmsgWithReply(benchmark::State& state) {
  ChunkPool pool;
  OutboundQueue out(&pool);
  std::string line;
  const std::string data = "NATS/1.0\r\nNats-Msg-Id: abc\r\n\r\n" + std::string(128, 'p');
  for (auto _ : state) {
    AppendMsgFrame(&out, &line, "orders.new", "3",
                   "$JS.ACK.ORDERS.worker.1.1234567.1234560.1795313261317157553.42", 29, data);
    if (out.pending_bytes() > (1u << 20)) out.Consume(out.pending_bytes());
  }
}
BENCHMARK(BM_EncodeHmsgWithReply);

}  // namespace
