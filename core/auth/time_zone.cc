#include "core/auth/time_zone.h"

#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <absl/container/flat_hash_map.h>

namespace tern::core::auth {
namespace {

constexpr std::size_t kHeaderBytes = 44;
constexpr std::size_t kMaxCachedZones = 64;

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

int64_t Be64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{Be32(p)} << 32) | Be32(p + 4));
}

// A zone's transitions, as the file lists them.
struct Zone {
  std::vector<int64_t> transitions;  // unix seconds, ascending
  std::vector<uint8_t> types;        // the local time type from each transition on
  std::vector<int32_t> offsets;      // per local time type
};

bool ParseTzif(std::string_view bytes, Zone* zone) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto counts = [&](std::size_t at, uint32_t out[6]) {
    if (bytes.size() < at + kHeaderBytes || bytes.substr(at, 4) != "TZif") return false;
    for (int i = 0; i < 6; ++i) out[i] = Be32(data + at + 20 + 4 * i);
    return true;
  };
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  uint32_t c[6];
  if (!counts(0, c)) return false;
  const auto block_bytes = [&](std::size_t time_bytes) {
    return uint64_t{c[3]} * time_bytes + c[3] + uint64_t{c[4]} * 6 + c[5] +
           uint64_t{c[2]} * (time_bytes + 4) + c[1] + c[0];
  };
  std::size_t at = kHeaderBytes;
  std::size_t time_bytes = 4;
  if (bytes[4] >= '2') {  // skip the 32-bit block; the 64-bit one follows it
    at += block_bytes(4);
    if (!counts(at, c)) return false;
    at += kHeaderBytes;
    time_bytes = 8;
  }
  if (c[4] == 0 || bytes.size() < at + block_bytes(time_bytes)) return false;
  zone->transitions.resize(c[3]);
  zone->types.resize(c[3]);
  for (uint32_t i = 0; i < c[3]; ++i) {
    const unsigned char* p = data + at + i * time_bytes;
    zone->transitions[i] = time_bytes == 8 ? Be64(p) : static_cast<int32_t>(Be32(p));
  }
  at += std::size_t{c[3]} * time_bytes;
  for (uint32_t i = 0; i < c[3]; ++i) {
    zone->types[i] = data[at + i];
    if (zone->types[i] >= c[4]) return false;
  }
  at += c[3];
  zone->offsets.resize(c[4]);
  for (uint32_t i = 0; i < c[4]; ++i) {
    zone->offsets[i] = static_cast<int32_t>(Be32(data + at + 6 * i));
  }
  return true;
}

int32_t OffsetAt(const Zone& zone, int64_t unix_seconds) {
  // Before the first transition the first local time type applies (RFC 8536, 3.2).
  std::size_t type = 0;
  for (std::size_t i = 0; i < zone.transitions.size() && zone.transitions[i] <= unix_seconds; ++i) {
    type = zone.types[i];
  }
  return zone.offsets[type];
}

// Letters, digits and "/_+-", no "..": a name under /usr/share/zoneinfo, never a path out.
bool IsZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '+' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool TzifOffsetAt(std::string_view tzif, int64_t unix_seconds, int32_t* offset) {
  Zone zone;
  if (!ParseTzif(tzif, &zone)) return false;
  *offset = OffsetAt(zone, unix_seconds);
  return true;
}

bool UtcOffsetAt(std::string_view name, int64_t unix_seconds, int32_t* offset, std::string* error) {
  if (name.empty() || name == "Local") {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm local{};
    if (localtime_r(&t, &local) == nullptr) {
      *error = "the server's local time is unknown";
      return false;
    }
    *offset = static_cast<int32_t>(local.tm_gmtoff);
    return true;
  }
  if (!IsZoneName(name)) {
    *error = "\"" + std::string(name) + "\" is not a time zone name";
    return false;
  }
  // Connections of JWT users with time windows are rare; a few zones per thread at most.
  thread_local absl::flat_hash_map<std::string, std::shared_ptr<const Zone>> cache;
  const std::string key(name);
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::ifstream file("/usr/share/zoneinfo/" + std::string(name), std::ios::binary);
    std::ostringstream bytes;
    bytes << file.rdbuf();
    auto zone = std::make_shared<Zone>();
    if (!file || !ParseTzif(bytes.str(), zone.get())) {
      *error = "time zone \"" + std::string(name) + "\" is not known on this server";
      return false;
    }
    if (cache.size() >= kMaxCachedZones) cache.clear();
    it = cache.emplace(key, std::move(zone)).first;
  }
  *offset = OffsetAt(*it->second, unix_seconds);
  return true;
}

}  // namespace tern::core::auth
