// libFuzzer target: bytes from a route peer through the route parser, fed in two pieces at
// a fuzzer-chosen split (frames cut anywhere), with a handler that checks what the parser
// hands over: a frame after an error is a bug, as is a payload that is not what the size
// said or a header length past it. The same bytes are parsed again with the route pausing
// every few frames (a stalled route: the rest is fed again once it may go on); both runs
// must hand over the same frames. Built twice: as fuzz_leaf (fuzz_leaf.cc) it runs the
// parser's leafnode mode, where no frame names an account.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/route_parser.h"

#ifndef TERN_FUZZ_LEAF_MODE
#define TERN_FUZZ_LEAF_MODE false
#endif

namespace {

constexpr bool kLeaf = TERN_FUZZ_LEAF_MODE;

class CheckingHandler final : public tern::core::RouteHandler {
 public:
  // Pauses after every `pause_every` frames (0 = never).
  explicit CheckingHandler(unsigned pause_every) : pause_every_(pause_every) {}

  void OnRouteInfo(std::string_view json) override { Frame("INFO", json); }
  void OnRouteConnect(std::string_view json) override { Frame("CONNECT", json); }
  void OnRoutePing() override { Frame("PING", {}); }
  void OnRoutePong() override { Frame("PONG", {}); }
  void OnRouteErr(std::string_view text) override { Frame("ERR", text); }
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight, std::string_view) override {
    Frame("RS+", subject);
    if (account.empty() != kLeaf || subject.empty() || queue.empty() != (weight == 0)) std::abort();
  }
  void OnRouteUnsub(std::string_view account, std::string_view subject, std::string_view) override {
    Frame("RS-", subject);
    if (account.empty() != kLeaf || subject.empty()) std::abort();
  }
  void OnRouteMsg(const tern::core::RoutedMsg& msg) override {
    Frame("MSG", msg.data);
    if (msg.account.empty() != kLeaf || msg.subject.empty() || msg.header_len > msg.data.size()) {
      std::abort();
    }
    // The payload is followed by CRLF in the input: it must be readable to its end.
    volatile char last = msg.data.empty() ? 0 : msg.data.back();
    (void)last;
  }
  void OnRouteParseError(std::string_view what) override {
    Frame("PARSE-ERROR", what);
    failed_ = true;
  }
  bool RoutePaused() const override { return failed_ || paused_; }

  void Resume() { paused_ = false; }
  bool failed() const { return failed_; }
  const std::string& log() const { return log_; }

 private:
  void Frame(std::string_view op, std::string_view detail) {
    if (failed_ || paused_) std::abort();  // nothing may follow an error or a pause
    log_.append(op).append(" ").append(detail).append("\n");
    if (pause_every_ != 0 && ++frames_ % pause_every_ == 0) paused_ = true;
  }
  unsigned pause_every_;
  unsigned frames_ = 0;
  bool paused_ = false;
  bool failed_ = false;
  std::string log_;
};

// Feeds one piece as a route does: what a pause left is fed again once it may go on.
void FeedAll(tern::core::RouteParser& parser, CheckingHandler& handler, const char* data,
             std::size_t len) {
  std::size_t used = 0;
  for (int rounds = 0; used < len && !handler.failed(); ++rounds) {
    if (rounds > 1'000'000) std::abort();  // no progress
    handler.Resume();
    used += parser.Feed(data + used, len - used, handler);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::size_t split = 2 + data[0] % (size - 1);  // in [2, size]
  const unsigned pause_every = 1 + data[1] % 4;
  const char* bytes = reinterpret_cast<const char*>(data);
  CheckingHandler straight(0), paused(pause_every);
  tern::core::RouteParser straight_parser(kLeaf), paused_parser(kLeaf);
  for (auto [parser, handler] :
       {std::pair{&straight_parser, &straight}, std::pair{&paused_parser, &paused}}) {
    FeedAll(*parser, *handler, bytes + 2, split - 2);
    FeedAll(*parser, *handler, bytes + split, size - split);
  }
  if (straight.log() != paused.log()) std::abort();  // pausing changed what was handed over
  return 0;
}
