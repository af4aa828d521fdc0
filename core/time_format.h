#pragma once
// Text forms monitoring and system events share with nats-server: RFC 3339 times with nanoseconds,
// uptimes like "1d2h3m4s", and Go's duration spelling ("1.5ms"). Pure functions.
#include <cstdint>
#include <string>

namespace tern::core {

std::string Rfc3339Nano(int64_t unix_ns);
std::string Uptime(int64_t ns);      // "0s", "4s", "3m4s", "2h3m4s", "1d2h3m4s", "1y..."
std::string GoDuration(int64_t ns);  // "0s", "850ns", "12.5µs", "1.234ms", "2.5s", "1m30s"

}  // namespace tern::core
