#pragma once
// WebSocket framing (RFC 6455) as nats-server 2.9 speaks it: the server's frames are never
// masked, binary, FIN; a client's must be masked (unless it asked for no masking), may be
// text or binary and may be fragmented, with control frames in between. Value types; a
// WsDecoder belongs to one connection, on its shard.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::core {

inline constexpr uint8_t kWsText = 1, kWsBinary = 2, kWsClose = 8, kWsPing = 9, kWsPong = 10;
// Close codes nats-server sends.
inline constexpr uint16_t kWsCloseNormal = 1000, kWsCloseGoingAway = 1001,
                          kWsCloseProtocolError = 1002, kWsCloseNoStatus = 1005,
                          kWsCloseInvalidPayload = 1007, kWsClosePolicy = 1008,
                          kWsCloseTooBig = 1009, kWsCloseInternal = 1011, kWsCloseTls = 1015;

// Appends one server frame (FIN, unmasked) with this opcode and payload. `opcode` may carry
// RSV1 (0x40) for a compressed message; `fin` false starts or continues a fragmented one.
void AppendWsFrameHeader(uint8_t opcode, uint64_t payload_len, std::string* out, bool fin = true);
void AppendWsFrame(uint8_t opcode, std::string_view payload, std::string* out);
// A close frame: the 2-byte status and the reason (cut to 120 bytes + "..." past 123,
// as nats-server does).
std::string WsCloseFrame(uint16_t code, std::string_view reason);

// Reads a client's frames, fed in pieces of any size.
class WsDecoder {
 public:
  // `inflate`: permessage-deflate was agreed, so a data message may arrive compressed
  // (RSV1 on its first frame); it is inflated to at most `inflate_limit` bytes.
  explicit WsDecoder(bool masking_required, bool inflate = false,
                     std::size_t inflate_limit = kWsInflateLimit)
      : masking_required_(masking_required), inflate_(inflate), inflate_limit_(inflate_limit) {}
  static constexpr std::size_t kWsInflateLimit = 72u << 20;  // past the largest max_payload

  struct Control {
    uint8_t opcode;  // kWsPing or kWsClose (pongs are dropped)
    std::string payload;
  };
  // Appends the payload of data frames to *data and the control frames to *controls.
  // False on a protocol error: close_code() and error() say what to send back.
  bool Feed(std::string_view bytes, std::string* data, std::vector<Control>* controls);
  uint16_t close_code() const { return close_code_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(uint16_t code, std::string text) {
    close_code_ = code;
    error_ = std::move(text);
    return false;
  }

  // The data frame just read to its end: ends the message on FIN (inflating it if it came
  // compressed). False if it does not inflate.
  bool EndDataFrame(std::string* data);

  bool masking_required_;
  bool inflate_;
  std::size_t inflate_limit_;
  std::string buffer_;       // a header or control frame that arrived in part
  uint64_t frame_left_ = 0;  // payload bytes of the current data frame still to come
  bool frame_fin_ = false;
  bool frame_masked_ = false;
  uint8_t mask_[4] = {};
  std::size_t mask_phase_ = 0;  // where in the mask the next payload byte falls
  bool in_message_ = false;     // a fragmented data message has started
  bool compressed_ = false;     // ... and its first frame had RSV1: gathered in deflated_
  std::string deflated_;
  uint16_t close_code_ = 0;
  std::string error_;
};

}  // namespace tern::core
