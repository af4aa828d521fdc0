// libFuzzer target: bytes from a gateway peer as GatewayConnection reads them: the route
// parser (gateways speak the route protocol with accounts) and, for INFO and CONNECT lines,
// the gateway handshake readers (core/gateway_proto). Beyond "no crash": a line that is a
// JSON object always reads; what was read, written back as JSON and read again, is the
// same (wrongly typed fields read as absent, consistently); a frame never follows an error.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/gateway_proto.h"
#include "core/route_parser.h"

namespace {

using tern::core::GatewayConnect;
using tern::core::GatewayInfo;

bool IsObject(std::string_view text) {
  return nlohmann::json::parse(text, nullptr, false).is_object();
}

void CheckInfo(std::string_view text) {
  std::optional<GatewayInfo> info = tern::core::ParseGatewayInfo(text);
  if (info.has_value() != IsObject(text)) std::abort();
  if (!info) return;
  nlohmann::json again;
  again["server_id"] = info->peer.server_id;
  again["server_name"] = info->peer.server_name;
  again["gateway"] = info->peer.gateway;
  again["gateway_urls"] = info->peer.gateway_urls;
  again["headers"] = info->peer.headers;
  again["gateway_cmd"] = info->command;
  again["gateway_cmd_payload"] = info->payload;
  std::optional<GatewayInfo> reread = tern::core::ParseGatewayInfo(again.dump());
  if (!reread || reread->peer.server_id != info->peer.server_id ||
      reread->peer.server_name != info->peer.server_name ||
      reread->peer.gateway != info->peer.gateway ||
      reread->peer.gateway_urls != info->peer.gateway_urls ||
      reread->peer.headers != info->peer.headers || reread->command != info->command ||
      reread->payload != info->payload) {
    std::abort();
  }
}

void CheckConnect(std::string_view text) {
  std::optional<GatewayConnect> connect = tern::core::ParseGatewayConnect(text);
  if (connect.has_value() != IsObject(text)) std::abort();
  if (!connect) return;
  nlohmann::json again;
  again["gateway"] = connect->gateway;
  again["user"] = connect->user;
  again["pass"] = connect->pass;
  if (connect->is_client) again["lang"] = "c";
  std::optional<GatewayConnect> reread = tern::core::ParseGatewayConnect(again.dump());
  if (!reread || reread->gateway != connect->gateway || reread->user != connect->user ||
      reread->pass != connect->pass || reread->is_client != connect->is_client) {
    std::abort();
  }
}

class GatewayHandler final : public tern::core::RouteHandler {
 public:
  void OnRouteInfo(std::string_view json) override {
    Frame();
    CheckInfo(json);
  }
  void OnRouteConnect(std::string_view json) override {
    Frame();
    CheckConnect(json);
  }
  void OnRoutePing() override { Frame(); }
  void OnRoutePong() override { Frame(); }
  void OnRouteErr(std::string_view) override { Frame(); }
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight, std::string_view) override {
    Frame();
    if (account.empty() || subject.empty() || queue.empty() != (weight == 0)) std::abort();
  }
  void OnRouteUnsub(std::string_view account, std::string_view subject, std::string_view) override {
    Frame();
    if (account.empty() || subject.empty()) std::abort();
  }
  void OnRouteMsg(const tern::core::RoutedMsg& msg) override {
    Frame();
    if (msg.account.empty() || msg.subject.empty() || msg.header_len > msg.data.size()) {
      std::abort();
    }
  }
  void OnRouteParseError(std::string_view) override {
    Frame();
    failed_ = true;
  }
  bool RoutePaused() const override { return failed_; }
  bool failed() const { return failed_; }

 private:
  void Frame() const {
    if (failed_) std::abort();  // nothing may follow an error
  }
  bool failed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::size_t split = 1 + data[0] % size;  // in [1, size]
  const char* bytes = reinterpret_cast<const char*>(data);
  GatewayHandler handler;
  tern::core::RouteParser parser(false);
  parser.Feed(bytes + 1, split - 1, handler);  // a frame cut here is kept by the parser
  if (!handler.failed()) parser.Feed(bytes + split, size - split, handler);
  return 0;
}
