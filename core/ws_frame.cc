#include "core/ws_frame.h"

#include "core/ws_deflate.h"

namespace tern::core {

void AppendWsFrameHeader(uint8_t opcode, uint64_t payload_len, std::string* out, bool fin) {
  out->push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload_len <= 125) {
    out->push_back(static_cast<char>(payload_len));
  } else if (payload_len <= 0xffff) {
    out->push_back(static_cast<char>(126));
    out->push_back(static_cast<char>(payload_len >> 8));
    out->push_back(static_cast<char>(payload_len & 0xff));
  } else {
    out->push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out->push_back(static_cast<char>((payload_len >> shift) & 0xff));
    }
  }
}

void AppendWsFrame(uint8_t opcode, std::string_view payload, std::string* out) {
  AppendWsFrameHeader(opcode, payload.size(), out);
  out->append(payload);
}

std::string WsCloseFrame(uint16_t code, std::string_view reason) {
  std::string body;
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xff));
  if (reason.size() > 123) {
    body.append(reason.substr(0, 120)).append("...");
  } else {
    body.append(reason);
  }
  std::string frame;
  AppendWsFrame(kWsClose, body, &frame);
  return frame;
}

bool WsDecoder::Feed(std::string_view bytes, std::string* data, std::vector<Control>* controls) {
  if (close_code_ != 0) return false;
  buffer_.append(bytes);
  std::size_t at = 0;
  while (buffer_.size() - at >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + at);
    const bool fin = (p[0] & 0x80) != 0;
    const uint8_t opcode = p[0] & 0x0f;
    const bool masked = (p[1] & 0x80) != 0;
    uint64_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (buffer_.size() - at < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (buffer_.size() - at < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (masked) header += 4;
    const bool rsv1 = (p[0] & 0x40) != 0;
    if ((p[0] & 0x30) != 0 || (rsv1 && !inflate_)) {
      return Fail(kWsCloseProtocolError, "compression not negotiated");
    }
    if (!masked && masking_required_) return Fail(kWsCloseProtocolError, "mask bit missing");
    const bool control = (opcode & 0x08) != 0;
    if (control) {
      if (len > 125) {
        return Fail(kWsCloseProtocolError,
                    "control frame length bigger than maximum allowed of 125 bytes");
      }
      if (!fin) return Fail(kWsCloseProtocolError, "control frame does not have final bit set");
      if (rsv1) return Fail(kWsCloseProtocolError, "control frame is compressed");
      if (opcode != kWsClose && opcode != kWsPing && opcode != kWsPong) {
        return Fail(kWsCloseProtocolError, "unknown opcode " + std::to_string(opcode));
      }
    } else if (opcode == 0) {
      if (!in_message_) return Fail(kWsCloseProtocolError, "invalid continuation frame");
      if (rsv1) return Fail(kWsCloseProtocolError, "continuation frame is compressed");
    } else if (opcode == kWsText || opcode == kWsBinary) {
      if (in_message_)
        return Fail(kWsCloseProtocolError,
                    "new message started before final frame for previous message was received");
    } else {
      return Fail(kWsCloseProtocolError, "unknown opcode " + std::to_string(opcode));
    }
    if (buffer_.size() - at < header || buffer_.size() - at - header < len) break;  // wait
    const unsigned char* mask = masked ? p + header - 4 : nullptr;
    const char* payload = buffer_.data() + at + header;
    if (!control && opcode != 0) compressed_ = rsv1;
    std::string* target = data;
    std::string control_payload;
    if (control) target = &control_payload;
    if (!control && compressed_) target = &deflated_;
    const std::size_t start = target->size();
    target->append(payload, static_cast<std::size_t>(len));
    if (mask != nullptr) {
      char* out = target->data() + start;
      for (std::size_t i = 0; i < len; ++i) out[i] = static_cast<char>(out[i] ^ mask[i & 3]);
    }
    if (control) {
      if (opcode != kWsPong) controls->push_back(Control{opcode, std::move(control_payload)});
    } else {
      in_message_ = !fin;
      if (fin && compressed_) {
        compressed_ = false;
        const bool inflated = WsInflate(deflated_, inflate_limit_, data);
        deflated_.clear();
        if (!inflated) {
          buffer_.clear();
          return Fail(kWsCloseInvalidPayload, "invalid compressed message");
        }
      }
    }
    at += header + static_cast<std::size_t>(len);
  }
  buffer_.erase(0, at);
  return true;
}

}  // namespace tern::core
