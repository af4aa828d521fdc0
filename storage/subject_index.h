#pragma once
// Per-subject state of one stream: message count, first and last sequence, updated in O(1)
// on every append and removal whatever the number of subjects, so per-subject limits,
// "last by subject" and pending counts do not scan the log. Owned by the stream's shard;
// not thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace tern::storage {

struct SubjectInfo {
  uint64_t count = 0;
  uint64_t first = 0;  // exact unless first_stale
  uint64_t last = 0;   // 0 when the last message was deleted and not yet looked up again
  // The first message was removed and the next one is not known yet; the log finds it
  // by a forward scan only when someone asks. Never set while sequences are tracked.
  bool first_stale = false;
  // Every sequence of the subject, oldest first, from `head` on: kept only when a
  // per-subject limit above 1 is in force, so evicting the oldest is O(1).
  std::vector<uint64_t> seqs;
  uint32_t head = 0;
};

class SubjectIndex {
 public:
  // Sequence tracking costs 8 bytes per message; the log turns it on for per-subject
  // limits above 1. Changing it clears the index (the caller rebuilds it).
  void SetTrackSequences(bool track);
  bool tracks_sequences() const { return track_; }

  void Add(std::string_view subject, uint64_t seq);
  void Remove(std::string_view subject, uint64_t seq);
  const SubjectInfo* Find(std::string_view subject) const;
  SubjectInfo* FindMutable(std::string_view subject);
  std::size_t size() const { return subjects_.size(); }
  void Clear() { subjects_.clear(); }

  template <typename Visit>  // Visit(std::string_view subject, const SubjectInfo&)
  void ForEach(Visit&& visit) const {
    for (const auto& [subject, info] : subjects_) visit(std::string_view(subject), info);
  }

 private:
  absl::flat_hash_map<std::string, SubjectInfo> subjects_;
  bool track_ = false;
};

}  // namespace tern::storage
