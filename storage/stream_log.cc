#include "storage/stream_log.h"

#include <algorithm>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "storage/format.h"
#include "storage/store_error.h"
#include "storage/subject_pattern.h"

namespace tern::storage {
namespace {

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// "00000000000000000042.seg" -> 42 (with extension ".seg"); 0 for any other name.
uint64_t SegmentNameToSeq(const std::string& name, const char* extension = ".seg") {
  if (name.size() != 24 || name.compare(20, 4, extension) != 0) return 0;
  uint64_t seq = 0;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    seq = seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return seq;
}

uint64_t StoredSize(const StoredMessage& m) {
  return format::RecordSize(m.subject.size(), m.header.size(), m.payload.size());
}

}  // namespace

StreamLog::StreamLog(Env* env, std::string dir, LogOptions options, StreamLimits limits)
    : env_(env), dir_(std::move(dir)), options_(std::move(options)), limits_(limits) {
  subjects_.SetTrackSequences(limits_.max_msgs_per_subject > 1);
}

StreamLog::~StreamLog() = default;

int64_t StreamLog::Now() const { return options_.clock ? options_.clock() : RealtimeNs(); }

absl::StatusOr<std::unique_ptr<StreamLog>> StreamLog::Open(Env* env, std::string dir,
                                                           LogOptions options, StreamLimits limits,
                                                           RecoveryReport* report) {
  std::unique_ptr<StreamLog> log(new StreamLog(env, std::move(dir), std::move(options), limits));
  RecoveryReport ignored;
  absl::Status status = log->Recover(report != nullptr ? report : &ignored);
  if (!status.ok()) return status;
  return log;
}

absl::Status StreamLog::Recover(RecoveryReport* report) {
  absl::Status status = env_->CreateDirs(dir_);
  std::vector<std::string> names;
  if (status.ok()) status = env_->ListDir(dir_, &names);
  if (!status.ok()) return status;
  std::vector<uint64_t> firsts;
  std::vector<uint64_t> tombstone_files;
  for (const std::string& name : names) {
    if (const uint64_t first = SegmentNameToSeq(name); first != 0) {
      firsts.push_back(first);
    } else if (const uint64_t del = SegmentNameToSeq(name, ".del"); del != 0) {
      tombstone_files.push_back(del);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      (void)env_->RemoveFile(absl::StrCat(dir_, "/", name));  // an interrupted rewrite
      report->problems.push_back(absl::StrCat("removed unfinished file ", name));
    }
  }
  std::sort(firsts.begin(), firsts.end());
  const int64_t now = Now();
  for (std::size_t i = 0; i < firsts.size(); ++i) {
    SegmentReport segment_report;
    const bool active = i + 1 == firsts.size();
    auto segment = Segment::Open(
        env_, dir_, firsts[i], active, !options_.verify_sealed_on_open, options_.segment_bytes,
        [&](const StoredMessage& message, uint64_t, uint64_t) { Track(message); }, &segment_report);
    if (!segment.ok()) return segment.status();
    const std::string name = SegmentPath(dir_, firsts[i], "seg");
    if (segment_report.header_damaged) {
      report->problems.push_back(absl::StrCat(name, ": damaged header rewritten"));
    }
    for (const ScanDamage& damage : segment_report.damaged) {
      report->problems.push_back(absl::StrCat(
          name, ": ", damage.length, " unreadable bytes skipped at offset ", damage.offset));
    }
    if (segment_report.torn_tail_bytes > 0) {
      report->problems.push_back(absl::StrCat(name, ": ", segment_report.torn_tail_bytes,
                                              " bytes of an unfinished write discarded at offset ",
                                              (*segment)->data_end()));
    }
    if (segment_report.index_rebuilt) {
      report->problems.push_back(absl::StrCat(name, ": index rebuilt"));
    }
    segments_.push_back(std::move(*segment));
    report->segments.push_back(std::move(segment_report));
  }
  auto separated = SeparateSegments(report);
  if (!separated.ok()) return separated.status();
  if (*separated) {  // the walk above counted records that are no longer served
    msgs_ = bytes_ = 0;
    subjects_.Clear();
    for (const auto& segment : segments_) {
      segment->ForEachFrom(segment->first_seq(), [&](const StoredMessage& message) {
        Track(message);
        return true;
      });
    }
  }
  // Sequences are never reused: not those of the records found, nor one a segment's name
  // says was passed (an empty segment after a purge), nor one a tombstone names, even if its
  // record was lost with its segment's data (a reused sequence would be deleted by it).
  uint64_t max_tombstone = 0;
  for (const auto& segment : segments_) {
    last_seq_ = std::max(last_seq_, segment->last_seq());
    last_time_ = std::max(last_time_, segment->last_time());
    max_tombstone = std::max(max_tombstone, segment->max_tombstone());
  }
  for (const uint64_t first : tombstone_files) {  // tombstones of a segment that is gone
    if (std::binary_search(firsts.begin(), firsts.end(), first)) continue;
    std::unique_ptr<File> file;
    std::string bytes;
    std::vector<uint64_t> seqs;
    status = env_->OpenFile(SegmentPath(dir_, first, "del"), false, &file);
    if (status.ok()) status = file->ReadAll(&bytes);
    if (!status.ok()) return status;
    DecodeTombstones(bytes, &seqs);
    for (const uint64_t seq : seqs) max_tombstone = std::max(max_tombstone, seq);
  }
  if (max_tombstone > last_seq_) {
    report->problems.push_back(absl::StrCat(dir_, ": tombstones name sequences up to ",
                                            max_tombstone, ", past the last record found"));
    last_seq_ = max_tombstone;
  }
  if (segments_.empty()) {
    auto segment = Segment::Create(env_, dir_, last_seq_ + 1, options_.segment_bytes, now);
    if (!segment.ok()) return segment.status();
    segments_.push_back(std::move(*segment));
    status = segments_.back()->Sync();
    if (!status.ok()) return status;
  }
  first_seq_ = segments_.front()->first_seq();
  AdvanceFirst();
  synced_seq_ = last_seq_;
  last_sync_ns_ = now;
  // Removals by limits and age are not logged; applying the limits again repeats them.
  EnforceLimits();
  ExpireOld();
  report->msgs = msgs_;
  report->last_seq = last_seq_;
  return absl::OkStatus();
}

absl::StatusOr<bool> StreamLog::SeparateSegments(RecoveryReport* report) {
  bool changed = false;
  uint64_t bound = UINT64_MAX;     // the first sequence of the next segment holding records
  std::vector<std::size_t> empty;  // the segments between this one and that, descending
  for (std::size_t i = segments_.size(); i-- > 0;) {
    Segment& segment = *segments_[i];
    const std::string name = SegmentPath(dir_, segment.first_seq(), "seg");
    if (segment.records() > 0 && segment.last_seq() >= bound) {
      const uint64_t records = segment.records();
      if (absl::Status status = segment.DropFrom(bound); !status.ok()) return status;
      report->problems.push_back(absl::StrCat(name, ": ", records - segment.records(),
                                              " records at or past sequence ", bound,
                                              ", where the next segment starts, dropped"));
      changed = true;
    }
    if (segment.records() == 0) {
      empty.push_back(i);
      continue;
    }
    for (const std::size_t later : empty) {  // erasing one leaves the lower indexes valid
      Segment& stray = *segments_[later];
      if (stray.first_seq() > segment.last_seq()) continue;
      report->problems.push_back(absl::StrCat(
          SegmentPath(dir_, stray.first_seq(), "seg"),
          ": holds no record of its own, named inside the records of ", name, ": removed"));
      stray.RemoveFiles();
      segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(later));
      changed = true;
    }
    empty.clear();
    bound = segment.first_seq();
  }
  if (changed) {
    if (absl::Status status = env_->SyncDir(dir_); !status.ok()) return status;
  }
  return changed;
}

