// StreamLog's removal side: deletes, purges, limits, age expiry and compaction.
#include <algorithm>

#include "storage/format.h"
#include "storage/stream_log.h"
#include "storage/subject_pattern.h"

namespace tern::storage {

bool StreamLog::RemoveMessage(uint64_t seq, bool durable) {
  if (seq < first_seq_ || seq > last_seq_) return false;
  Segment* segment = SegmentFor(seq);
  StoredMessage removed;
  if (!segment->Delete(seq, durable, &removed)) return false;
  Forget(removed);
  if (durable) unsynced_ = true;
  if (seq == first_seq_) AdvanceFirst();
  RemoveIfEmpty(segment, durable);
  return true;
}

void StreamLog::AdvanceFirst() {
  if (msgs_ == 0) {
    first_seq_ = last_seq_ + 1;
    return;
  }
  for (std::size_t i = SegmentIndexFor(first_seq_); i < segments_.size(); ++i) {
    StoredMessage next;
    if (segments_[i]->ReadNext(first_seq_, &next)) {
      first_seq_ = next.seq;
      return;
    }
  }
  first_seq_ = last_seq_ + 1;
}

void StreamLog::RemoveIfEmpty(Segment* segment, bool compact) {
  if (segment->live_records() > 0) {
    // Only explicit deletes compact: removals by limits drain the oldest segment, which
    // goes as a whole soon after.
    if (compact) MaybeCompact(segment);
    return;
  }
  if (segment == segments_.back().get()) return;  // the active segment stays
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i].get() == segment) {
      DropSegment(i);
      return;
    }
  }
}

void StreamLog::DropSegment(std::size_t index) {
  Segment& segment = *segments_[index];
  segment.ForEachFrom(segment.first_seq(), [&](const StoredMessage& m) {
    Forget(m);
    return true;
  });
  segment.RemoveFiles();
  segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(index));
  dir_dirty_ = true;
  unsynced_ = true;
  AdvanceFirst();
}

void StreamLog::MaybeCompact(Segment* segment) {
  if (!segment->sealed()) return;
  const uint64_t data = segment->data_end() - format::kSegmentHeaderSize;
  if (static_cast<double>(segment->live_bytes()) >= options_.compact_below * data) return;
  // A failed rewrite leaves the old file in place; the space is reclaimed another time.
  (void)segment->Compact();
}

bool StreamLog::Delete(uint64_t seq) { return failure_.ok() && RemoveMessage(seq, true); }

namespace {
constexpr uint64_t kPurgeFallbackSegmentBytes = format::kSegmentHeaderSize + (64 << 10);
}  // namespace

absl::StatusOr<uint64_t> StreamLog::PurgeAll(uint64_t next_first) {
  const uint64_t purged = msgs_;
  Segment* active = segments_.back().get();
  if (active->records() > 0 || active->first_seq() != next_first) {
    // The new segment comes first so that a crash mid-purge never loses the sequence.
    // On a full disk a purge is what frees space: start with a small segment then (the
    // next roll, after the old files are gone, gets the full size).
    auto segment = Segment::Create(env_, dir_, next_first, options_.segment_bytes, Now());
    if (!segment.ok() && absl::IsResourceExhausted(segment.status())) {
      segment = Segment::Create(env_, dir_, next_first, kPurgeFallbackSegmentBytes, Now());
    }
    if (!segment.ok()) return segment.status();
    if (absl::Status status = (*segment)->Sync(); !status.ok()) {
      (*segment)->RemoveFiles();
      return status;
    }
    segments_.push_back(std::move(*segment));
  }
  while (segments_.size() > 1) {
    segments_.front()->RemoveFiles();
    segments_.erase(segments_.begin());
  }
  subjects_.Clear();
  msgs_ = 0;
  bytes_ = 0;
  last_seq_ = next_first - 1;
  first_seq_ = next_first;
  synced_seq_ = std::min(synced_seq_, last_seq_);
  dir_dirty_ = true;
  unsynced_ = true;
  return purged;
}

