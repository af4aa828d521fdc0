// permessage-deflate on the websocket port, beside nats-server 2.9.10 with the same
// exchange: the agreement line in the 101, compressed client messages (whole and
// fragmented), the server's compressed flushes (small ones plain), a browser's fragments,
// and bad compressed data. Compressed bytes differ between zlib and Go's flate, so what is
// compared is what a client reads: the inflated protocol and each frame's flags.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "harness.h"
#include "ws_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

const char* kOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

// Upgrades with compression offered; returns the 101 and leaves the INFO frame's bytes
// in *rest.
std::string Upgrade(RawConn* ws, const std::string& extra_headers, std::string* rest) {
  ws->Send(WsUpgrade(kOffer + extra_headers));
  std::string answer = ws->ReadUntil("\r\n\r\n");
  const std::size_t end = answer.find("\r\n\r\n");
  if (end == std::string::npos) return answer;
  *rest = answer.substr(end + 4);
  return answer.substr(0, end + 4);
}

std::string Incompressible(std::size_t size) {
  std::string bytes;
  uint32_t x = 2024;
  while (bytes.size() < size) {
    x = x * 1103515245 + 12345;
    const char c = static_cast<char>('!' + (x >> 16) % 90);
    bytes.push_back(c);
  }
  return bytes;
}

Json Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  const std::string config =
      WriteConfig("websocket {\n port: -1\n no_tls: true\n compression: true\n}\n");
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", config};
  auto server = nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
  Json seen;
  {
    RawConn ws(server->websocket_port(), /*read_info=*/false);
    std::string rest;
    const std::string answer = Upgrade(&ws, "", &rest);
    seen["101"] = answer.substr(answer.find("Sec-WebSocket-Extensions"));
    WsReceived info = ReadWsUntil(&ws, "\r\n", rest);
    seen["INFO frame"] = info.first_bytes;  // INFO is more than 64 bytes: deflated
    seen["INFO text"] = info.text.substr(0, 6);
    // A compressed client message carrying CONNECT, SUB, a PUB of 300 bytes and a PING.
    const std::string payload = std::string(300, 'm');
    ws.Send(ClientFrame(0xc1, WsDeflate("CONNECT {\"verbose\":false}\r\nSUB ws.z 1\r\nPUB ws.z "
                                        "300\r\n" +
                                        payload + "\r\nPING\r\n")));
    WsReceived got = ReadWsUntil(&ws, "PONG\r\n");
    seen["compressed in"] = got.text;
    bool flags_ok = !got.first_bytes.empty();
    for (int b : got.first_bytes) flags_ok = flags_ok && (b == 0xc2 || b == 0x82);
    seen["frames deflated or plain"] = flags_ok;
    // A small flush goes plain.
    ws.Send(ClientFrame(0x81, "PING\r\n"));
    got = ReadWsUntil(&ws, "PONG\r\n");
    seen["small flush"] = got.first_bytes;
    // A compressed message in fragments: RSV1 only on the first.
    const std::string deflated = WsDeflate("PUB ws.z 2\r\nok\r\nPING\r\n");
    ws.Send(ClientFrame(0x41, deflated.substr(0, 4)) + ClientFrame(0x00, deflated.substr(4, 3)) +
            ClientFrame(0x80, deflated.substr(7)));
    got = ReadWsUntil(&ws, "PONG\r\n");
    seen["fragmented in"] = got.text;
  }
  {
    // A browser: a large deflated flush goes as 4 KiB fragments.
    RawConn ws(server->websocket_port(), false);
    std::string rest;
    Upgrade(&ws, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\r\n", &rest);
    ReadWsUntil(&ws, "\r\n", rest);
    ws.Send(ClientFrame(0x82, "CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n"));
    ReadWsUntil(&ws, "PONG\r\n");
    RawConn tcp(server->port());
    tcp.Send("CONNECT {\"verbose\":false}\r\nPUB big 10000\r\n" + Incompressible(10000) +
             "\r\nPING\r\n");
    tcp.ReadUntil("PONG\r\n");
    const WsReceived got = ReadWsUntil(&ws, Incompressible(10000) + "\r\n");
    seen["browser frames"] = got.first_bytes;
    seen["browser text ok"] = got.text == "MSG big 1 10000\r\n" + Incompressible(10000) + "\r\n";
  }
  {
    // Bad deflate data closes the connection.
    RawConn ws(server->websocket_port(), false);
    std::string rest;
    Upgrade(&ws, "", &rest);
    ReadWsUntil(&ws, "\r\n", rest);
    ws.Send(ClientFrame(0xc2, std::string("\xff\xff\xff\xff\xff\xff", 6)));
    ws.ReadFor(1500);
    seen["bad deflate closes"] = ws.closed();
  }
  return seen;
}

TEST(WebsocketCompression, AsNatsServer) {
  const Json tern = Scenario(false);
  EXPECT_EQ(tern["101"],
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover\r\n\r\n");
  EXPECT_EQ(tern["INFO frame"], Json::array({0xc2}));
  EXPECT_EQ(tern["compressed in"], "MSG ws.z 1 300\r\n" + std::string(300, 'm') + "\r\nPONG\r\n");
  EXPECT_EQ(tern["small flush"], Json::array({0x82}));
  EXPECT_EQ(tern["browser frames"], Json::array({0x42, 0x00, 0x80}));
  EXPECT_EQ(tern["browser text ok"], true);
  if (NatsServerPath().empty()) return;
  const Json nats = Scenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

TEST(WebsocketCompression, NotAgreedWithoutTheSetting) {
  auto server = ServerProcess::Start(
      {"-c", WriteConfig("websocket {\n port: -1\n no_tls: true\n}\n"), "-m", "-1"});
  RawConn ws(server->websocket_port(), false);
  std::string rest;
  const std::string answer = Upgrade(&ws, "", &rest);
  EXPECT_EQ(answer.find("permessage-deflate"), std::string::npos) << answer;
  // And /varz says how the listener is set up.
  const Json varz = Json::parse(HttpGet(server->monitor_port(), "/varz").body, nullptr, false);
  EXPECT_EQ(varz["websocket"]["port"], server->websocket_port());
  EXPECT_EQ(varz["websocket"]["no_tls"], true);
  EXPECT_FALSE(varz["websocket"].contains("compression"));
}

}  // namespace
}  // namespace tern::e2e
