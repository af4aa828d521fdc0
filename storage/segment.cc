#include "storage/segment.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "storage/format.h"

namespace tern::storage {
namespace {

uint64_t MessageSize(const StoredMessage& m) {
  return format::RecordSize(m.subject.size(), m.header.size(), m.payload.size());
}

}  // namespace

std::string SegmentPath(const std::string& dir, uint64_t first_seq, const char* extension) {
  char name[40];
  std::snprintf(name, sizeof(name), "%020" PRIu64 ".%s", first_seq, extension);
  return absl::StrCat(dir, "/", name);
}

Segment::Segment(Env* env, std::string dir, uint64_t first_seq)
    : env_(env), dir_(std::move(dir)), first_seq_(first_seq), last_seq_(first_seq - 1) {}

Segment::~Segment() = default;

absl::StatusOr<std::unique_ptr<Segment>> Segment::Create(Env* env, const std::string& dir,
                                                         uint64_t first_seq, uint64_t capacity,
                                                         int64_t now_ns) {
  std::unique_ptr<Segment> segment(new Segment(env, dir, first_seq));
  const std::string path = SegmentPath(dir, first_seq, "seg");
  absl::Status status = env->OpenFile(path, true, &segment->file_);
  if (status.ok()) status = segment->file_->Truncate(0);
  if (status.ok()) status = segment->MapForAppend(capacity);
  if (!status.ok()) {
    segment->file_.reset();
    (void)env->RemoveFile(path);
    return status;
  }
  EncodeSegmentHeader(segment->data_, first_seq, now_ns);
  segment->data_end_ = format::kSegmentHeaderSize;
  segment->needs_dir_sync_ = true;
  return segment;
}

absl::Status Segment::MapForAppend(uint64_t capacity) {
  capacity_ = std::max<uint64_t>(capacity, file_->Size());
  absl::Status status = file_->Allocate(capacity_);
  if (status.ok()) status = file_->Map(capacity_, true, &data_);
  return status;
}

absl::Status Segment::GrowEmpty(uint64_t capacity) {
  if (records_ != 0 || sealed_) return absl::FailedPreconditionError("segment is not empty");
  if (capacity <= capacity_) return absl::OkStatus();
  // Nothing points into the mapping (no records): it may move. On a full disk the old size
  // is mapped again and nothing changed.
  file_->Unmap();
  data_ = nullptr;
  absl::Status status = file_->Allocate(capacity);
  if (status.ok()) {
    status = file_->Map(capacity, true, &data_);
    if (status.ok()) capacity_ = capacity;
  }
  if (!status.ok()) {
    if (absl::Status again = file_->Map(capacity_, true, &data_); !again.ok()) {
      return absl::InternalError(absl::StrCat("segment not mapped again: ", again.message()));
    }
  }
  return status;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Open(Env* env, const std::string& dir,
                                                       uint64_t first_seq, bool active,
                                                       bool trust_index, uint64_t capacity,
                                                       const RecordVisitor& on_record,
                                                       SegmentReport* report) {
  std::unique_ptr<Segment> segment(new Segment(env, dir, first_seq));
  Segment& s = *segment;
  report->first_seq = first_seq;
  absl::Status status = env->OpenFile(SegmentPath(dir, first_seq, "seg"), false, &s.file_);
  if (!status.ok()) return status;
  status = s.OpenTombstones(report);
  if (!status.ok()) return status;
  uint64_t size = s.file_->Size();
  if (size < format::kSegmentHeaderSize) {
    status = s.file_->Allocate(format::kSegmentHeaderSize);
    size = format::kSegmentHeaderSize;
    if (!status.ok()) return status;
  }
  status = s.file_->Map(size, true, &s.data_);
  if (!status.ok()) return status;
  if (!SegmentHeaderValid(s.data_, size, first_seq)) {
    report->header_damaged = true;
    EncodeSegmentHeader(s.data_, first_seq, 0);
  }

  // Live records go to the caller; tombstoned ones only count toward the segment.
  absl::flat_hash_set<uint64_t> tombstones = std::move(s.deleted_);
  s.deleted_.clear();
  auto visit = [&](const StoredMessage& message, uint64_t offset, uint64_t record_size) {
    s.NoteRecord(message, offset, record_size);
    if (tombstones.contains(message.seq)) {
      s.deleted_.insert(message.seq);
      s.live_bytes_ -= record_size;
    } else {
      on_record(message, offset, record_size);
    }
  };

  SegmentSummary summary;
  std::string index_bytes;
  std::unique_ptr<File> index_file;
  const bool have_index =
      !active && !report->header_damaged &&
      env->OpenFile(SegmentPath(dir, first_seq, "idx"), false, &index_file).ok() &&
      index_file->ReadAll(&index_bytes).ok() && DecodeIndex(index_bytes, &summary) &&
      summary.data_end == size;
  ScanResult scan;
  if (have_index && trust_index) {
    // Trust the sealed data the index vouches for, unless it does not walk cleanly.
    ScanResult trial = ScanSegment(s.data_, size, first_seq, false, [](auto&&...) {});
    if (trial.records == summary.records && trial.last_seq == summary.last_seq &&
        trial.data_end == size) {
      scan = ScanSegment(s.data_, size, first_seq, false, visit);
      report->index_used = true;
    }
  }
  if (!report->index_used) scan = ScanSegment(s.data_, size, first_seq, true, visit);
  report->records = s.records_;
  report->damaged = scan.damaged;
  report->torn_tail_bytes = scan.torn_tail_bytes;
  s.data_end_ = scan.data_end;

  // Drop what follows the last good record so a later append can never sit in front of
  // stale bytes that look like records.
  s.file_->Unmap();
  s.data_ = nullptr;
  if (size > s.data_end_) status = s.file_->Truncate(s.data_end_);
  if (!status.ok()) return status;
  if (active) {
    status = s.MapForAppend(capacity);
  } else {
    s.capacity_ = s.data_end_;
    s.sealed_ = true;
    status = s.file_->Map(s.data_end_, false, &s.data_);
  }
  if (status.ok() && !scan.damaged.empty()) {
    // Damaged bytes between good records must not stay where a reader walks: write the
    // good records (deleted ones too, so no sequence is ever reused) to a new file.
    std::vector<IndexEntry> good;
    ScanSegment(s.data_, s.data_end_, first_seq, true,
                [&](const StoredMessage& m, uint64_t offset, uint64_t) {
                  good.push_back({m.seq, offset});
                });
    status = s.ReplaceFile(good, true);
  }
  const bool index_matches = have_index && scan.damaged.empty() && summary.records == s.records_ &&
                             summary.last_seq == s.last_seq_ && summary.data_end == s.data_end_;
  if (status.ok() && !active && !index_matches) {
    status = s.WriteIndex();
    report->index_rebuilt = true;
  }
  if (status.ok() && (report->header_damaged || size > s.data_end_)) status = s.file_->Sync();
  if (!status.ok()) return status;
  s.durable_end_ = s.data_end_;
  return segment;
}

absl::Status Segment::OpenTombstones(SegmentReport* report) {
  const std::string path = SegmentPath(dir_, first_seq_, "del");
  if (!env_->FileExists(path)) return absl::OkStatus();
  absl::Status status = env_->OpenFile(path, false, &tombstone_file_);
  std::string bytes;
  if (status.ok()) status = tombstone_file_->ReadAll(&bytes);
  if (!status.ok()) return status;
  std::vector<uint64_t> seqs;
  const std::size_t good = DecodeTombstones(bytes, &seqs);
  deleted_.insert(seqs.begin(), seqs.end());  // moved aside by Open, matched to the records
  for (const uint64_t seq : seqs) max_tombstone_ = std::max(max_tombstone_, seq);
  report->tombstones = deleted_.size();
  if (good < bytes.size()) return tombstone_file_->Truncate(good);  // torn entry
  return absl::OkStatus();
}

void Segment::NoteRecord(const StoredMessage& message, uint64_t offset, uint64_t size) {
  // Records go in sequence order at rising offsets: the sparse index's binary searches
  // (by sequence and by offset) depend on it.
  TERN_DCHECK(records_ == 0 || message.seq > last_seq_);
  TERN_DCHECK(index_.empty() || offset > index_.back().offset);
  if (records_ == 0) first_time_ = message.time_ns;
  last_seq_ = message.seq;
  last_time_ = message.time_ns;
  ++records_;
  live_bytes_ += size;
  if (index_.empty() || offset >= index_.back().offset + format::kIndexStride) {
    index_.push_back({message.seq, offset});
  }
}

void Segment::Append(uint64_t seq, int64_t time_ns, std::string_view subject,
                     std::string_view header, std::string_view payload) {
  const uint64_t offset = data_end_;
  const std::size_t size = EncodeRecord(data_ + offset, seq, time_ns, subject, header, payload);
  data_end_ += size;
  NoteRecord(StoredMessage{seq, time_ns, subject, header, payload}, offset, size);
}

uint64_t Segment::LocateFrom(uint64_t seq) const {
  auto after = std::upper_bound(index_.begin(), index_.end(), seq,
                                [](uint64_t s, const IndexEntry& e) { return s < e.seq; });
  const uint64_t indexed =
      after == index_.begin() ? format::kSegmentHeaderSize : std::prev(after)->offset;
  return cursor_.seq != 0 && cursor_.seq <= seq && cursor_.offset > indexed ? cursor_.offset
                                                                            : indexed;
}

bool Segment::Read(uint64_t seq, StoredMessage* out) const {
  if (seq < first_seq_ || seq > last_seq_ || deleted_.contains(seq)) return false;
  for (uint64_t offset = LocateFrom(seq); offset < data_end_;) {
    std::size_t size;
    if (DecodeRecord(data_, offset, data_end_, false, out, &size) != DecodeResult::kOk) break;
    if (out->seq >= seq) {
      if (out->seq == seq) cursor_ = {seq, offset};
      return out->seq == seq;
    }
    offset += size;
  }
  return false;
}

bool Segment::ReadNext(uint64_t from, StoredMessage* out) const {
  bool found = false;
  ForEachFrom(from, [&](const StoredMessage& message) {
    *out = message;
    found = true;
    return false;
  });
  return found;
}

bool Segment::Delete(uint64_t seq, bool durable, StoredMessage* removed) {
  if (!Read(seq, removed)) return false;
  deleted_.insert(seq);
  live_bytes_ -= MessageSize(*removed);
  tombstones_urgent_ |= durable;
  EncodeTombstone(seq, &pending_tombstones_);
  return true;
}

absl::Status Segment::Sync(bool force) {
  if (durable_end_ < data_end_) {
    absl::Status status = file_->Sync();
    if (status.ok() && needs_dir_sync_) status = env_->SyncDir(dir_);
    if (!status.ok()) return status;
    needs_dir_sync_ = false;
    durable_end_ = data_end_;
  }
  if (!pending_tombstones_.empty()) {
    absl::Status status;
    if (tombstone_file_ == nullptr) {
      status = env_->OpenFile(SegmentPath(dir_, first_seq_, "del"), true, &tombstone_file_);
      tombstone_dir_sync_ = true;
    }
    if (status.ok()) status = tombstone_file_->Append(pending_tombstones_);
    if (!status.ok()) return status;
    pending_tombstones_.clear();
    tombstones_unsynced_ = true;
  }
  if (tombstones_unsynced_ && (tombstones_urgent_ || force)) {
    absl::Status status = tombstone_file_->Sync();
    if (status.ok() && tombstone_dir_sync_) status = env_->SyncDir(dir_);
    if (!status.ok()) return status;
    tombstones_unsynced_ = tombstones_urgent_ = tombstone_dir_sync_ = false;
  }
  return absl::OkStatus();
}

absl::Status Segment::WriteIndex() {
  SegmentSummary summary{data_end_, records_, last_seq_, last_time_, index_};
  return env_->WriteFileAtomically(SegmentPath(dir_, first_seq_, "idx"), EncodeIndex(summary));
}

absl::Status Segment::Seal() {
  if (sealed_) return absl::OkStatus();
  absl::Status status = Sync();
  if (!status.ok()) return status;
  // Trimming and indexing are best effort (a full disk must not fail the log): a segment
  // without a matching index is verified and indexed again when it is next opened.
  (void)file_->Truncate(data_end_);
  (void)WriteIndex();
  (void)file_->ProtectReadOnly();
  sealed_ = true;
  capacity_ = data_end_;
  return absl::OkStatus();
}

void Segment::RemoveFiles() {
  if (file_) file_->Unmap();
  file_.reset();
  tombstone_file_.reset();
  data_ = nullptr;
  for (const char* extension : {"seg", "idx", "del"}) {
    (void)env_->RemoveFile(SegmentPath(dir_, first_seq_, extension));
  }
}

absl::Status Segment::Compact() {
  if (!sealed_) return absl::FailedPreconditionError("only sealed segments are compacted");
  absl::Status status = Sync(true);
  if (!status.ok()) return status;
  std::vector<IndexEntry> keep;  // {seq, offset}; sizes come from the records themselves
  ForEachFrom(first_seq_, [&](const StoredMessage& message) {
    keep.push_back({message.seq, static_cast<uint64_t>(message.subject.data() - data_) -
                                     format::kRecordHeaderSize});
    return true;
  });
  return ReplaceFile(keep, false);
}

absl::Status Segment::DropFrom(uint64_t seq) {
  std::vector<IndexEntry> keep;  // deleted records too, like a repair of damage
  ScanSegment(data_, data_end_, first_seq_, false,
              [&](const StoredMessage& m, uint64_t offset, uint64_t) {
                if (m.seq < seq) keep.push_back({m.seq, offset});
              });
  return ReplaceFile(keep, true);
}

absl::Status Segment::ReplaceFile(const std::vector<IndexEntry>& keep, bool keep_tombstones) {
  const std::string path = SegmentPath(dir_, first_seq_, "seg");
  const std::string temp = path + ".tmp";
  std::vector<uint64_t> sizes;
  uint64_t size = format::kSegmentHeaderSize;
  for (const IndexEntry& record : keep) {
    StoredMessage message;
    std::size_t record_size = 0;
    DecodeRecord(data_, record.offset, data_end_, false, &message, &record_size);
    sizes.push_back(record_size);
    size += record_size;
  }
  const uint64_t capacity = sealed_ ? size : std::max(size, capacity_);
  std::unique_ptr<File> file;
  char* target = nullptr;
  absl::Status status = env_->OpenFile(temp, true, &file);
  if (status.ok()) status = file->Truncate(0);
  if (status.ok()) status = file->Allocate(capacity);
  if (status.ok()) status = file->Map(capacity, true, &target);
  if (!status.ok()) {
    file.reset();
    (void)env_->RemoveFile(temp);
    return status;
  }
  std::memcpy(target, data_, format::kSegmentHeaderSize);
  uint64_t at = format::kSegmentHeaderSize;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    std::memcpy(target + at, data_ + keep[i].offset, sizes[i]);
    at += sizes[i];
  }
  // The index goes first: a crash must never pair the new file with the old index.
  status = file->Sync();
  if (status.ok()) status = env_->RemoveFile(SegmentPath(dir_, first_seq_, "idx"));
  if (status.ok()) status = env_->RenameFile(temp, path);
  if (status.ok()) status = env_->SyncDir(dir_);
  if (!status.ok()) {
    file.reset();
    (void)env_->RemoveFile(temp);
    return status;
  }
  absl::flat_hash_set<uint64_t> tombstones;
  if (keep_tombstones) {
    tombstones = std::move(deleted_);
  } else {
    // Deleted records were left out; their tombstones now name nothing.
    tombstone_file_.reset();
    (void)env_->RemoveFile(SegmentPath(dir_, first_seq_, "del"));
  }
  file_ = std::move(file);
  data_ = target;
  data_end_ = durable_end_ = size;
  capacity_ = capacity;
  records_ = 0;
  live_bytes_ = 0;
  last_seq_ = first_seq_ - 1;
  first_time_ = last_time_ = 0;
  index_.clear();
  cursor_ = {};
  deleted_.clear();
  ScanSegment(data_, size, first_seq_, false,
              [&](const StoredMessage& m, uint64_t offset, uint64_t record_size) {
                NoteRecord(m, offset, record_size);
                if (tombstones.contains(m.seq)) {
                  deleted_.insert(m.seq);
                  live_bytes_ -= record_size;
                }
              });
  if (!sealed_) return absl::OkStatus();
  status = WriteIndex();
  if (status.ok()) status = file_->ProtectReadOnly();
  return status;
}

}  // namespace tern::storage
