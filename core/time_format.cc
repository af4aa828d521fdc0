#include "core/time_format.h"

#include <time.h>

#include <cstdio>

namespace tern::core {

std::string Rfc3339Nano(int64_t unix_ns) {
  const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  const long nanos = static_cast<long>(unix_ns % 1'000'000'000);
  tm parts;
  gmtime_r(&seconds, &parts);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, nanos);
  return text;
}

std::string Uptime(int64_t ns) {
  int64_t total = ns / 1'000'000'000;
  if (total < 0) total = 0;
  const int64_t years = total / (365 * 86400);
  total %= 365 * 86400;
  const int64_t days = total / 86400;
  total %= 86400;
  const int64_t hours = total / 3600;
  total %= 3600;
  const int64_t minutes = total / 60;
  const int64_t seconds = total % 60;
  std::string out;
  if (years > 0) out += std::to_string(years) + "y";
  if (!out.empty() || days > 0) out += std::to_string(days) + "d";
  if (!out.empty() || hours > 0) out += std::to_string(hours) + "h";
  if (!out.empty() || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds) + "s";
  return out;
}

namespace {

// A fraction without trailing zeros: 1.500 -> "1.5", 2.000 -> "2".
std::string Trimmed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  std::string out = text;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

}  // namespace

std::string GoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  const int64_t v = ns < 0 ? -ns : ns;
  if (v < 1'000) return sign + std::to_string(v) + "ns";
  if (v < 1'000'000) return sign + Trimmed(v / 1e3, 3) + "µs";
  if (v < 1'000'000'000) return sign + Trimmed(v / 1e6, 6) + "ms";
  const int64_t hours = v / 3'600'000'000'000;
  const int64_t minutes = v / 60'000'000'000 % 60;
  const double seconds = static_cast<double>(v % 60'000'000'000) / 1e9;
  std::string out = sign;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + Trimmed(seconds, 9) + "s";
}

}  // namespace tern::core
