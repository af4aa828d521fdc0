// NATS over WebSocket (websocket {} block), byte for byte beside nats-server 2.9.10: the
// upgrade and its refusals, INFO as the first frame, the protocol inside masked client
// frames (text or binary, fragmented), pings and closes; and a WebSocket client and a TCP
// client talking to each other. /connz shows the type.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "harness.h"
#include "ws_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

const std::string kUpgrade = WsUpgrade();

std::string WebsocketConfig() {
  return WriteConfig("websocket {\n  port: -1\n  no_tls: true\n}\n");
}

// What one server does with the same WebSocket exchange, as comparable JSON.
Json Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", WebsocketConfig()};
  auto server = nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  EXPECT_GT(server->websocket_port(), 0);
  Json seen;
  {
    RawConn ws(server->websocket_port(), /*read_info=*/false);
    ws.Send(kUpgrade);
    const std::string answer = ws.ReadUntil("}\r\n");
    const std::size_t end = answer.find("\r\n\r\n");
    seen["101"] = answer.substr(0, end + 4);
    // INFO is the first frame: binary, FIN.
    seen["first frame byte"] =
        end == std::string::npos ? 0 : static_cast<unsigned char>(answer[end + 4]);
    seen["first frame is INFO"] = answer.find("INFO {") == end + 8;
    // CONNECT and a SUB in one text frame, a PUB cut across a binary frame and a
    // continuation, a ping between them.
    ws.Send(ClientFrame(0x81, "CONNECT {\"verbose\":false,\"protocol\":1}\r\nSUB ws.a 1\r\n"));
    ws.Send(ClientFrame(0x02, "PUB ws.a 5\r\nhe"));
    ws.Send(ClientFrame(0x89, "pp"));
    ws.Send(ClientFrame(0x80, "llo\r\nPING\r\n"));
    const std::string got = ws.ReadUntil("PONG\r\n");
    std::string joined;
    bool pong_frame = false;
    for (const std::string& f : ServerFrames(got)) {
      if (f == "138:pp") pong_frame = true;
      if (f.rfind("130:", 0) == 0) joined += f.substr(4);
    }
    seen["pong frame"] = pong_frame || got.find(std::string("\x8a\x02pp", 4)) != std::string::npos;
    seen["protocol out"] =
        joined.substr(joined.find("MSG") == std::string::npos ? 0 : joined.find("MSG"));
    ws.Send(ClientFrame(0x88, std::string("\x03\xe8"
                                          "bye",
                                          5)));
    const std::string closing = ws.ReadFor(1000);
    seen["close echo"] = closing.find(std::string("\x88\x05\x03\xe8"
                                                  "bye",
                                                  7)) != std::string::npos;
    seen["closed"] = ws.closed();
  }
  auto status = [&](const std::string& request) {
    RawConn ws(server->websocket_port(), false);
    ws.Send(request);
    const std::string answer = ws.ReadUntil("\r\n\r\n");
    return answer.substr(0, answer.find("\r\n"));
  };
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    return text.replace(text.find(from), from.size(), to);
  };
  seen["POST"] = status(replace(kUpgrade, "GET", "POST"));
  seen["no key"] = status(replace(kUpgrade, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""));
  seen["version 8"] = status(replace(kUpgrade, "Version: 13", "Version: 8"));
  seen["no-masking"] = status(replace(kUpgrade, "\r\n\r\n", "\r\nNats-No-Masking: true\r\n\r\n"));
  {
    // A protocol error: the -ERR, then a close frame with 1002 and the reason.
    RawConn ws(server->websocket_port(), false);
    ws.Send(kUpgrade);
    ws.ReadUntil("}\r\n");
    ws.Send(ClientFrame(0x82, "CONNECT {\"verbose\":false}\r\nZZZ\r\n"));
    const std::string got = ws.ReadFor(1500);
    std::vector<std::string> frames = ServerFrames(got);
    seen["bad op frames"] = frames;
  }
  {
    RawConn ws(server->websocket_port(), false);
    ws.Send(kUpgrade);
    ws.ReadUntil("}\r\n");
    std::string unmasked("\x82\x06PING\r\n", 8);
    ws.Send(unmasked);
    ws.ReadFor(1000);
    seen["unmasked frame closes"] = ws.closed();
  }
  return seen;
}

TEST(Websocket, ExchangeIsNatsServers) {
  const Json tern = Scenario(false);
  EXPECT_EQ(tern["101"],
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  EXPECT_EQ(tern["protocol out"], "MSG ws.a 1 5\r\nhello\r\nPONG\r\n") << tern.dump(1);
  if (NatsServerPath().empty()) return;
  const Json nats = Scenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

TEST(Websocket, TalksWithTcpClientsAndShowsInConnz) {
  auto server = ServerProcess::Start({"-c", WebsocketConfig(), "-m", "-1"});
  auto tcp = Connect(*server);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, tcp->nc, "to.tcp"), NATS_OK);
  natsConnection_Flush(tcp->nc);

  RawConn ws(server->websocket_port(), false);
  ws.Send(kUpgrade);
  ws.ReadUntil("}\r\n");
  ws.Send(ClientFrame(0x82, "CONNECT {\"verbose\":false}\r\nSUB to.ws 7\r\nPING\r\n"));
  ws.ReadUntil("PONG\r\n");
  // WebSocket -> TCP.
  ws.Send(ClientFrame(0x82, "PUB to.tcp 12\r\nfrom browser\r\n"));
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 5000), NATS_OK);
  EXPECT_EQ(Payload(msg), "from browser");
  natsMsg_Destroy(msg);
  // TCP -> WebSocket, a payload larger than one 64 KiB frame header form.
  const std::string big(70000, 'b');
  ASSERT_EQ(natsConnection_Publish(tcp->nc, "to.ws", big.data(), static_cast<int>(big.size())),
            NATS_OK);
  natsConnection_Flush(tcp->nc);
  const std::string got = ws.ReadUntil(big.substr(0, 100) + std::string(69900, 'b') + "\r\n");
  EXPECT_NE(got.find("MSG to.ws 7 70000\r\n"), std::string::npos);
  EXPECT_NE(got.find(std::string("\x82\x7f", 2)), std::string::npos);  // a 64-bit length frame

  const HttpResult connz = HttpGet(server->monitor_port(), "/connz");
  const Json body = Json::parse(connz.body, nullptr, false);
  int websocket = 0, nats = 0;
  for (const Json& c : body.value("connections", Json::array())) {
    websocket += c.value("type", "") == "websocket";
    nats += c.value("type", "") == "nats";
  }
  EXPECT_EQ(websocket, 1) << connz.body;
  EXPECT_EQ(nats, 1);
  natsSubscription_Destroy(sub);
}

TEST(Websocket, RequiresTlsUnlessNoTls) {
  const auto [code, out] = RunServerOnce("-c " + WriteConfig("websocket { port: -1 }\n"));
  EXPECT_EQ(code, 2);  // a configuration error, as every other one
  EXPECT_NE(out.find("websocket requires TLS configuration"), std::string::npos) << out;
}

}  // namespace
}  // namespace tern::e2e
