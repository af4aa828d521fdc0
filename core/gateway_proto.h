#pragma once
// What a gateway peer's INFO and CONNECT say, read from their JSON (nats-server 2.9's
// gateway handshake, ../shared/cluster-wire-notes.md section 5). Pure; the fuzz target
// fuzz_gateway drives it with the route parser as GatewayConnection does.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::core {

// What the link learned of the server at the other end.
struct GatewayPeer {
  std::string server_id;
  std::string server_name;
  std::string gateway;                    // its cluster's gateway name
  std::vector<std::string> gateway_urls;  // host:port
  bool headers = false;
  bool interest_only = false;  // gateway_iom: it switches every account at once (2.9+)
};

// gateway_cmd values of a later INFO.
inline constexpr int kGatewayCmdGossip = 1;
inline constexpr int kGatewayCmdAllSubsStart = 2;
inline constexpr int kGatewayCmdAllSubsComplete = 3;

struct GatewayInfo {
  GatewayPeer peer;     // gateway_urls holds gateway_url when the list is empty
  int command = 0;      // gateway_cmd
  std::string payload;  // gateway_cmd_payload (2 and 3: the account, base64)
};

// Empty when the text is not a JSON object.
std::optional<GatewayInfo> ParseGatewayInfo(std::string_view text);

struct GatewayConnect {
  std::string gateway;  // empty: a client or a route dialled the gateway port
  std::string user;
  std::string pass;
  bool is_client = false;  // has "lang"
};

std::optional<GatewayConnect> ParseGatewayConnect(std::string_view text);

}  // namespace tern::core
