#include "core/ws_frame.h"

#include "core/ws_deflate.h"

#include <algorithm>
#include <cstring>

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

namespace {

// XORs `len` bytes with the 4-byte mask, starting at mask offset `phase`: eight bytes at a
// time (the mask repeats every four, so a word holds it twice), then the tail.
void Unmask(char* bytes, std::size_t len, const uint8_t mask[4], std::size_t phase) {
  uint8_t rotated[8];
  for (std::size_t i = 0; i < 8; ++i) rotated[i] = mask[(phase + i) & 3];
  uint64_t word_mask;
  std::memcpy(&word_mask, rotated, 8);
  std::size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    word ^= word_mask;
    std::memcpy(bytes + i, &word, 8);
  }
  for (; i < len; ++i) bytes[i] = static_cast<char>(bytes[i] ^ rotated[i & 7]);
}

}  // namespace

bool WsDecoder::Feed(std::string_view bytes, std::string* data, std::vector<Control>* controls) {
  if (close_code_ != 0) return false;
  // A data frame's payload is taken as it arrives; only headers and control frames cut in
  // pieces wait in buffer_.
  std::string_view in = bytes;
  if (!buffer_.empty()) {
    buffer_.append(bytes);
    in = buffer_;
  }
  std::size_t at = 0;
  while (at < in.size()) {
    if (frame_left_ > 0) {
      const std::size_t n = std::min<uint64_t>(frame_left_, in.size() - at);
      std::string* target = compressed_ ? &deflated_ : data;
      const std::size_t start = target->size();
      target->append(in.data() + at, n);
      if (frame_masked_) Unmask(target->data() + start, n, mask_, mask_phase_);
      mask_phase_ = (mask_phase_ + n) & 3;
      frame_left_ -= n;
      at += n;
      if (frame_left_ == 0 && !EndDataFrame(data)) return false;
      continue;
    }
    if (in.size() - at < 2) break;
    const auto* p = reinterpret_cast<const unsigned char*>(in.data() + at);
    const bool fin = (p[0] & 0x80) != 0;
    const uint8_t opcode = p[0] & 0x0f;
    const bool masked = (p[1] & 0x80) != 0;
    uint64_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (in.size() - at < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (in.size() - at < 10) break;
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
    if (in.size() - at < header) break;  // the rest of the header
    const unsigned char* mask = masked ? p + header - 4 : nullptr;
    if (control) {
      if (in.size() - at - header < len) break;  // a control frame is taken whole
      std::string payload(in.data() + at + header, static_cast<std::size_t>(len));
      if (mask != nullptr) Unmask(payload.data(), payload.size(), mask, 0);
      if (opcode != kWsPong) controls->push_back(Control{opcode, std::move(payload)});
      at += header + static_cast<std::size_t>(len);
      continue;
    }
    if (opcode != 0) compressed_ = rsv1;
    frame_fin_ = fin;
    frame_masked_ = mask != nullptr;
    if (frame_masked_) std::memcpy(mask_, mask, 4);
    mask_phase_ = 0;
    frame_left_ = len;
    at += header;
    in_message_ = true;
    if (len == 0 && !EndDataFrame(data)) return false;
  }
  if (in.data() == buffer_.data()) {
    buffer_.erase(0, at);
  } else {
    buffer_.assign(in.substr(at));
  }
  return true;
}

bool WsDecoder::EndDataFrame(std::string* data) {
  in_message_ = !frame_fin_;
  if (!frame_fin_ || !compressed_) return true;
  compressed_ = false;
  const bool inflated = WsInflate(deflated_, inflate_limit_, data);
  deflated_.clear();
  if (inflated) return true;
  buffer_.clear();
  return Fail(kWsCloseInvalidPayload, "invalid compressed message");
}

}  // namespace tern::core
