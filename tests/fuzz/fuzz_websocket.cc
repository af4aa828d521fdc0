// libFuzzer target: what a client sends to the websocket port before and after the
// upgrade. The bytes go through a WsSession (compression agreed when offered) fed in pieces
// (the first byte sets the piece size), and through a frame reader with inflate on, fed
// whole and in pieces. Nothing may crash, read out of bounds or inflate past its limit;
// the frame reader must read the same protocol bytes whatever the piece size.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws_frame.h"
#include "core/ws_session.h"

namespace {

using namespace tern::core;

struct Decoded {
  bool ok = true;
  std::string data;
  std::size_t controls = 0;
};

Decoded Decode(std::string_view input, std::size_t piece) {
  WsDecoder decoder(/*masking_required=*/false, /*inflate=*/true, /*inflate_limit=*/1 << 20);
  Decoded out;
  std::vector<WsDecoder::Control> controls;
  for (std::size_t at = 0; at < input.size() && out.ok; at += piece) {
    out.ok = decoder.Feed(input.substr(at, piece), &out.data, &controls);
  }
  if (out.data.size() > (1u << 20) + input.size()) std::abort();  // past the limit
  out.controls = controls.size();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 61;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  WsPolicy policy;
  policy.compression = true;
  WsSession session(&policy);
  std::string protocol, reply;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    if (session.Feed(input.substr(at, piece), &protocol, &reply).close) break;
  }
  if (session.upgraded()) {
    std::string frames;
    if (session.compresses(protocol.size())) session.AppendCompressed(protocol, &frames);
  }

  const Decoded whole = Decode(input, input.size() + 1);
  const Decoded pieces = Decode(input, piece);
  if (whole.ok != pieces.ok) std::abort();
  if (whole.ok && (whole.data != pieces.data || whole.controls != pieces.controls)) std::abort();
  return 0;
}