absl::StatusOr<uint64_t> StreamLog::Purge(const PurgeRequest& request) {
  if (!failure_.ok()) return failure_;
  const bool all = IsMatchAll(request.filter);
  if (all && request.below == 0 && request.keep == 0) return PurgeAll(last_seq_ + 1);
  if (all && request.keep == 0 && request.below > last_seq_ + 1) {
    return PurgeAll(request.below);  // like nats-server: the stream continues at `below`
  }
  // The victims, oldest first, collected before anything is removed.
  std::vector<uint64_t> victims;
  const bool literal = !all && IsLiteralPattern(request.filter);
  ForEachLive(first_seq_, [&](const StoredMessage& m) {
    if (request.below != 0 && m.seq >= request.below) return false;
    if (all ||
        (literal ? m.subject == request.filter : PatternMatches(request.filter, m.subject))) {
      victims.push_back(m.seq);
    }
    return true;
  });
  if (request.keep > 0) {
    const uint64_t matching = all ? msgs_ : NumPending(first_seq_, request.filter);
    const uint64_t purge = matching > request.keep ? matching - request.keep : 0;
    if (victims.size() > purge) victims.resize(purge);
  }
  uint64_t purged = 0;
  for (const uint64_t seq : victims) purged += RemoveMessage(seq, true) ? 1 : 0;
  return purged;
}

int64_t StreamLog::ExpireOld() {
  if (limits_.max_age_ns <= 0) return 0;
  const int64_t cutoff = Now() - limits_.max_age_ns;
  while (msgs_ > 0) {
    const std::size_t index = SegmentIndexFor(first_seq_);
    Segment& segment = *segments_[index];
    if (&segment != segments_.back().get() && segment.last_time() <= cutoff) {
      DropSegment(index);  // a whole segment expired: no per-message work on disk
      continue;
    }
    StoredMessage first;
    if (!Read(first_seq_, &first) || first.time_ns > cutoff) break;
    RemoveMessage(first_seq_, false);
  }
  if (msgs_ == 0) return 0;
  StoredMessage first;
  return Read(first_seq_, &first) ? first.time_ns + limits_.max_age_ns : 0;
}

void StreamLog::EnforceLimits(std::string_view appended) {
  if (limits_.max_msgs_per_subject > 0) {
    const uint64_t max = static_cast<uint64_t>(limits_.max_msgs_per_subject);
    auto trim = [&](std::string_view subject) {
      while (true) {
        SubjectInfo* info = subjects_.FindMutable(subject);
        if (info == nullptr || info->count <= max) return;
        if (!RemoveMessage(ResolveFirst(subject, info), false)) return;
      }
    };
    if (!appended.empty()) {
      trim(appended);
    } else {
      std::vector<std::string> over;
      subjects_.ForEach([&](std::string_view subject, const SubjectInfo& info) {
        if (info.count > max) over.emplace_back(subject);
      });
      for (const std::string& subject : over) trim(subject);
    }
  }
  while (limits_.max_msgs > 0 && msgs_ > static_cast<uint64_t>(limits_.max_msgs)) {
    if (!RemoveMessage(first_seq_, false)) break;
  }
  while (limits_.max_bytes > 0 && bytes_ > static_cast<uint64_t>(limits_.max_bytes) && msgs_ > 0) {
    if (!RemoveMessage(first_seq_, false)) break;
  }
}

void StreamLog::RebuildSubjects() {
  subjects_.Clear();
  ForEachLive(first_seq_, [&](const StoredMessage& m) {
    subjects_.Add(m.subject, m.seq);
    return true;
  });
}

void StreamLog::SetLimits(const StreamLimits& limits) {
  limits_ = limits;
  const bool track = limits_.max_msgs_per_subject > 1;
  if (track != subjects_.tracks_sequences()) {
    subjects_.SetTrackSequences(track);
    RebuildSubjects();
  }
  EnforceLimits();
  ExpireOld();
  // Evictions are only re-derivable under the limits that made them: make them durable
  // now that the limits changed. A failure here is sticky like any sync failure.
  if (options_.sync != SyncPolicy::kNone) (void)SyncAll(true);
}

}  // namespace tern::storage
