// permessage-deflate without a socket: RFC 7692's own example both ways, client messages
// compressed whole or in fragments, the limits and bad data a client can send, and the
// server's compressed frames (plain up to 64 bytes, fragments for a browser).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ws_deflate.h"
#include "core/ws_frame.h"
#include "core/ws_session.h"

namespace tern::core {
namespace {

// RFC 7692 section 7.2.3.1: "Hello" as one compressed message.
const std::string kHelloDeflated("\xf2\x48\xcd\xc9\xc9\x07\x00", 7);

std::string Frame(uint8_t first_byte, const std::string& payload) {
  std::string frame(1, static_cast<char>(first_byte));
  AppendWsFrameHeader(0, payload.size(), &frame);
  frame.erase(1, 1);  // keep only the length bytes of the generated header
  return frame + payload;
}

std::string Decode(WsDecoder* decoder, const std::string& input, bool* ok) {
  std::string data;
  std::vector<WsDecoder::Control> controls;
  *ok = decoder->Feed(input, &data, &controls);
  return data;
}

TEST(WsDeflate, RfcExampleBothWays) {
  WsDeflater deflater;
  std::string out;
  deflater.Deflate("Hello", &out);
  EXPECT_EQ(out, kHelloDeflated);
  out.clear();
  deflater.Deflate("Hello", &out);  // no context takeover: the same bytes again
  EXPECT_EQ(out, kHelloDeflated);
  std::string inflated;
  ASSERT_TRUE(WsInflate(kHelloDeflated, 100, &inflated));
  EXPECT_EQ(inflated, "Hello");
}

TEST(WsDeflate, DecoderInflatesWholeAndFragmentedMessages) {
  WsDecoder decoder(false, /*inflate=*/true);
  bool ok = false;
  // Whole, then split across a first frame (RSV1) and continuations, then a plain message.
  const std::string input = Frame(0xc1, kHelloDeflated) + Frame(0x41, kHelloDeflated.substr(0, 3)) +
                            Frame(0x00, kHelloDeflated.substr(3, 2)) +
                            Frame(0x80, kHelloDeflated.substr(5)) + Frame(0x82, " plain");
  for (std::size_t piece : {std::size_t{1}, input.size()}) {
    WsDecoder fresh(false, true);
    std::string data;
    for (std::size_t at = 0; at < input.size(); at += piece) {
      data += Decode(&fresh, input.substr(at, piece), &ok);
      ASSERT_TRUE(ok) << fresh.error();
    }
    EXPECT_EQ(data, "HelloHello plain");
  }
  // A large message round trip through the server's own deflater.
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "PUB telemetry." + std::to_string(i % 17) + " 2\r\nok\r\n";
  WsDeflater deflater;
  std::string compressed;
  deflater.Deflate(big, &compressed);
  EXPECT_LT(compressed.size(), big.size() / 10);
  std::string frame;
  AppendWsFrameHeader(kWsBinary | 0x40, compressed.size(), &frame);
  EXPECT_EQ(Decode(&decoder, frame + compressed, &ok), big);
  EXPECT_TRUE(ok);
}

TEST(WsDeflate, RefusesWhatAClientMustNotSend) {
  bool ok = true;
  WsDecoder not_agreed(false, false);
  Decode(&not_agreed, Frame(0xc1, kHelloDeflated), &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(not_agreed.close_code(), kWsCloseProtocolError);

  WsDecoder compressed_continuation(false, true);
  Decode(&compressed_continuation, Frame(0x01, "a") + Frame(0xc0, kHelloDeflated), &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(compressed_continuation.error(), "continuation frame is compressed");

  WsDecoder compressed_ping(false, true);
  Decode(&compressed_ping, Frame(0xc9, "x"), &ok);
  EXPECT_FALSE(ok);

  WsDecoder garbage(false, true);
  Decode(&garbage, Frame(0xc2, std::string("\xff\xff\xff\xff\xff", 5)), &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(garbage.close_code(), kWsCloseInvalidPayload);

  // A small message that inflates past the limit (a deflate bomb) is refused, not inflated.
  WsDeflater deflater;
  std::string bomb;
  deflater.Deflate(std::string(1 << 20, 'z'), &bomb);
  EXPECT_LT(bomb.size(), 2000u);
  WsDecoder limited(false, true, 64 * 1024);
  Decode(&limited, Frame(0xc2, bomb), &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(limited.close_code(), kWsCloseInvalidPayload);
}

WsSession Upgraded(const WsPolicy& policy, const std::string& user_agent) {
  WsSession session(&policy);
  std::string data, reply;
  const std::string request =
      "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
      "User-Agent: " +
      user_agent + "\r\n\r\n";
  EXPECT_TRUE(session.Feed(request, &data, &reply).upgraded_now);
  EXPECT_NE(reply.find("Sec-WebSocket-Extensions: permessage-deflate; "
                       "server_no_context_takeover; client_no_context_takeover\r\n"),
            std::string::npos)
      << reply;
  return session;
}

// The first byte of each frame in `frames`.
std::vector<int> FrameBytes(const std::string& frames) {
  std::vector<int> firsts;
  std::size_t at = 0;
  while (at + 2 <= frames.size()) {
    firsts.push_back(static_cast<unsigned char>(frames[at]));
    uint64_t len = static_cast<unsigned char>(frames[at + 1]) & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      len = (static_cast<uint64_t>(static_cast<unsigned char>(frames[at + 2])) << 8) |
            static_cast<unsigned char>(frames[at + 3]);
      header = 4;
    }
    at += header + len;
  }
  return firsts;
}

TEST(WsDeflate, ServerFramesAsNatsServerSendsThem) {
  WsPolicy policy;
  policy.compression = true;
  WsSession tool = Upgraded(policy, "nats.go");
  EXPECT_FALSE(tool.compresses(64));  // PONG and other small flushes go plain
  EXPECT_TRUE(tool.compresses(65));
  std::string incompressible;
  uint32_t x = 12345;
  for (int i = 0; i < 10000; ++i) {
    x = x * 1103515245 + 12345;
    incompressible.push_back(static_cast<char>(x >> 16));
  }
  std::string frames;
  tool.AppendCompressed(incompressible, &frames);
  EXPECT_EQ(FrameBytes(frames), std::vector<int>{0xc2});  // one RSV1 binary frame

  WsSession chrome = Upgraded(policy, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0");
  frames.clear();
  chrome.AppendCompressed(incompressible, &frames);
  EXPECT_EQ(FrameBytes(frames), (std::vector<int>{0x42, 0x00, 0x80}));  // 4 KiB fragments
  WsDecoder reader(false, true);
  // Read back as a client would (the decoder accepts unmasked frames when told to).
  bool ok = false;
  EXPECT_EQ(Decode(&reader, frames, &ok), incompressible);
  EXPECT_TRUE(ok);

  WsSession safari =
      Upgraded(policy, "Mozilla/5.0 (Macintosh) AppleWebKit/605 Version/17.0 Safari/605.1.15");
  frames.clear();
  safari.AppendCompressed(incompressible, &frames);
  EXPECT_EQ(FrameBytes(frames), std::vector<int>{0xc2});
}

}  // namespace
}  // namespace tern::core
