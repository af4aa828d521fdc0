#pragma once
// One segment file of a stream log: records appended through a writable shared mapping
// of a preallocated file, read in place through the same mapping, a sparse in-memory
// sequence index, and the set of its records that were deleted (persisted as tombstones
// in a side file). Owned by the shard that owns the stream; not thread-safe.
//
// Offsets, in order: header end <= durable end <= data end <= capacity. Records below the
// durable end survive a crash of the process and of the machine.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/record.h"
#include "storage/segment_index.h"
#include "storage/segment_scan.h"

namespace tern::storage {

// What opening a segment found.
struct SegmentReport {
  uint64_t first_seq = 0;
  uint64_t records = 0;
  uint64_t tombstones = 0;
  bool index_used = false;     // a valid .idx vouched for the data (no checksum pass)
  bool index_rebuilt = false;  // the .idx was missing or damaged and was written again
  std::vector<ScanDamage> damaged;
  uint64_t torn_tail_bytes = 0;
  bool header_damaged = false;
};

std::string SegmentPath(const std::string& dir, uint64_t first_seq, const char* extension);

class Segment {
 public:
  // Creates a new, empty, appendable segment of `capacity` bytes.
  static absl::StatusOr<std::unique_ptr<Segment>> Create(Env* env, const std::string& dir,
                                                         uint64_t first_seq, uint64_t capacity,
                                                         int64_t now_ns);
  // Opens an existing segment, calling on_record for every record (deleted ones too) in
  // order. `active` leaves it appendable up to max(capacity, its size); otherwise it is
  // sealed (truncated to its data, indexed, mapped read-only). With trust_index, a sealed
  // segment whose index file matches it is walked without checksums.
  static absl::StatusOr<std::unique_ptr<Segment>> Open(Env* env, const std::string& dir,
                                                       uint64_t first_seq, bool active,
                                                       bool trust_index, uint64_t capacity,
                                                       const RecordVisitor& on_record,
                                                       SegmentReport* report);
  ~Segment();

  uint64_t first_seq() const { return first_seq_; }
  // The last sequence stored here (first_seq - 1 when empty).
  uint64_t last_seq() const { return last_seq_; }
  int64_t first_time() const { return first_time_; }
  int64_t last_time() const { return last_time_; }
  uint64_t records() const { return records_; }
  uint64_t live_records() const { return records_ - deleted_.size(); }
  uint64_t live_bytes() const { return live_bytes_; }
  uint64_t data_end() const { return data_end_; }
  uint64_t capacity() const { return capacity_; }
  bool sealed() const { return sealed_; }
  bool dirty() const {
    return durable_end_ < data_end_ || !pending_tombstones_.empty() || tombstones_urgent_;
  }
  bool HasRoom(uint64_t record_size) const {
    return !sealed_ && data_end_ + record_size <= capacity_;
  }

  // Appends one record; the caller checked HasRoom and that seq > last_seq().
  void Append(uint64_t seq, int64_t time_ns, std::string_view subject, std::string_view header,
              std::string_view payload);

  // The record with this sequence, if stored here and not deleted.
  bool Read(uint64_t seq, StoredMessage* out) const;
  // The first live record with a sequence >= from; false if there is none here.
  bool ReadNext(uint64_t from, StoredMessage* out) const;
  // Visits live records with seq >= from in order until visit returns false. Returns false
  // if the visitor stopped early.
  template <typename Visit>
  bool ForEachFrom(uint64_t from, Visit&& visit) const;

  bool IsDeleted(uint64_t seq) const { return deleted_.contains(seq); }
  // The highest sequence the tombstone file named when the segment was opened (0: none),
  // whether or not its record is still here: that sequence was used.
  uint64_t max_tombstone() const { return max_tombstone_; }
  // Live records with a sequence >= from, without walking records when the segment's
  // sequences have no physical gaps (always, unless it was compacted). -1 if unknown.
  int64_t LiveFromFast(uint64_t from) const {
    if (records_ == 0 || from > last_seq_) return 0;
    if (from <= first_seq_) return static_cast<int64_t>(live_records());
    if (records_ != last_seq_ - first_seq_ + 1) return -1;
    int64_t live = static_cast<int64_t>(last_seq_ - from + 1);
    for (uint64_t seq : deleted_) live -= seq >= from;
    return live;
  }
  // Marks a live record deleted and queues its tombstone. With `durable` the next Sync
  // makes it durable; otherwise (removals the limits derive again on open) it is written
  // at the next Sync but only synced when forced. Returns false if the record is not here
  // or already deleted; `removed` gets the record.
  bool Delete(uint64_t seq, bool durable, StoredMessage* removed);

