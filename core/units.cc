#include "core/units.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace tern::core {

bool ParseInteger(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = v;
  return true;
}

bool SecondsToNs(double seconds, int64_t* ns) {
  const double value = seconds * 1e9;
  if (!(value >= 0) || value > 9.0e18) return false;  // also rejects NaN
  *ns = static_cast<int64_t>(value);
  return true;
}

bool ParseDuration(const std::string& text, int64_t* ns) {
  if (text.empty()) return false;
  int64_t seconds;
  if (ParseInteger(text, &seconds)) return SecondsToNs(static_cast<double>(seconds), ns);
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    char* end = nullptr;
    const double amount = std::strtod(text.c_str() + i, &end);
    if (end == text.c_str() + i) return false;
    i = end - text.c_str();
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    double factor;
    if (unit == "ns") {
      factor = 1;
    } else if (unit == "us" || unit == "µs") {
      factor = 1e3;
    } else if (unit == "ms") {
      factor = 1e6;
    } else if (unit == "s") {
      factor = 1e9;
    } else if (unit == "m") {
      factor = 60e9;
    } else if (unit == "h") {
      factor = 3600e9;
    } else {
      return false;
    }
    total += amount * factor;
  }
  if (!(total >= 0) || total > 9.0e18) return false;
  *ns = static_cast<int64_t>(total);
  return true;
}

}  // namespace tern::core
