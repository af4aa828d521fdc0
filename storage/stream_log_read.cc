// StreamLog's read side: look-ups by sequence, subject and time, and pending counts.
#include "storage/format.h"
#include "storage/stream_log.h"
#include "storage/subject_pattern.h"

namespace tern::storage {

uint64_t StreamLog::ResolveFirst(std::string_view subject, SubjectInfo* info) const {
  if (!info->first_stale) return info->first;
  ForEachLive(info->first + 1, [&](const StoredMessage& m) {
    if (m.subject != subject) return true;
    info->first = m.seq;
    return false;
  });
  info->first_stale = false;
  return info->first;
}

uint64_t StreamLog::ResolveLast(std::string_view subject, SubjectInfo* info) const {
  if (info->last != 0) return info->last;
  ForEachLive(ResolveFirst(subject, info), [&](const StoredMessage& m) {
    if (m.subject == subject) info->last = m.seq;
    return true;
  });
  return info->last;
}

const SubjectInfo* StreamLog::Subject(std::string_view subject) const {
  SubjectInfo* info = subjects_.FindMutable(subject);
  if (info != nullptr) {
    ResolveFirst(subject, info);
    ResolveLast(subject, info);
  }
  return info;
}

bool StreamLog::ReadNext(uint64_t from, std::string_view filter, StoredMessage* out) const {
  const bool all = IsMatchAll(filter);
  const bool literal = !all && IsLiteralPattern(filter);
  if (literal) {
    SubjectInfo* info = subjects_.FindMutable(filter);
    if (info == nullptr) return false;
    from = std::max(from, ResolveFirst(filter, info));
  }
  bool found = false;
  ForEachLive(from, [&](const StoredMessage& m) {
    if (!all && (literal ? m.subject != filter : !PatternMatches(filter, m.subject))) return true;
    *out = m;
    found = true;
    return false;
  });
  return found;
}

bool StreamLog::ReadLastBySubject(std::string_view subject, StoredMessage* out) const {
  SubjectInfo* info = subjects_.FindMutable(subject);
  return info != nullptr && Read(ResolveLast(subject, info), out);
}

uint64_t StreamLog::SeqAtTime(int64_t time_ns) const {
  uint64_t seq = last_seq_ + 1;
  for (const auto& segment : segments_) {
    if (segment->live_records() == 0 || segment->last_time() < time_ns) continue;
    segment->ForEachFrom(std::max(first_seq_, segment->first_seq()), [&](const StoredMessage& m) {
      if (m.time_ns < time_ns) return true;
      seq = m.seq;
      return false;
    });
    if (seq <= last_seq_) break;
  }
  return seq;
}

uint64_t StreamLog::NumPending(uint64_t from, std::string_view filter) const {
  if (from < first_seq_) from = first_seq_;
  if (from > last_seq_ || msgs_ == 0) return 0;
  const bool all = IsMatchAll(filter);
  const bool literal = !all && IsLiteralPattern(filter);
  if (all && from == first_seq_) return msgs_;
  if (literal) {
    SubjectInfo* info = subjects_.FindMutable(filter);
    if (info == nullptr) return 0;
    if (from <= ResolveFirst(filter, info)) return info->count;
  } else if (!all && from == first_seq_ && subjects_.size() < msgs_) {
    uint64_t count = 0;
    subjects_.ForEach([&](std::string_view subject, const SubjectInfo& info) {
      if (PatternMatches(filter, subject)) count += info.count;
    });
    return count;
  }
  uint64_t count = 0;
  for (std::size_t i = SegmentIndexFor(from); i < segments_.size(); ++i) {
    const Segment& segment = *segments_[i];
    if (all) {  // counted without a walk where the segment allows it
      const int64_t live = segment.LiveFromFast(from);
      if (live >= 0) {
        count += static_cast<uint64_t>(live);
        continue;
      }
    }
    segment.ForEachFrom(from, [&](const StoredMessage& m) {
      if (all || (literal ? m.subject == filter : PatternMatches(filter, m.subject))) ++count;
      return true;
    });
  }
  return count;
}

void StreamLog::ForEachSubject(
    std::string_view filter,
    const std::function<void(std::string_view, uint64_t count)>& visit) const {
  if (!IsMatchAll(filter) && IsLiteralPattern(filter)) {
    if (const SubjectInfo* info = subjects_.Find(filter)) visit(filter, info->count);
    return;
  }
  subjects_.ForEach([&](std::string_view subject, const SubjectInfo& info) {
    if (IsMatchAll(filter) || PatternMatches(filter, subject)) visit(subject, info.count);
  });
}

std::vector<uint64_t> StreamLog::DeletedSequences() const {
  std::vector<uint64_t> deleted;
  if (msgs_ == 0) return deleted;
  uint64_t expected = first_seq_;
  ForEachLive(first_seq_, [&](const StoredMessage& message) {
    for (; expected < message.seq; ++expected) deleted.push_back(expected);
    expected = message.seq + 1;
    return true;
  });
  for (; expected <= last_seq_; ++expected) deleted.push_back(expected);
  return deleted;
}

LogState StreamLog::State() const {
  LogState state;
  state.msgs = msgs_;
  state.bytes = bytes_;
  state.first_seq = msgs_ == 0 ? last_seq_ + 1 : first_seq_;
  state.last_seq = last_seq_;
  state.last_time = last_time_;
  StoredMessage first;
  if (msgs_ > 0 && Read(first_seq_, &first)) state.first_time = first.time_ns;
  state.num_subjects = subjects_.size();
  state.num_deleted = msgs_ == 0 ? 0 : last_seq_ - first_seq_ + 1 - msgs_;
  return state;
}

}  // namespace tern::storage
