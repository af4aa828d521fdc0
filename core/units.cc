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

bool ParseSize(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long whole = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || errno == ERANGE) return false;
  std::string suffix;
  for (const char* c = end; *c != '\0'; ++c) {
    suffix.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*c))));
  }
  static const std::pair<const char*, int64_t> kSuffixes[] = {{"", 1},
                                                              {"k", 1000},
                                                              {"kb", 1024},
                                                              {"ki", 1024},
                                                              {"kib", 1024},
                                                              {"m", 1000000},
                                                              {"mb", 1 << 20},
                                                              {"mi", 1 << 20},
                                                              {"mib", 1 << 20},
                                                              {"g", 1000000000},
                                                              {"gb", int64_t{1} << 30},
                                                              {"gi", int64_t{1} << 30},
                                                              {"gib", int64_t{1} << 30},
                                                              {"t", 1000000000000},
                                                              {"tb", int64_t{1} << 40}};
  for (const auto& [name, factor] : kSuffixes) {
    if (suffix == name) return !__builtin_mul_overflow(static_cast<int64_t>(whole), factor, out);
  }
  return false;
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