void StreamLog::Track(const StoredMessage& message) {
  ++msgs_;
  bytes_ += StoredSize(message);
  subjects_.Add(message.subject, message.seq);
}

void StreamLog::Forget(const StoredMessage& message) {
  --msgs_;
  bytes_ -= StoredSize(message);
  subjects_.Remove(message.subject, message.seq);
}

absl::StatusOr<uint64_t> StreamLog::Append(std::string_view subject, std::string_view header,
                                           std::string_view payload) {
  return AppendAt(Now(), subject, header, payload);
}

absl::StatusOr<uint64_t> StreamLog::AppendAt(int64_t time_ns, std::string_view subject,
                                             std::string_view header, std::string_view payload) {
  if (!failure_.ok()) return failure_;
  if (subject.empty() || subject.size() > format::kMaxSubjectLength) {
    return MakeStoreError(absl::StatusCode::kInvalidArgument, StoreError::kInvalidSubject,
                          "invalid subject");
  }
  // Header and payload, as nats-server counts a message's size: never its subject.
  if (limits_.max_msg_size >= 0 &&
      header.size() + payload.size() > static_cast<uint64_t>(limits_.max_msg_size)) {
    return MakeStoreError(absl::StatusCode::kFailedPrecondition, StoreError::kMessageTooLarge,
                          "message size exceeds maximum allowed");
  }
  const uint64_t size = format::RecordSize(subject.size(), header.size(), payload.size());
  absl::Status status = CheckDiscardNew(subject, size);
  if (!status.ok()) return status;
  const int64_t time = std::max(time_ns, last_time_);
  const Segment& active = *segments_.back();
  const uint64_t deleted = active.records() - active.live_records();
  const bool mostly_deleted =
      deleted >= options_.roll_after_deleted && deleted >= active.live_records();
  if (!active.HasRoom(size) || mostly_deleted) {
    status = Roll(size, time);
    if (!status.ok()) return status;
  }
  const uint64_t seq = last_seq_ + 1;
  segments_.back()->Append(seq, time, subject, header, payload);
  last_seq_ = seq;
  last_time_ = time;
  unsynced_ = true;
  if (msgs_ == 0) first_seq_ = seq;
  ++msgs_;
  bytes_ += size;
  subjects_.Add(subject, seq);
  EnforceLimits(subject);
  return seq;
}

