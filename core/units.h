#pragma once
// The numbers of nats-server's config language and flags: durations ("2m", "1h30m",
// "500ms" or plain seconds), whole numbers and seconds. Pure functions, shared by the
// options and by the blocks that auth and TLS parse themselves.
#include <cstdint>
#include <string>

namespace tern::core {

// Parses "2m", "10s", "1h30m", "500ms" or a plain number of seconds into nanoseconds.
// False for anything else, negative, or beyond ~285 years (what int64 nanoseconds hold).
bool ParseDuration(const std::string& text, int64_t* ns);
// A whole decimal number (the whole text); false otherwise.
bool ParseInteger(const std::string& text, int64_t* out);
// A whole number with an optional size unit as nats-server's config language reads it:
// k, m, g, t are decimal (1k = 1000), kb, mb, gb, tb and ki(b), mi(b), gi(b) binary
// (1kb = 1024); any case. False for anything else or on overflow.
bool ParseSize(const std::string& text, int64_t* out);
// Whole or fractional seconds as nanoseconds; false if negative or out of range.
bool SecondsToNs(double seconds, int64_t* ns);

}  // namespace tern::core
