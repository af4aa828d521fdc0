#include "core/auth/user_limits.h"

#include <arpa/inet.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/auth/time_zone.h"

namespace tern::core::auth {
namespace {

constexpr int64_t kDay = 24 * 60 * 60;

// 16 bytes: IPv4 addresses as IPv4-mapped IPv6, so one comparison serves both.
bool ParseAddress(std::string_view text, unsigned char out[16]) {
  const std::string s(text);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, &v4, 4);
    return true;
  }
  return inet_pton(AF_INET6, s.c_str(), out) == 1;
}

bool InCidr(std::string_view cidr, const unsigned char ip[16], bool* valid) {
  *valid = false;
  const auto slash = cidr.find('/');
  if (slash == std::string_view::npos) return false;
  unsigned char net[16];
  if (!ParseAddress(cidr.substr(0, slash), net)) return false;
  const bool v4 = cidr.substr(0, slash).find(':') == std::string_view::npos;
  int bits = 0;
  const std::string_view digits = cidr.substr(slash + 1);
  if (digits.empty() || digits.size() > 3) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    bits = bits * 10 + (c - '0');
  }
  if (bits > (v4 ? 32 : 128)) return false;
  *valid = true;
  if (v4) bits += 96;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((ip[i] & mask) != (net[i] & mask)) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// "HH:MM:SS" -> seconds of the day; -1 if malformed.
int64_t SecondsOfDay(const nlohmann::json& text) {
  if (!text.is_string()) return -1;
  const std::string& s = text.get_ref<const std::string&>();
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return -1;
  int parts[3];
  for (int i = 0; i < 3; ++i) {
    const char a = s[3 * i], b = s[3 * i + 1];
    if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
    parts[i] = (a - '0') * 10 + (b - '0');
  }
  if (parts[0] > 23 || parts[1] > 59 || parts[2] > 59) return -1;
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

}  // namespace

bool SourceAllowed(const nlohmann::json& src, std::string_view ip) {
  std::vector<std::string_view> cidrs;
  if (src.is_string()) {
    std::string_view list = src.get_ref<const std::string&>();
    while (!list.empty()) {
      const auto comma = list.find(',');
      const std::string_view item = Trim(list.substr(0, comma));
      if (!item.empty()) cidrs.push_back(item);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  } else if (src.is_array()) {
    for (const auto& item : src) {
      if (!item.is_string()) return false;
      cidrs.push_back(item.get_ref<const std::string&>());
    }
  } else if (!src.is_null()) {
    return false;
  }
  if (cidrs.empty()) return true;
  unsigned char address[16];
  if (!ParseAddress(ip, address)) return false;
  for (std::string_view cidr : cidrs) {
    bool valid = false;
    if (InCidr(cidr, address, &valid)) return true;
    if (!valid) return false;  // as nats-server: a JWT with a bad CIDR admits nobody
  }
  return false;
}

bool WithinTimes(const nlohmann::json& times, std::string_view location, int64_t now,
                 int64_t* valid_until, std::string* reason) {
  *valid_until = 0;
  if (times.is_null() || (times.is_array() && times.empty())) return true;
  if (!times.is_array()) {
    *reason = "'times' is not a list";
    return false;
  }
  int32_t offset = 0;
  if (!UtcOffsetAt(location, now, &offset, reason)) return false;
  const int64_t local = now + offset;
  const int64_t second = ((local % kDay) + kDay) % kDay;
  for (const auto& window : times) {
    const int64_t start =
        window.is_object() ? SecondsOfDay(window.value("start", nlohmann::json())) : -1;
    const int64_t end =
        window.is_object() ? SecondsOfDay(window.value("end", nlohmann::json())) : -1;
    if (start < 0 || end < 0) {
      *reason = "a time window is not {start, end} in HH:MM:SS";
      return false;
    }
    int64_t left = -1;  // seconds until the window closes
    if (start <= end) {
      if (second >= start && second < end) left = end - second;
    } else if (second >= start) {
      left = kDay - second + end;
    } else if (second < end) {
      left = end - second;
    }
    if (left > 0) {
      *valid_until = now + left;
      return true;
    }
  }
  *reason = "outside the user's connect times";
  return false;
}

bool IsConnectionType(std::string_view type) {
  static constexpr std::string_view kTypes[] = {"STANDARD",    "WEBSOCKET", "LEAFNODE",
                                                "LEAFNODE_WS", "MQTT",      "MQTT_WS"};
  std::string upper(type);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return std::find(std::begin(kTypes), std::end(kTypes), upper) != std::end(kTypes);
}

bool ConnectionTypeAllowed(const std::vector<std::string>& types, std::string_view type) {
  if (types.empty()) return true;
  return std::any_of(types.begin(), types.end(), [type](const std::string& allowed) {
    return allowed.size() == type.size() &&
           strncasecmp(allowed.c_str(), type.data(), type.size()) == 0;
  });
}

bool StandardConnectionAllowed(const std::vector<std::string>& types) {
  return ConnectionTypeAllowed(types, "STANDARD");
}

}  // namespace tern::core::auth
