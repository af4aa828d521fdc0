#include "storage/subject_index.h"

#include <algorithm>

namespace tern::storage {
namespace {

absl::string_view Key(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

void SubjectIndex::SetTrackSequences(bool track) {
  if (track != track_) subjects_.clear();
  track_ = track;
}

void SubjectIndex::Add(std::string_view subject, uint64_t seq) {
  auto it = subjects_.find(Key(subject));
  if (it == subjects_.end()) it = subjects_.emplace(std::string(subject), SubjectInfo{}).first;
  SubjectInfo& info = it->second;
  if (info.count == 0) info.first = seq;
  info.last = seq;
  ++info.count;
  if (track_) info.seqs.push_back(seq);
}

void SubjectIndex::Remove(std::string_view subject, uint64_t seq) {
  auto it = subjects_.find(Key(subject));
  if (it == subjects_.end()) return;
  SubjectInfo& info = it->second;
  if (--info.count == 0) {
    subjects_.erase(it);
    return;
  }
  if (track_) {
    auto begin = info.seqs.begin() + info.head;
    auto found = std::lower_bound(begin, info.seqs.end(), seq);
    if (found != info.seqs.end() && *found == seq) {
      if (found == begin) {
        ++info.head;
      } else {
        info.seqs.erase(found);
      }
    }
    if (info.head > 32 && info.head * 2 > info.seqs.size()) {  // reclaim the consumed front
      info.seqs.erase(info.seqs.begin(), info.seqs.begin() + info.head);
      info.head = 0;
    }
    info.first = info.seqs[info.head];
    info.last = info.seqs.back();
    return;
  }
  // Untracked: an end that was removed becomes unknown (stale first, last == 0) and is
  // found again by the log with a scan only when asked; a single survivor is both ends.
  if (!info.first_stale && seq == info.first) info.first_stale = true;
  if (info.last != 0 && seq == info.last) info.last = 0;
  if (info.count == 1) {
    if (info.last != 0 && info.first_stale) {
      info.first = info.last;
      info.first_stale = false;
    } else if (info.last == 0 && !info.first_stale) {
      info.last = info.first;
    }
  }
}

const SubjectInfo* SubjectIndex::Find(std::string_view subject) const {
  auto it = subjects_.find(Key(subject));
  return it == subjects_.end() ? nullptr : &it->second;
}

SubjectInfo* SubjectIndex::FindMutable(std::string_view subject) {
  auto it = subjects_.find(Key(subject));
  return it == subjects_.end() ? nullptr : &it->second;
}

}  // namespace tern::storage
