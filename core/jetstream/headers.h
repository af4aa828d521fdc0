#pragma once
// NATS header blocks ("NATS/1.0[ status text]\r\nKey: Value\r\n...\r\n\r\n"): reading a
// value, building status messages, and RFC 3339 times as the clients parse them. Pure
// functions; any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::core::js {

// The first value of `key` (case-sensitive, as nats-server matches) in a header block.
std::optional<std::string_view> HeaderValue(std::string_view block, std::string_view key);

// A status-only header block, e.g. StatusBlock(404, "No Messages").
std::string StatusBlock(int status, std::string_view text);
// Adds "Key: Value\r\n" before the block's terminating blank line.
void AddHeader(std::string* block, std::string_view key, std::string_view value);
// A block holding the stored headers (or a fresh one) plus the given header.
std::string WithHeader(std::string_view stored_block, std::string_view key, std::string_view value);

// Unix ns as "2006-01-02T15:04:05.999999999Z" (Go's RFC3339Nano, UTC, trailing zeros cut).
std::string FormatTime(int64_t unix_ns);
// Parses RFC 3339 (fraction and offset optional); false if malformed.
bool ParseTime(std::string_view text, int64_t* unix_ns);

// Unix time now in ns.
int64_t WallNowNs();

}  // namespace tern::core::js

namespace tern::core::js {
// Standard base64 with padding (MSG.GET returns headers and data this way).
std::string Base64(std::string_view bytes);
}  // namespace tern::core::js