  // Makes appended records and durable tombstones durable (all tombstones with `force`).
  absl::Status Sync(bool force = false);
  // True when appended records are the only unsynced thing (no tombstones, no directory
  // entry): a plain fdatasync of data_fd() makes them durable.
  bool OnlyRecordsUnsynced() const {
    return durable_end_ < data_end_ && pending_tombstones_.empty() && !tombstones_urgent_ &&
           !needs_dir_sync_;
  }
  int data_fd() const { return file_->native_handle(); }
  // An fdatasync of data_fd() begun when data_end() was `end` succeeded.
  void MarkDurable(uint64_t end) { durable_end_ = std::max(durable_end_, end); }
  // An active segment that holds no record yet is made large enough for `capacity` bytes
  // (a first record bigger than a segment): same file, same first sequence. Internal error:
  // the segment could not be mapped again and is unusable.
  absl::Status GrowEmpty(uint64_t capacity);
  // Ends appends: trims the file to its data, writes the index, maps it read-only.
  absl::Status Seal();
  // Deletes the segment's files; the object must not be used afterwards.
  void RemoveFiles();
  // Writes a new file holding only the live records and swaps it in. Sealed segments only.
  absl::Status Compact();
  // Recovery: writes a new file without the records with a sequence >= seq (they belong to
  // the next segment) and swaps it in. Tombstones are kept.
  absl::Status DropFrom(uint64_t seq);

 private:
  Segment(Env* env, std::string dir, uint64_t first_seq);
  absl::Status MapForAppend(uint64_t capacity);
  absl::Status OpenTombstones(SegmentReport* report);
  absl::Status WriteIndex();
  // Swaps in a new file holding the records at the given offsets (in order), then
  // rebuilds the in-memory state from it. Tombstones are kept or dropped with the file.
  absl::Status ReplaceFile(const std::vector<IndexEntry>& keep, bool keep_tombstones);
  void NoteRecord(const StoredMessage& message, uint64_t offset, uint64_t size);
  uint64_t LocateFrom(uint64_t seq) const;  // offset of a record at or before seq's place

  Env* env_;
  std::string dir_;
  uint64_t first_seq_;
  std::unique_ptr<File> file_;
  std::unique_ptr<File> tombstone_file_;  // opened on the first delete
  char* data_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t data_end_ = 0;
  uint64_t durable_end_ = 0;
  bool sealed_ = false;
  bool needs_dir_sync_ = false;
  uint64_t last_seq_ = 0;
  int64_t first_time_ = 0;
  int64_t last_time_ = 0;
  uint64_t records_ = 0;
  uint64_t live_bytes_ = 0;
  std::vector<IndexEntry> index_;
  // The last record Read found: sequential reads continue from it instead of the index.
  mutable IndexEntry cursor_;
  absl::flat_hash_set<uint64_t> deleted_;
  uint64_t max_tombstone_ = 0;
  std::string pending_tombstones_;
  bool tombstones_unsynced_ = false;  // written to the .del file, not yet synced
  bool tombstones_urgent_ = false;    // a durable delete is among them
  bool tombstone_dir_sync_ = false;   // the .del file was created since the last sync
};

template <typename Visit>
bool Segment::ForEachFrom(uint64_t from, Visit&& visit) const {
  if (from > last_seq_) return true;
  for (uint64_t offset = LocateFrom(from); offset < data_end_;) {
    StoredMessage message;
    std::size_t size;
    if (DecodeRecord(data_, offset, data_end_, false, &message, &size) != DecodeResult::kOk) break;
    if (message.seq <= from) cursor_ = {message.seq, offset};
    offset += size;
    if (message.seq < from || deleted_.contains(message.seq)) continue;
    if (!visit(message)) return false;
  }
  return true;
}

}  // namespace tern::storage
