// Authentication of WebSocket clients beside nats-server 2.9.10: the websocket block's own
// authorization (a user, a token) and no_auth_user overriding the server's for WebSocket
// clients only, allowed_connection_types (STANDARD, WEBSOCKET), the configuration errors,
// handshake_timeout, and jwt_cookie in operator mode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "harness.h"
#include "jwt_world.h"
#include "ws_util.h"

namespace tern::e2e {
namespace {

using Json = nlohmann::json;

std::unique_ptr<ServerProcess> Start(bool nats, const std::string& config) {
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-c", WriteConfig(config)};
  return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
}

// What a client sees after CONNECT and PING: "PONG", or the -ERR line and, over WebSocket,
// the close frame's status.
std::string TcpLogin(const ServerProcess& server, const std::string& connect) {
  RawConn tcp(server.port());
  tcp.Send("CONNECT " + connect + "\r\nPING\r\n");
  const std::string got = tcp.ReadUntil("PONG\r\n");
  if (got.find("PONG\r\n") != std::string::npos) return "PONG";
  const std::size_t err = got.find("-ERR");
  return err == std::string::npos ? got : got.substr(err, got.find("\r\n", err) - err);
}

struct WsLoginResult {
  std::string info;     // the INFO line
  std::string outcome;  // as TcpLogin's, plus " / <close status and reason>"
};

WsLoginResult WsLogin(const ServerProcess& server, const std::string& connect,
                      const std::string& then = "", const std::string& headers = "",
                      const std::function<std::string(const std::string&)>& sign = nullptr) {
  WsLoginResult result;
  RawConn ws(server.websocket_port(), /*read_info=*/false);
  ws.Send(WsUpgrade(headers));
  std::string answer = ws.ReadUntil("\r\n\r\n");
  const std::size_t end = answer.find("\r\n\r\n");
  if (end == std::string::npos) return {"", "no 101"};
  const WsReceived info = ReadWsUntil(&ws, "\r\n", answer.substr(end + 4));
  result.info = info.text;
  std::string body = connect;
  if (sign) {
    const Json parsed = Json::parse(info.text.substr(5), nullptr, false);
    body = sign(parsed.is_object() ? parsed.value("nonce", "") : "");
  }
  ws.Send(ClientFrame(0x82, "CONNECT " + body + "\r\n" + then + "PING\r\n"));
  const WsReceived got = ReadWsUntil(&ws, "PONG\r\n");
  const std::string& text = got.text;
  const std::size_t err = text.find("-ERR");
  if (err != std::string::npos) {
    result.outcome = text.substr(err, text.find("\r\n", err) - err);
  } else {
    result.outcome = text.find("PONG\r\n") != std::string::npos ? "PONG" : text;
  }
  if (!got.close.empty()) result.outcome += " / " + got.close;
  return result;
}

const char* kWsBlock = "websocket {\n port: -1\n no_tls: true\n";

Json Scenario(bool nats) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  Json seen;
  {
    // The block's own user; the server has no authorization.
    auto s =
        Start(nats, std::string(kWsBlock) + " authorization { user: wsu, password: wsp }\n}\n");
    seen["A tcp without credentials"] = TcpLogin(*s, "{}");
    const WsLoginResult none = WsLogin(*s, "{\"verbose\":false}");
    seen["A ws info auth_required"] = none.info.find("\"auth_required\":true") != std::string::npos;
    seen["A ws without credentials"] = none.outcome;
    seen["A ws user"] =
        WsLogin(*s, "{\"verbose\":false,\"user\":\"wsu\",\"pass\":\"wsp\"}").outcome;
    seen["A ws bad password"] =
        WsLogin(*s, "{\"verbose\":false,\"user\":\"wsu\",\"pass\":\"no\"}").outcome;
  }
  {
    // Server users, and a no_auth_user for WebSocket clients only.
    auto s = Start(nats, std::string(kWsBlock) +
                             " no_auth_user: b\n}\nauthorization { users: [\n"
                             "  {user: a, password: pa}\n"
                             "  {user: b, password: pb, permissions: {publish: \"b.>\"}}\n]}\n");
    seen["B tcp without credentials"] = TcpLogin(*s, "{\"verbose\":false}");
    seen["B ws without credentials"] = WsLogin(*s, "{\"verbose\":false}").outcome;
    seen["B ws as b publishes outside b.>"] =
        WsLogin(*s, "{\"verbose\":false}", "PUB x 1\r\nx\r\n").outcome;
    seen["B ws as a"] = WsLogin(*s, "{\"verbose\":false,\"user\":\"a\",\"pass\":\"pa\"}").outcome;
  }
  {
    // allowed_connection_types tell TCP and WebSocket clients apart.
    auto s =
        Start(nats, std::string(kWsBlock) +
                        "}\nauthorization { users: [\n"
                        "  {user: t, password: p, allowed_connection_types: [STANDARD]}\n"
                        "  {user: w, password: p, allowed_connection_types: [WEBSOCKET]}\n]}\n");
    seen["C tcp t"] = TcpLogin(*s, "{\"verbose\":false,\"user\":\"t\",\"pass\":\"p\"}");
    seen["C tcp w"] = TcpLogin(*s, "{\"verbose\":false,\"user\":\"w\",\"pass\":\"p\"}");
    seen["C ws t"] = WsLogin(*s, "{\"verbose\":false,\"user\":\"t\",\"pass\":\"p\"}").outcome;
    seen["C ws w"] = WsLogin(*s, "{\"verbose\":false,\"user\":\"w\",\"pass\":\"p\"}").outcome;
  }
  {
    // The block's token replaces the server's for WebSocket clients.
    auto s = Start(nats, std::string(kWsBlock) + " authorization { token: wstok }\n}\n" +
                             "authorization { token: tcptok }\n");
    seen["D tcp token"] = TcpLogin(*s, "{\"verbose\":false,\"auth_token\":\"tcptok\"}");
    seen["D ws server token"] =
        WsLogin(*s, "{\"verbose\":false,\"auth_token\":\"tcptok\"}").outcome;
    seen["D ws block token"] = WsLogin(*s, "{\"verbose\":false,\"auth_token\":\"wstok\"}").outcome;
  }
  {
    // An upgrade that never comes is dropped after handshake_timeout.
    auto s = Start(nats, std::string(kWsBlock) + " handshake_timeout: \"300ms\"\n}\n");
    RawConn silent(s->websocket_port(), false);
    silent.Send("GET / HTTP/1.1\r\n");
    const std::string got = silent.ReadFor(10000);
    seen["E silent upgrade dropped"] = silent.closed();
    seen["E answer"] = got;
  }
  return seen;
}

TEST(WebsocketAuth, AsNatsServer) {
  const Json tern = Scenario(false);
  EXPECT_EQ(tern["A ws user"], "PONG") << tern.dump(1);
  EXPECT_EQ(tern["A ws without credentials"],
            "-ERR 'Authorization Violation' / 1008 Authentication Failure");
  EXPECT_EQ(tern["B ws without credentials"], "PONG");
  EXPECT_EQ(tern["C ws w"], "PONG");
  EXPECT_EQ(tern["D ws block token"], "PONG");
  EXPECT_EQ(tern["E silent upgrade dropped"], true);
  if (NatsServerPath().empty()) return;
  const Json nats = Scenario(true);
  for (const auto& [step, outcome] : nats.items()) {
    EXPECT_EQ(tern.value(step, Json()), outcome) << step;
  }
}

TEST(WebsocketAuth, ConfigurationErrorsAsNatsServer) {
  const std::string users = "authorization { users: [ {user: a, password: pa} ] }\n";
  struct Case {
    std::string config;
    std::string error;
  } cases[] = {
      {std::string(kWsBlock) + " authorization { user: x, password: y }\n}\n" + users,
       "websocket authentication username not compatible with presence of users/nkeys"},
      {std::string(kWsBlock) + " authorization { token: t }\n}\n" + users,
       "websocket authentication token not compatible with presence of users/nkeys"},
      {std::string(kWsBlock) + " no_auth_user: ghost\n}\n" + users,
       "no_auth_user: \"ghost\" not present as user in authorization block or account "
       "configuration"},
      {std::string(kWsBlock) + " no_auth_user: ghost\n}\n",
       "no_auth_user: \"ghost\" present, but users are not defined"},
      {std::string(kWsBlock) + " jwt_cookie: jwt\n}\n",
       "trusted operators or trusted keys configuration is required for JWT authentication via "
       "cookie \"jwt\""},
  };
  for (const Case& c : cases) ExpectStartFails(WriteConfig(c.config), c.error);
}

// Operator mode: a browser's JWT comes in the cookie jwt_cookie names; the client signs
// the nonce as usual.
Json CookieScenario(bool nats, const World& world, const std::string& user_jwt,
                    const TestKey& user) {
  SCOPED_TRACE(nats ? "nats-server" : "Tern");
  const std::string config = world.Config();
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto s = Start(nats, text + kWsBlock + " jwt_cookie: natsjwt\n}\n");
  auto sign = [&](const std::string& nonce) {
    const std::string sig =
        core::auth::EncodeBase64Url(core::auth::SignEd25519(user.raw_seed, nonce));
    return "{\"verbose\":false,\"sig\":\"" + sig + "\"}";
  };
  Json seen;
  seen["with cookie"] =
      WsLogin(*s, "", "", "Cookie: theme=dark; natsjwt=" + user_jwt + "\r\n", sign).outcome;
  seen["without cookie"] = WsLogin(*s, "", "", "", sign).outcome;
  return seen;
}

TEST(WebsocketAuth, JwtFromTheCookie) {
  const World world;
  const TestKey user = NewKey(KeyRole::kUser);
  const std::string user_jwt =
      SignJwt(world.a, user.public_key, "user", {{"subs", -1}, {"data", -1}, {"payload", -1}});
  const Json tern = CookieScenario(false, world, user_jwt, user);
  EXPECT_EQ(tern["with cookie"], "PONG") << tern.dump(1);
  EXPECT_NE(tern["without cookie"], "PONG");
  if (NatsServerPath().empty()) return;
  EXPECT_EQ(tern, CookieScenario(true, world, user_jwt, user));
}

}  // namespace
}  // namespace tern::e2e
