#include "core/system_events.h"

#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"
#include "core/clock.h"
#include "core/time_format.h"

namespace tern::core {

std::string ClientEventSubject(const ConnInfo& info, bool connect) {
  return "$SYS.ACCOUNT." + info.account + (connect ? ".CONNECT" : ".DISCONNECT");
}

std::string ClientEventJson(const ConnInfo& info, const ServerContext& context, bool connect,
                            uint64_t seq) {
  const int64_t now = WallClockNs();
  nlohmann::ordered_json event;
  event["type"] = connect ? "io.nats.server.advisory.v1.client_connect"
                          : "io.nats.server.advisory.v1.client_disconnect";
  event["id"] = auth::EncodeBase64Url(auth::RandomBytes(16));
  event["timestamp"] = Rfc3339Nano(now);
  nlohmann::ordered_json server;
  server["name"] = context.server_name;
  server["host"] = context.settings->options.host;
  server["id"] = context.server_id;
  server["ver"] = kNatsProtocolVersion;
  server["seq"] = seq;
  server["jetstream"] = context.settings->options.jetstream;
  server["time"] = Rfc3339Nano(now);
  event["server"] = server;
  nlohmann::ordered_json client;
  client["start"] = Rfc3339Nano(info.start_unix_ns);
  if (!connect) client["stop"] = Rfc3339Nano(info.stop_unix_ns);
  client["host"] = info.ip;
  client["id"] = info.cid;
  client["acc"] = info.account;
  if (!info.authorized_user.empty()) client["user"] = info.authorized_user;
  if (!info.name.empty()) client["name"] = info.name;
  if (!info.lang.empty()) client["lang"] = info.lang;
  if (!info.version.empty()) client["ver"] = info.version;
  client["server"] = context.server_name;
  client["kind"] = "Client";
  client["client_type"] = "nats";
  event["client"] = client;
  if (!connect) {
    // As nats-server: "sent" is what the server sent the client.
    event["sent"] = {{"msgs", info.out_msgs}, {"bytes", info.out_bytes}};
    event["received"] = {{"msgs", info.in_msgs}, {"bytes", info.in_bytes}};
    event["reason"] = info.reason;
  }
  return event.dump();
}

}  // namespace tern::core
