#include "core/jetstream/headers.h"

#include <time.h>

#include <cstdio>

namespace tern::core::js {

std::optional<std::string_view> HeaderValue(std::string_view block, std::string_view key) {
  std::size_t line = block.find("\r\n");
  while (line != std::string_view::npos) {
    line += 2;
    const std::size_t end = block.find("\r\n", line);
    if (end == std::string_view::npos || end == line) return std::nullopt;
    std::string_view entry = block.substr(line, end - line);
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
        entry[key.size()] == ':') {
      std::string_view value = entry.substr(key.size() + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      return value;
    }
    line = end;
  }
  return std::nullopt;
}

std::string StatusBlock(int status, std::string_view text) {
  std::string block = "NATS/1.0 " + std::to_string(status);
  if (!text.empty()) {
    block.push_back(' ');
    block.append(text);
  }
  block += "\r\n\r\n";
  return block;
}

void AddHeader(std::string* block, std::string_view key, std::string_view value) {
  block->resize(block->size() - 2);  // drop the terminating blank line
  block->append(key);
  block->append(": ");
  block->append(value);
  block->append("\r\n\r\n");
}

std::string WithHeader(std::string_view stored_block, std::string_view key,
                       std::string_view value) {
  std::string block =
      stored_block.size() >= 12 ? std::string(stored_block) : std::string("NATS/1.0\r\n\r\n");
  AddHeader(&block, key, value);
  return block;
}

std::string FormatTime(int64_t unix_ns) {
  const time_t seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  int64_t fraction = unix_ns % 1'000'000'000;
  tm parts;
  gmtime_r(&seconds, &parts);
  char text[64];
  int n = static_cast<int>(strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts));
  if (fraction != 0) {
    char digits[16];
    std::snprintf(digits, sizeof digits, ".%09ld", static_cast<long>(fraction));
    int len = 10;
    while (digits[len - 1] == '0') --len;
    std::snprintf(text + n, sizeof text - n, "%.*s", len, digits);
    n += len;
  }
  std::snprintf(text + n, sizeof text - n, "Z");
  return text;
}

bool ParseTime(std::string_view text, int64_t* unix_ns) {
  int year, month, day, hour, minute, second, used = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &used) != 6 ||
      used != 19) {
    return false;
  }
  std::size_t at = 19;
  int64_t fraction = 0;
  if (at < copy.size() && copy[at] == '.') {
    int64_t scale = 100'000'000;
    for (++at; at < copy.size() && copy[at] >= '0' && copy[at] <= '9'; ++at) {
      fraction += (copy[at] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t offset = 0;
  if (at < copy.size() && (copy[at] == '+' || copy[at] == '-')) {
    int oh, om;
    if (std::sscanf(copy.c_str() + at + 1, "%2d:%2d", &oh, &om) != 2) return false;
    offset = (copy[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else if (at < copy.size() && (copy[at] == 'Z' || copy[at] == 'z')) {
    ++at;
  } else {
    return false;
  }
  if (at != copy.size()) return false;
  tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  const int64_t seconds = static_cast<int64_t>(timegm(&parts)) - offset;
  // Nanoseconds since 1970 fit an int64 until 2262: later times are refused, not wrapped.
  int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, int64_t{1'000'000'000}, &ns) ||
      __builtin_add_overflow(ns, fraction, &ns)) {
    return false;
  }
  *unix_ns = ns;
  return true;
}

int64_t WallNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace tern::core::js

namespace tern::core::js {

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= uint8_t(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace tern::core::js
