#pragma once
// The WebSocket opening handshake as nats-server 2.9 answers it: the HTTP/1.1 upgrade
// request read from the first bytes of a connection on the websocket port, checked in
// nats-server's order (method, Host, Upgrade, Connection, key, version, origin), and the
// 101 response, or the HTTP error that refuses it. Pure functions.
#include <string>
#include <string_view>
#include <vector>

namespace tern::core {

struct WsUpgradeRequest {
  std::string method, path, version;  // request line
  std::string host, upgrade, connection, key, ws_version, origin, extensions, user_agent,
      no_masking, forwarded_for;
  std::string cookies;  // the Cookie headers, "a=1; b=2"
};

// How the listener is configured (websocket {} block).
struct WsPolicy {
  bool compression = false;
  bool same_origin = false;
  std::vector<std::string> allowed_origins;  // URLs: scheme://host[:port]
  bool tls = false;                          // the listener is wss
};

enum class WsHeadStatus { kNeedMore, kComplete, kTooLarge };
// Reads the request head from the start of `input` (through the blank line); *used = its
// length when complete.
WsHeadStatus ParseWsRequest(std::string_view input, WsUpgradeRequest* out, std::size_t* used);

struct WsUpgrade {
  bool ok = false;
  std::string response;     // the bytes to send: 101, or the HTTP error
  bool compress = false;    // permessage-deflate agreed
  bool no_masking = false;  // the client's frames may be unmasked (Nats-No-Masking)
  bool mqtt = false;        // the path starts with /mqtt
  bool browser = false;     // a browser's User-Agent (Mozilla/...)
  bool safari = false;      // Safari's: compressed messages go unfragmented
  std::string cookies;      // the request's, for jwt_cookie
};
WsUpgrade AnswerWsUpgrade(const WsUpgradeRequest& request, const WsPolicy& policy);

// The value of cookie `name` in a Cookie header ("a=1; b=2"); empty when absent.
std::string WsCookieValue(std::string_view cookies, std::string_view name);

// base64(SHA-1(key + the RFC 6455 GUID)).
std::string WsAcceptKey(std::string_view key);

}  // namespace tern::core
