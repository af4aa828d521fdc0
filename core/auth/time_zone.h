#pragma once
// UTC offsets of IANA time zones, read from the system's zoneinfo files (TZif, RFC 8536),
// for the `times_location` of user JWTs. glibc's localtime can only answer for the one
// zone in the process environment, and changing TZ is not safe with shards running.
// Each calling thread keeps its own cache of the zones it has read.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core::auth {

// The offset from UTC (seconds, east positive) of `zone` at `unix_seconds`. "" and "Local"
// are the server's own zone. False with *error for a name that is not a zone on this
// system. Times past the file's last transition (2037 in Debian's files) keep its offset.
bool UtcOffsetAt(std::string_view zone, int64_t unix_seconds, int32_t* offset, std::string* error);

// Parses TZif bytes (exposed for tests): the offset at `unix_seconds`.
bool TzifOffsetAt(std::string_view tzif, int64_t unix_seconds, int32_t* offset);

}  // namespace tern::core::auth
