#pragma once
// WsSession: the WebSocket side of one connection accepted on the websocket port. First it
// reads the HTTP upgrade request and answers it (ws_handshake.h); then it turns the
// client's frames into protocol bytes and the protocol's output into frames (ws_frame.h),
// answering pings and closes itself. Sits between TLS (below) and the protocol (above).
// Owned by its SocketConnection, on that connection's shard.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws_deflate.h"
#include "core/ws_frame.h"
#include "core/ws_handshake.h"

namespace tern::core {

class WsSession {
 public:
  explicit WsSession(const WsPolicy* policy) : policy_(policy) {}

  struct Step {
    bool upgraded_now = false;  // the 101 is in *reply: the protocol may start
    bool close = false;         // close once *reply is sent
    std::string reason;         // why (for the log), when closing
  };
  // Input after TLS: appends protocol bytes to *data and what goes straight back to the
  // peer (the HTTP answer, pongs, close frames) to *reply.
  Step Feed(std::string_view bytes, std::string* data, std::string* reply);
  bool upgraded() const { return upgraded_; }
  // A close frame went out already (the client's echoed, or a protocol error's).
  bool close_sent() const { return closing_; }
  bool mqtt() const { return upgrade_.mqtt; }
  std::string Cookie(std::string_view name) const { return WsCookieValue(upgrade_.cookies, name); }
  // The header of one binary frame carrying `len` bytes of protocol output.
  void FrameHeader(uint64_t len, std::string* out) const {
    AppendWsFrameHeader(kWsBinary, len, out);
  }
  // A browser gets frames of at most this many bytes (nats-server's); 0: no limit.
  std::size_t max_frame() const { return upgrade_.browser ? 4096 : 0; }
  // Whether this flush goes out deflated: compression agreed and more than 64 bytes (as
  // nats-server decides; small ones cost more to compress than they save).
  bool compresses(std::size_t flush_len) const {
    return deflater_ != nullptr && flush_len > kWsCompressAbove;
  }
  // Appends `flush` deflated as one message: one RSV1 frame, or for a browser (other than
  // Safari) 4 KiB fragments.
  void AppendCompressed(std::string_view flush, std::string* out);
  static constexpr std::size_t kWsCompressAbove = 64;

 private:
  const WsPolicy* policy_;
  bool upgraded_ = false;
  bool closing_ = false;
  std::string head_;  // the request so far
  WsUpgrade upgrade_;
  WsDecoder decoder_{true};
  std::vector<WsDecoder::Control> controls_;
  std::unique_ptr<WsDeflater> deflater_;  // when permessage-deflate was agreed
  std::string deflated_;
};

}  // namespace tern::core
