// WebSocket pieces without a socket: the upgrade answers (RFC 6455's example key, the
// refusals in nats-server's order), and the frame reader fed in pieces: masked and
// fragmented data, control frames in between, and the protocol errors it must refuse
// with nats-server's close codes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ws_frame.h"
#include "core/ws_handshake.h"
#include "core/ws_session.h"

namespace tern::core {
namespace {

const char* kRequest =
    "GET / HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

WsUpgrade Answer(const std::string& request, const WsPolicy& policy = {}) {
  WsUpgradeRequest parsed;
  std::size_t used = 0;
  EXPECT_EQ(ParseWsRequest(request, &parsed, &used), WsHeadStatus::kComplete);
  EXPECT_EQ(used, request.size());
  return AnswerWsUpgrade(parsed, policy);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

// Bytes that differ from one position to the next (an unmasking slip shows).
std::string Varied(std::size_t n) {
  std::string text(n, '\0');
  for (std::size_t i = 0; i < n; ++i) text[i] = static_cast<char>('!' + (i * 7 + i / 13) % 90);
  return text;
}

// A client frame: masked with a fixed key.
std::string ClientFrame(uint8_t first_byte, const std::string& payload, bool masked = true) {
  std::string frame(1, static_cast<char>(first_byte));
  const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
  const uint8_t bit = masked ? 0x80 : 0;
  if (payload.size() <= 125) {
    frame.push_back(static_cast<char>(bit | payload.size()));
  } else {
    frame.push_back(static_cast<char>(bit | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xff));
  }
  if (masked) frame.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ (masked ? mask[i & 3] : 0)));
  }
  return frame;
}

TEST(Websocket, UpgradeAnswersAsNatsServer) {
  EXPECT_EQ(WsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const WsUpgrade ok = Answer(kRequest);
  ASSERT_TRUE(ok.ok);
  EXPECT_EQ(ok.response,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  EXPECT_FALSE(ok.browser);
  const WsUpgrade no_mask =
      Answer(Replace(kRequest, "\r\n\r\n", "\r\nNats-No-Masking: true\r\n\r\n"));
  EXPECT_TRUE(no_mask.no_masking);
  EXPECT_NE(no_mask.response.find("Nats-No-Masking: true\r\n"), std::string::npos);
  const WsUpgrade mqtt = Answer(Replace(kRequest, "GET / ", "GET /mqtt "));
  EXPECT_TRUE(mqtt.mqtt);
  EXPECT_NE(mqtt.response.find("Sec-Websocket-Protocol: mqtt\r\n"), std::string::npos);
  // Tokens, case-insensitively, among others.
  EXPECT_TRUE(Answer(Replace(Replace(kRequest, "Upgrade: websocket", "Upgrade: WebSocket"),
                             "Connection: Upgrade", "Connection: keep-alive, Upgrade"))
                  .ok);

  auto status = [](const WsUpgrade& a) {
    return a.ok ? std::string("101") : a.response.substr(9, 3);
  };
  EXPECT_EQ(status(Answer(Replace(kRequest, "GET ", "POST "))), "405");
  EXPECT_EQ(status(Answer(Replace(kRequest, "Host: localhost:8080\r\n", ""))), "400");
  EXPECT_EQ(status(Answer(Replace(kRequest, "Upgrade: websocket", "Upgrade: h2c"))), "400");
  EXPECT_EQ(status(Answer(Replace(kRequest, "Connection: Upgrade", "Connection: close"))), "400");
  EXPECT_EQ(
      status(Answer(Replace(kRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""))),
      "400");
  EXPECT_EQ(status(Answer(Replace(kRequest, "Version: 13", "Version: 8"))), "400");
  const std::string bad = Answer(Replace(kRequest, "GET ", "PUT ")).response;
  EXPECT_EQ(bad.substr(0, 33), "HTTP/1.1 405 Method Not Allowed\r\n");

  WsPolicy origins;
  origins.allowed_origins = {"http://app.example:8000"};
  const std::string with_origin =
      Replace(kRequest, "\r\n\r\n", "\r\nOrigin: http://app.example:8000\r\n\r\n");
  EXPECT_EQ(status(Answer(with_origin, origins)), "101");
  EXPECT_EQ(status(Answer(Replace(with_origin, ":8000", ":9000"), origins)), "403");
  EXPECT_EQ(status(Answer(Replace(with_origin, "http://app", "https://app"), origins)), "403");
  EXPECT_EQ(status(Answer(kRequest, origins)), "101");  // no Origin: accepted
  WsPolicy same;
  same.same_origin = true;
  EXPECT_EQ(status(Answer(
                Replace(kRequest, "\r\n\r\n", "\r\nOrigin: http://localhost:8080\r\n\r\n"), same)),
            "101");
  EXPECT_EQ(status(Answer(Replace(kRequest, "\r\n\r\n", "\r\nOrigin: http://evil.example\r\n\r\n"),
                          same)),
            "403");
}

TEST(Websocket, FramesReadFromAnyPieces) {
  const std::string input = ClientFrame(0x82, "CONNECT {}\r\n") + ClientFrame(0x89, "pp") +
                            ClientFrame(0x01, "PUB a 2\r\n") + ClientFrame(0x8a, "pong") +
                            ClientFrame(0x80, "hi\r\n") + ClientFrame(0x81, std::string(300, 'x')) +
                            ClientFrame(0x82, Varied(9001));
  // Pieces that cut headers, masks and payloads at every offset of the mask.
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{64},
                            std::size_t{4099}, input.size()}) {
    SCOPED_TRACE(piece);
    WsDecoder decoder(true);
    std::string data;
    std::vector<WsDecoder::Control> controls;
    for (std::size_t at = 0; at < input.size(); at += piece) {
      ASSERT_TRUE(decoder.Feed(input.substr(at, piece), &data, &controls)) << decoder.error();
    }
    EXPECT_EQ(data, "CONNECT {}\r\nPUB a 2\r\nhi\r\n" + std::string(300, 'x') + Varied(9001));
    ASSERT_EQ(controls.size(), 1u);  // the ping; pongs are dropped
    EXPECT_EQ(controls[0].opcode, kWsPing);
    EXPECT_EQ(controls[0].payload, "pp");
  }
}