absl::Status StreamLog::CheckDiscardNew(std::string_view subject, uint64_t record_size) const {
  if (limits_.max_msgs_per_subject > 0 && limits_.discard_new_per_subject &&
      limits_.discard == Discard::kNew) {
    const SubjectInfo* info = subjects_.Find(subject);
    if (info != nullptr && info->count >= static_cast<uint64_t>(limits_.max_msgs_per_subject)) {
      return MakeStoreError(absl::StatusCode::kFailedPrecondition, StoreError::kSubjectLimit,
                            "maximum messages per subject exceeded");
    }
  }
  if (limits_.discard != Discard::kNew) return absl::OkStatus();
  if (limits_.max_msgs > 0 && msgs_ + 1 > static_cast<uint64_t>(limits_.max_msgs)) {
    return MakeStoreError(absl::StatusCode::kFailedPrecondition, StoreError::kMsgsLimit,
                          "maximum messages exceeded");
  }
  if (limits_.max_bytes > 0 && bytes_ + record_size > static_cast<uint64_t>(limits_.max_bytes)) {
    return MakeStoreError(absl::StatusCode::kFailedPrecondition, StoreError::kBytesLimit,
                          "maximum bytes exceeded");
  }
  return absl::OkStatus();
}

absl::Status StreamLog::Roll(uint64_t record_size, int64_t now) {
  const uint64_t capacity =
      std::max<uint64_t>(options_.segment_bytes, format::kSegmentHeaderSize + record_size);
  if (segments_.back()->records() == 0) {
    // A new (or purged) log whose first record is larger than a segment: a second segment
    // would have the same first sequence, so the empty one grows instead.
    absl::Status status = segments_.back()->GrowEmpty(capacity);
    if (absl::IsInternal(status)) {  // the segment is unusable now; a full disk is not that
      failure_ = absl::InternalError(absl::StrCat("storage failed: ", status.message()));
      return failure_;
    }
    return status;
  }
  absl::Status status = segments_.back()->Seal();
  if (!status.ok()) {
    failure_ = absl::InternalError(absl::StrCat("storage failed: ", status.message()));
    return failure_;
  }
  auto segment = Segment::Create(env_, dir_, last_seq_ + 1, capacity, now);
  if (!segment.ok()) return segment.status();  // e.g. disk full: nothing stored changed
  segments_.push_back(std::move(*segment));
  unsynced_ = true;
  return absl::OkStatus();
}

