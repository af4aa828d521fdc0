// libFuzzer target: bytes from a route peer through the route parser, fed in two pieces at
// a fuzzer-chosen split (frames cut anywhere), with a handler that checks what the parser
// hands over: a frame after an error is a bug, as is a payload that is not what the size
// said or a header length past it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/route_parser.h"

namespace {

class CheckingHandler final : public tern::core::RouteHandler {
 public:
  void OnRouteInfo(std::string_view) override { Frame(); }
  void OnRouteConnect(std::string_view) override { Frame(); }
  void OnRoutePing() override { Frame(); }
  void OnRoutePong() override { Frame(); }
  void OnRouteErr(std::string_view) override { Frame(); }
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight) override {
    Frame();
    if (account.empty() || subject.empty() || queue.empty() != (weight == 0)) std::abort();
  }
  void OnRouteUnsub(std::string_view account, std::string_view subject, std::string_view) override {
    Frame();
    if (account.empty() || subject.empty()) std::abort();
  }
  void OnRouteMsg(const tern::core::RoutedMsg& msg) override {
    Frame();
    if (msg.account.empty() || msg.subject.empty() || msg.header_len > msg.data.size()) {
      std::abort();
    }
    // The payload is followed by CRLF in the input: it must be readable to its end.
    volatile char last = msg.data.empty() ? 0 : msg.data.back();
    (void)last;
  }
  void OnRouteParseError(std::string_view) override {
    Frame();
    failed_ = true;
  }
  bool RoutePaused() const override { return failed_; }

 private:
  void Frame() {
    if (failed_) std::abort();  // nothing may follow an error
  }
  bool failed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data);
  CheckingHandler handler;
  tern::core::RouteParser parser;
  parser.Feed(bytes + 1, split > 0 ? split - 1 : 0, handler);
  parser.Feed(bytes + split, size - split, handler);
  return 0;
}
