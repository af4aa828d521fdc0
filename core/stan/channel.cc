#include "core/stan/channel.h"

#include <cstdint>

namespace tern::core::stan {
namespace {

constexpr std::size_t kMaxPlainLength = 200;

// FNV-1a, 64 bits, as eight base-62 characters: stable across builds and machines (a
// stream's name must not change between versions).
std::string NameHash(std::string_view name) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(kAlphabet[hash % 62]);
    hash /= 62;
  }
  return out;
}

bool KeptAsIs(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

bool IsValidChannelName(std::string_view channel) {
  if (channel.empty() || channel.front() == '.' || channel.back() == '.') return false;
  char previous = 0;
  for (char c : channel) {
    if (c == '*' || c == '>' || c == '/' || (c == '.' && previous == '.')) return false;
    previous = c;
  }
  return true;
}

std::string ChannelStreamName(std::string_view channel) {
  std::string name(kStreamPrefix);
  bool plain = channel.size() <= kMaxPlainLength;
  for (char c : channel.substr(0, kMaxPlainLength)) {
    if (KeptAsIs(c)) {
      name.push_back(c);
    } else {
      name.push_back('_');
      plain &= c == '.';
    }
  }
  if (!plain) name += "_" + NameHash(channel);
  return name;
}

std::string ChannelSubject(std::string_view channel) {
  return std::string(kChannelSubjectPrefix) + std::string(channel);
}

std::string DurableConsumerName(std::string_view key) {
  constexpr std::size_t kMaxKept = 150;
  std::string name = "dur_";
  for (std::size_t i = 0; i < key.size() && i < kMaxKept; ++i) {
    name.push_back(KeptAsIs(key[i]) ? key[i] : '_');
  }
  return name + "_" + NameHash(key);
}

}  // namespace tern::core::stan
