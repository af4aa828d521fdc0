#pragma once
// A WebSocket client's side for the end-to-end tests: the upgrade request, masked client
// frames, and reading the server's frames back (inflating compressed messages).
#include <cstdint>
#include <string>
#include <vector>

#include "harness.h"

namespace tern::e2e {

// RFC 6455's example key; `extra_headers` ("Name: value\r\n" lines) go before the blank line.
std::string WsUpgrade(const std::string& extra_headers = "");
// One masked client frame with this first byte (FIN, RSV1, opcode).
std::string ClientFrame(uint8_t first_byte, const std::string& payload);
// The server's complete frames in `bytes`, each "<first byte>:<payload>"; a close's payload
// as its status number, a space and the reason.
std::vector<std::string> ServerFrames(const std::string& bytes);

// What a client makes of the server's frames: the protocol text (compressed messages
// inflated, fragments joined) and each frame's first byte.
struct WsReceived {
  std::string text;
  std::vector<int> first_bytes;
  std::string close;  // a close frame's status and reason ("1008 Authentication Failure")
};
WsReceived DecodeServerFrames(const std::string& bytes);
// Reads until the decoded text holds `needle`, the peer closes, or the timeout; `already`:
// frame bytes read before (after the 101).
WsReceived ReadWsUntil(RawConn* ws, const std::string& needle, const std::string& already = "",
                       int timeout_ms = 5000);
// `message` deflated as a permessage-deflate client sends it (no 00 00 ff ff tail).
std::string WsDeflate(const std::string& message);

}  // namespace tern::e2e
