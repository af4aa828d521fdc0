#pragma once
// Where and when a user may connect, as nats-server reads it from user JWTs: source
// networks (`src`, CIDRs), daily time windows (`times` in `times_location`) and the
// connection types (`allowed_connection_types`, also a setting of configured users).
// Pure functions, called by a connection's shard at CONNECT.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tern::core::auth {

// Is `ip` (the client's address, as text) inside one of the CIDRs of `src` (an array of
// strings or one comma-separated string)? A missing or empty `src` admits everyone; a CIDR
// that does not parse admits no one.
bool SourceAllowed(const nlohmann::json& src, std::string_view ip);

// Is `now` (unix seconds) inside one of the daily windows of `times` ([{"start":
// "HH:MM:SS", "end": "HH:MM:SS"}], local to `location`)? A window whose end is before its
// start runs over midnight. On success *valid_until is when the window closes (0: no
// windows, no end). False with *reason otherwise.
bool WithinTimes(const nlohmann::json& times, std::string_view location, int64_t now,
                 int64_t* valid_until, std::string* reason);

// nats-server's connection type names; true for those (in any case).
bool IsConnectionType(std::string_view type);
// May a plain NATS client connection (STANDARD) use an account limited to `types`?
// An empty list allows every type.
bool StandardConnectionAllowed(const std::vector<std::string>& types);
// The same for another kind ("LEAFNODE", "WEBSOCKET", "MQTT"), case-insensitive.
bool ConnectionTypeAllowed(const std::vector<std::string>& types, std::string_view type);

}  // namespace tern::core::auth