TEST(Websocket, ProtocolErrorsCloseWithNatsServersCodes) {
  struct Case {
    std::string input;
    const char* error;
  } cases[] = {
      {ClientFrame(0x82, "PING\r\n", false), "mask bit missing"},
      {ClientFrame(0x89, std::string(126, 'p')),
       "control frame length bigger than maximum allowed of 125 bytes"},
      {ClientFrame(0x80, "x"), "invalid continuation frame"},
      {ClientFrame(0x83, "x"), "unknown opcode 3"},
      {ClientFrame(0x09, "x"), "control frame does not have final bit set"},
  };
  for (const Case& c : cases) {
    WsDecoder decoder(true);
    std::string data;
    std::vector<WsDecoder::Control> controls;
    EXPECT_FALSE(decoder.Feed(c.input, &data, &controls));
    EXPECT_EQ(decoder.close_code(), kWsCloseProtocolError);
    EXPECT_EQ(decoder.error(), c.error);
  }
  WsDecoder unmasked_allowed(false);
  std::string data;
  std::vector<WsDecoder::Control> controls;
  EXPECT_TRUE(unmasked_allowed.Feed(ClientFrame(0x82, "PING\r\n", false), &data, &controls));
  EXPECT_EQ(data, "PING\r\n");
}

TEST(Websocket, SessionUpgradesThenAnswersPingsAndCloses) {
  WsPolicy policy;
  WsSession session(&policy);
  std::string data, reply;
  WsSession::Step step = session.Feed(std::string(kRequest).substr(0, 20), &data, &reply);
  EXPECT_FALSE(step.upgraded_now);
  step = session.Feed(std::string(kRequest).substr(20), &data, &reply);
  EXPECT_TRUE(step.upgraded_now);
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 101");
  reply.clear();
  step = session.Feed(ClientFrame(0x89, "pp") + ClientFrame(0x82, "PING\r\n"), &data, &reply);
  EXPECT_EQ(reply, std::string("\x8a\x02pp", 4));
  EXPECT_EQ(data, "PING\r\n");
  reply.clear();
  step = session.Feed(ClientFrame(0x88, std::string("\x03\xe8"
                                                    "bye",
                                                    5)),
                      &data, &reply);
  EXPECT_TRUE(step.close);
  EXPECT_EQ(reply, std::string("\x88\x05\x03\xe8"
                               "bye",
                               7));  // echoed
  WsSession early(&policy);
  step = early.Feed(std::string(kRequest) + "CONNECT", &data, &reply);
  EXPECT_TRUE(step.close);  // data before the 101: closed without an answer
  EXPECT_EQ(WsCloseFrame(1002, std::string(200, 'r')).size(), 2u + 2 + 123);
}

}  // namespace
}  // namespace tern::core
