#pragma once
// ShardSet: a fixed bitset of shard indexes. A value type; no ownership.
#include <cstdint>

namespace tern::core {

inline constexpr int kMaxShards = 128;

class ShardSet {
 public:
  void Set(int shard) { bits_[shard >> 6] |= uint64_t{1} << (shard & 63); }
  void Clear(int shard) { bits_[shard >> 6] &= ~(uint64_t{1} << (shard & 63)); }
  bool Test(int shard) const { return bits_[shard >> 6] & (uint64_t{1} << (shard & 63)); }
  bool Any() const { return (bits_[0] | bits_[1]) != 0; }
  int Count() const { return __builtin_popcountll(bits_[0]) + __builtin_popcountll(bits_[1]); }
  void Reset() { bits_[0] = bits_[1] = 0; }
  void SetWord(int word, uint64_t bits) { bits_[word] = bits; }
  // The lowest shard in the set, or -1.
  int First() const {
    if (bits_[0] != 0) return __builtin_ctzll(bits_[0]);
    if (bits_[1] != 0) return 64 + __builtin_ctzll(bits_[1]);
    return -1;
  }
  ShardSet& operator|=(const ShardSet& other) {
    bits_[0] |= other.bits_[0];
    bits_[1] |= other.bits_[1];
    return *this;
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (int word = 0; word < 2; ++word) {
      uint64_t w = bits_[word];
      while (w != 0) {
        fn(word * 64 + __builtin_ctzll(w));
        w &= w - 1;
      }
    }
  }

 private:
  uint64_t bits_[2] = {0, 0};
};

}  // namespace tern::core
