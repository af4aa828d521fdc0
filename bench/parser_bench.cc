// Parser throughput: how many PUB/HPUB frames per second one core splits out of a buffer.
#include <benchmark/benchmark.h>

#include <string>

#include "core/parser.h"

namespace {

class CountingHandler : public tern::core::ParserHandler {
 public:
  std::size_t frames = 0;
  bool OnConnect(std::string_view) override { return true; }
  bool OnPub(const tern::core::PubFrame& f) override {
    benchmark::DoNotOptimize(f.data.data());
    ++frames;
    return true;
  }
  bool OnSub(std::string_view, std::string_view, std::string_view) override { return true; }
  bool OnUnsub(std::string_view, int64_t, bool) override { return true; }
  bool OnPing() override { return true; }
  bool OnPong() override { return true; }
  void OnParseError(tern::core::ParseError, std::string_view) override {}
};

// One 64 KiB read's worth of a frame repeated.
std::string FillRead(const std::string& frame) {
  std::string buffer;
  while (buffer.size() < 64 * 1024) buffer += frame;
  return buffer;
}

// Measures: PUB frames of state.range(0) payload bytes parsed from 64 KiB reads.
void BM_ParsePub(benchmark::State& state) {
  const std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  const std::string frame = "PUB sensors.temp.eu-west.rack42 " + std::to_string(payload.size()) +
                            "\r\n" + payload + "\r\n";
  const std::string buffer = FillRead(frame);
  tern::core::ProtocolParser parser({});
  CountingHandler handler;
  for (auto _ : state) parser.Feed(buffer.data(), buffer.size(), handler);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
  state.SetItemsProcessed(static_cast<int64_t>(handler.frames));
}
BENCHMARK(BM_ParsePub)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384);

// Measures: HPUB frames (small header block + 128 B payload) from 64 KiB reads.
void BM_ParseHpub(benchmark::State& state) {
  const std::string headers = "NATS/1.0\r\nNats-Msg-Id: 42\r\n\r\n";
  const std::string payload(128, 'y');
  const std::string frame = "HPUB orders.new _INBOX.abc.1 " + std::to_string(headers.size()) + " " +
                            std::to_string(headers.size() + payload.size()) + "\r\n" + headers +
                            payload + "\r\n";
  const std::string buffer = FillRead(frame);
  tern::core::ProtocolParser parser({});
  CountingHandler handler;
  for (auto _ : state) parser.Feed(buffer.data(), buffer.size(), handler);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
  state.SetItemsProcessed(static_cast<int64_t>(handler.frames));
}
BENCHMARK(BM_ParseHpub);

}  // namespace
