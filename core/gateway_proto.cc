#include "core/gateway_proto.h"

#include "core/link_json.h"

namespace tern::core {

std::optional<GatewayInfo> ParseGatewayInfo(std::string_view text) {
  std::optional<LinkJson> json = LinkJson::Parse(text);
  if (!json) return std::nullopt;
  GatewayInfo info;
  info.peer.server_id = json->Text("server_id");
  info.peer.server_name = json->Text("server_name");
  info.peer.gateway = json->Text("gateway");
  info.peer.gateway_urls = json->Texts("gateway_urls");
  if (info.peer.gateway_urls.empty()) {
    if (std::string url = json->Text("gateway_url"); !url.empty()) {
      info.peer.gateway_urls.push_back(std::move(url));
    }
  }
  info.peer.headers = json->Flag("headers");
  info.peer.interest_only = json->Flag("gateway_iom");
  info.command = json->Integer("gateway_cmd", 0);
  info.payload = json->Text("gateway_cmd_payload");
  return info;
}

std::optional<GatewayConnect> ParseGatewayConnect(std::string_view text) {
  std::optional<LinkJson> json = LinkJson::Parse(text);
  if (!json) return std::nullopt;
  GatewayConnect connect;
  connect.gateway = json->Text("gateway");
  connect.user = json->Text("user");
  connect.pass = json->Text("pass");
  connect.is_client = json->Has("lang");
  return connect;
}

}  // namespace tern::core
