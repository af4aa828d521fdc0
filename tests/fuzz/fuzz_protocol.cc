// libFuzzer target: bytes from a client through the protocol parser, fed in two pieces
// at a fuzzer-chosen split (frames cut anywhere), with a handler that checks what the
// parser hands over.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/parser.h"

namespace {

class CheckingHandler final : public tern::core::ParserHandler {
 public:
  bool OnConnect(std::string_view json) override { return json.size() <= 4096; }
  bool OnPub(const tern::core::PubFrame& frame) override {
    if (frame.data.size() > 1024 || frame.header_len > frame.data.size()) std::abort();
    return true;
  }
  bool OnSub(std::string_view subject, std::string_view, std::string_view sid) override {
    if (subject.empty() || sid.empty()) std::abort();
    return true;
  }
  bool OnUnsub(std::string_view sid, int64_t, bool) override {
    if (sid.empty()) std::abort();
    return true;
  }
  bool OnPing() override { return true; }
  bool OnPong() override { return true; }
  void OnParseError(tern::core::ParseError, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data);
  CheckingHandler handler;
  tern::core::ProtocolParser parser(tern::core::ProtocolParser::Limits{4096, 1024});
  if (parser.Feed(bytes + 1, split > 0 ? split - 1 : 0, handler)) {
    parser.Feed(bytes + split, size - split, handler);
  }
  return 0;
}