uint64_t StreamLog::tracked_deletes() const {
  uint64_t deleted = 0;
  for (const auto& segment : segments_) deleted += segment->records() - segment->live_records();
  return deleted;
}

bool StreamLog::NeedsSync() const {
  switch (options_.sync) {
    case SyncPolicy::kAlways:
      return unsynced_;
    case SyncPolicy::kInterval:
      return unsynced_ && Now() - last_sync_ns_ >= options_.sync_interval_ns;
    case SyncPolicy::kNone:
      return false;
  }
  return false;
}

absl::Status StreamLog::SyncAll(bool force) {
  if (!failure_.ok()) return failure_;
  for (auto& segment : segments_) {
    if (!force && !segment->dirty()) continue;
    if (absl::Status status = segment->Sync(force); !status.ok()) {
      failure_ = absl::InternalError(absl::StrCat("storage failed: ", status.message()));
      return failure_;
    }
  }
  if (dir_dirty_) {
    if (absl::Status status = env_->SyncDir(dir_); !status.ok()) {
      failure_ = absl::InternalError(absl::StrCat("storage failed: ", status.message()));
      return failure_;
    }
    dir_dirty_ = false;
  }
  synced_seq_ = last_seq_;
  last_sync_ns_ = Now();
  unsynced_ = false;
  return absl::OkStatus();
}

bool StreamLog::PrepareAsyncSync(AsyncSync* job) {
  if (options_.sync != SyncPolicy::kAlways || !failure_.ok() || !unsynced_ || dir_dirty_) {
    return false;
  }
  Segment* dirty = nullptr;
  for (auto& segment : segments_) {
    if (!segment->dirty()) continue;
    if (dirty != nullptr || !segment->OnlyRecordsUnsynced() || segment->data_fd() < 0) {
      return false;
    }
    dirty = segment.get();
  }
  if (dirty == nullptr) return false;
  job->fd = dirty->data_fd();
  job->segment_first = dirty->first_seq();
  job->data_end = dirty->data_end();
  job->covers = last_seq_;
  unsynced_ = false;  // what follows needs the next sync
  return true;
}

void StreamLog::FinishAsyncSync(const AsyncSync& job, int result) {
  if (!failure_.ok()) return;
  if (result != 0) {
    failure_ = absl::InternalError(
        absl::StrCat("storage failed: ", ErrnoStatus(-result, "fdatasync").message()));
    return;
  }
  for (auto& segment : segments_) {
    if (segment->first_seq() == job.segment_first) segment->MarkDurable(job.data_end);
  }
  synced_seq_ = std::max(synced_seq_, job.covers);
  last_sync_ns_ = Now();
}

uint64_t StreamLog::acked_through() const {
  return options_.sync == SyncPolicy::kAlways ? synced_seq_ : last_seq_;
}

absl::Status StreamLog::Close() {
  if (options_.sync == SyncPolicy::kNone) return failure_;
  return SyncAll(true);
}

std::size_t StreamLog::SegmentIndexFor(uint64_t seq) const {
  auto after = std::upper_bound(
      segments_.begin(), segments_.end(), seq,
      [](uint64_t s, const std::unique_ptr<Segment>& segment) { return s < segment->first_seq(); });
  return after == segments_.begin() ? 0 : static_cast<std::size_t>(after - segments_.begin() - 1);
}

Segment* StreamLog::SegmentFor(uint64_t seq) const { return segments_[SegmentIndexFor(seq)].get(); }

bool StreamLog::Read(uint64_t seq, StoredMessage* out) const {
  if (seq < first_seq_ || seq > last_seq_) return false;
  return SegmentFor(seq)->Read(seq, out);
}

}  // namespace tern::storage
