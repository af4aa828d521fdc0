#include "ws_util.h"

#include <zlib.h>

#include <chrono>

namespace tern::e2e {

namespace {

struct Frame {
  int first_byte;
  std::string payload;
};

// Complete frames in `bytes` (unmasked, as a server sends them).
std::vector<Frame> SplitFrames(const std::string& bytes) {
  std::vector<Frame> frames;
  std::size_t at = 0;
  while (bytes.size() - at >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
    uint64_t len = p[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (bytes.size() - at < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (bytes.size() - at < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (bytes.size() - at - header < len) break;
    frames.push_back(Frame{p[0], bytes.substr(at + header, len)});
    at += header + len;
  }
  return frames;
}

std::string Inflate(const std::string& compressed) {
  z_stream stream{};
  inflateInit2(&stream, -15);
  std::string input = compressed + std::string("\x00\x00\xff\xff", 4);
  stream.next_in = reinterpret_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  std::string out;
  char chunk[16384];
  do {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    const int status = inflate(&stream, Z_SYNC_FLUSH);
    out.append(chunk, sizeof(chunk) - stream.avail_out);
    if (status != Z_OK) break;
  } while (stream.avail_out == 0 || stream.avail_in > 0);
  inflateEnd(&stream);
  return out;
}

}  // namespace

std::string WsUpgrade(const std::string& extra_headers) {
  return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra_headers + "\r\n";
}

std::string ClientFrame(uint8_t first_byte, const std::string& payload) {
  std::string frame(1, static_cast<char>(first_byte));
  const unsigned char mask[4] = {0x5a, 0x01, 0xc3, 0x7e};
  if (payload.size() <= 125) {
    frame.push_back(static_cast<char>(0x80 | payload.size()));
  } else if (payload.size() <= 0xffff) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((uint64_t{payload.size()} >> shift) & 0xff));
    }
  }
  frame.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
  }
  return frame;
}

std::vector<std::string> ServerFrames(const std::string& bytes) {
  std::vector<std::string> out;
  for (Frame& f : SplitFrames(bytes)) {
    if (f.first_byte == 0x88 && f.payload.size() >= 2) {  // a close: status, then reason
      f.payload = std::to_string((static_cast<unsigned char>(f.payload[0]) << 8) |
                                 static_cast<unsigned char>(f.payload[1])) +
                  " " + f.payload.substr(2);
    }
    out.push_back(std::to_string(f.first_byte) + ":" + f.payload);
  }
  return out;
}

WsReceived DecodeServerFrames(const std::string& bytes) {
  WsReceived received;
  std::string message;
  bool compressed = false;
  for (const Frame& f : SplitFrames(bytes)) {
    received.first_bytes.push_back(f.first_byte);
    const int opcode = f.first_byte & 0x0f;
    if (opcode == 8 && f.payload.size() >= 2) {
      received.close = std::to_string((static_cast<unsigned char>(f.payload[0]) << 8) |
                                      static_cast<unsigned char>(f.payload[1])) +
                       " " + f.payload.substr(2);
    }
    if (opcode >= 8) continue;  // control frames carry no protocol
    if (opcode != 0) compressed = (f.first_byte & 0x40) != 0;
    message += f.payload;
    if ((f.first_byte & 0x80) == 0) continue;  // more fragments follow
    received.text += compressed ? Inflate(message) : message;
    message.clear();
  }
  return received;
}

WsReceived ReadWsUntil(RawConn* ws, const std::string& needle, const std::string& already,
                       int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string raw = already;
  WsReceived received = DecodeServerFrames(raw);
  if (received.text.find(needle) != std::string::npos) return received;
  while (std::chrono::steady_clock::now() < deadline) {
    raw += ws->ReadFor(50);
    received = DecodeServerFrames(raw);
    if (received.text.find(needle) != std::string::npos || ws->closed()) break;
  }
  return received;
}

std::string WsDeflate(const std::string& message) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, message.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  stream.avail_in = static_cast<uInt>(message.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_SYNC_FLUSH);
  out.resize(out.size() - stream.avail_out);
  deflateEnd(&stream);
  if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string("\x00\x00\xff\xff", 4)) == 0) {
    out.resize(out.size() - 4);
  }
  return out;
}

}  // namespace tern::e2e
