#pragma once
// StreamLog: the messages of one stream, as a directory of segments (segment.h), with
// per-subject state, retention limits, deletes and purges, and group-commit durability.
// It knows nothing of sockets or JetStream's API. Owned by the stream's home shard: every
// call comes from that shard's thread, and no call blocks on anything but the disk.
//
// Durability: Append writes into the mapped active segment and returns the sequence at
// once; the message is durable after the next Sync (one fdatasync for everything appended
// since the last one). Under SyncPolicy::kAlways a caller acknowledges a publish only
// after Sync returned OK; see acked_through().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/record.h"
#include "storage/segment.h"
#include "storage/store_error.h"
#include "storage/subject_index.h"

namespace tern::storage {

enum class SyncPolicy {
  kAlways,    // group commit: acks wait for the fdatasync of their loop turn (default)
  kInterval,  // acks at once, fdatasync every sync_interval: a machine crash loses data
  kNone,      // never sync (memory storage)
};

enum class Discard { kOld, kNew };

struct StreamLimits {
  int64_t max_msgs = -1;              // -1: unlimited
  int64_t max_bytes = -1;             // stored bytes, as reported by State().bytes
  int64_t max_age_ns = 0;             // 0: unlimited
  int64_t max_msgs_per_subject = -1;  // -1: unlimited
  int64_t max_msg_size = -1;          // subject + header + payload bytes
  Discard discard = Discard::kOld;
  bool discard_new_per_subject = false;  // per-subject limit rejects instead of evicting
};

struct LogOptions {
  uint64_t segment_bytes = 16 << 20;
  SyncPolicy sync = SyncPolicy::kAlways;
  int64_t sync_interval_ns = 120'000'000'000;  // nats-server's default sync interval
  // Verify every record's checksum when opening sealed segments. When false, a sealed
  // segment whose index file is intact is trusted (faster start; damage is then found by
  // tern-segdump --check). The active segment is always verified.
  bool verify_sealed_on_open = true;
  // A sealed segment whose live bytes fall below this fraction is rewritten.
  double compact_below = 0.5;
  // The active segment is sealed early once this many of its records are deleted and they
  // outnumber the live ones: a stream whose limits keep few messages would otherwise track
  // every deleted sequence of a 16 MiB segment in memory (hundreds of thousands of small
  // messages) until the segment fills. Sealed, it drains and is dropped as a whole.
  uint64_t roll_after_deleted = 16384;
  // Wall clock in ns since the epoch (tests inject one).
  std::function<int64_t()> clock;
};

struct LogState {
  uint64_t msgs = 0;
  uint64_t bytes = 0;
  uint64_t first_seq = 0;  // last_seq + 1 when empty
  uint64_t last_seq = 0;
  int64_t first_time = 0;
  int64_t last_time = 0;
  uint64_t num_subjects = 0;
  uint64_t num_deleted = 0;  // gaps between first_seq and last_seq
};

struct RecoveryReport {
  std::vector<SegmentReport> segments;
  uint64_t msgs = 0;
  uint64_t last_seq = 0;
  std::vector<std::string> problems;  // one line per damaged or repaired thing
};

struct PurgeRequest {
  std::string filter;  // empty: every subject
  uint64_t below = 0;  // purge only sequences < below (0: no bound)
  uint64_t keep = 0;   // keep the newest `keep` matching messages (0: keep none)
};

class StreamLog {
 public:
  // Opens or creates the log in `dir`, recovering what is there (see docs/STORAGE.md).
  static absl::StatusOr<std::unique_ptr<StreamLog>> Open(Env* env, std::string dir,
                                                         LogOptions options, StreamLimits limits,
                                                         RecoveryReport* report);
  ~StreamLog();

  // Appends a message; returns its sequence. Fails with FailedPrecondition when a
  // discard-new limit or max_msg_size refuses it, ResourceExhausted when the disk is full,
  // and with the stored failure once a sync failed. Nothing stored is touched by a failure.
  absl::StatusOr<uint64_t> Append(std::string_view subject, std::string_view header,
                                  std::string_view payload);
  // Appends a message at a given time (replication, tests); time never goes backwards.
  absl::StatusOr<uint64_t> AppendAt(int64_t time_ns, std::string_view subject,
                                    std::string_view header, std::string_view payload);

  // True when a Sync is due under the policy (group commit: anything unsynced).
  bool NeedsSync() const;
  // Makes every append and delete so far durable. A failure is sticky: the log refuses
  // appends from then on, because what reached the disk is unknown.
  absl::Status Sync() { return SyncAll(false); }
  // Every message with a sequence <= this may be acknowledged to its publisher.
  uint64_t acked_through() const;

  // Group commit without blocking the caller. When the only unsynced work is records in
  // one segment, fills *job (the file to fdatasync, what it will cover) and returns true;
  // the caller runs the fdatasync (e.g. through io_uring) and reports its result with
  // FinishAsyncSync. Appends may continue meanwhile; they are covered by a later sync.
  // Returns false when a (synchronous) Sync() is needed instead, or nothing is due.
  struct AsyncSync {
    int fd = -1;
    uint64_t segment_first = 0;  // which segment (it may roll or go meanwhile)
    uint64_t data_end = 0;
    uint64_t covers = 0;  // sequences <= this are durable once it succeeds
  };
  bool PrepareAsyncSync(AsyncSync* job);
  // result: 0 or -errno. A failure is sticky, as for Sync().
  void FinishAsyncSync(const AsyncSync& job, int result);

  bool Read(uint64_t seq, StoredMessage* out) const;
  // The first live message with seq >= from whose subject matches the filter.
  bool ReadNext(uint64_t from, std::string_view filter, StoredMessage* out) const;
  bool ReadLastBySubject(std::string_view subject, StoredMessage* out) const;
  // The sequences between the first and the last that hold no message (deleted, or
  // removed by limits), ascending: stream info's deleted_details. Walks the live records.
  std::vector<uint64_t> DeletedSequences() const;
  // The first sequence stored at or after time_ns (last_seq + 1 if none).
  uint64_t SeqAtTime(int64_t time_ns) const;
  // Live messages with seq >= from matching the filter.
  uint64_t NumPending(uint64_t from, std::string_view filter) const;
  // Visits every subject with messages that matches the filter.
  void ForEachSubject(std::string_view filter,
                      const std::function<void(std::string_view, uint64_t count)>& visit) const;
  const SubjectInfo* Subject(std::string_view subject) const;

  // Removes one message; its tombstone is durable after the next Sync. False if absent.
  bool Delete(uint64_t seq);
  // Returns the number of messages purged.
  absl::StatusOr<uint64_t> Purge(const PurgeRequest& request);
  // Applies max_age now; returns the time of the next expiry (0: none due).
  int64_t ExpireOld();
  // Changes the limits and enforces them at once.
  void SetLimits(const StreamLimits& limits);
  const StreamLimits& limits() const { return limits_; }

  LogState State() const;
  uint64_t bytes() const { return bytes_; }  // State().bytes, without reading anything
  const absl::Status& failure() const { return failure_; }
  const std::string& dir() const { return dir_; }
  std::size_t segment_count() const { return segments_.size(); }
  // Deleted sequences the segments track in memory (bounded by roll_after_deleted).
  uint64_t tracked_deletes() const;
  // Makes everything durable. The log is reopenable after a crash at any point anyway.
  absl::Status Close();

 private:
  StreamLog(Env* env, std::string dir, LogOptions options, StreamLimits limits);
  absl::Status Recover(RecoveryReport* report);
  // Recovery: makes every segment hold only sequences below the next one's first (see
  // docs/STORAGE.md, Recovery). True when it dropped records or removed a segment.
  absl::StatusOr<bool> SeparateSegments(RecoveryReport* report);
  // `force` also syncs the tombstones of removals by limits (before limits change).
  absl::Status SyncAll(bool force);
  absl::Status Roll(uint64_t record_size, int64_t now);
  int64_t Now() const;
  Segment* SegmentFor(uint64_t seq) const;
  std::size_t SegmentIndexFor(uint64_t seq) const;
  void Track(const StoredMessage& message);
  void Forget(const StoredMessage& message);
  bool RemoveMessage(uint64_t seq, bool durable);
  void RemoveIfEmpty(Segment* segment, bool compact);
  void MaybeCompact(Segment* segment);
  void AdvanceFirst();
  // Evicts by the limits: the per-subject limit for one subject after an append, or for
  // every subject when `appended` is empty; then max_msgs and max_bytes.
  void EnforceLimits(std::string_view appended = {});
  void DropSegment(std::size_t index);
  template <typename Visit>
  void ForEachLive(uint64_t from, Visit&& visit) const;
  void RebuildSubjects();
  absl::Status CheckDiscardNew(std::string_view subject, uint64_t record_size) const;
  uint64_t ResolveFirst(std::string_view subject, SubjectInfo* info) const;
  uint64_t ResolveLast(std::string_view subject, SubjectInfo* info) const;
  absl::StatusOr<uint64_t> PurgeAll(uint64_t next_first);

  Env* env_;
  std::string dir_;
  LogOptions options_;
  StreamLimits limits_;
  std::vector<std::unique_ptr<Segment>> segments_;  // by first_seq; the last is active
  mutable SubjectIndex subjects_;
  uint64_t msgs_ = 0;
  uint64_t bytes_ = 0;
  uint64_t first_seq_ = 1;
  uint64_t last_seq_ = 0;
  int64_t last_time_ = 0;
  uint64_t synced_seq_ = 0;
  int64_t last_sync_ns_ = 0;
  bool unsynced_ = false;   // appends or tombstones since the last Sync
  bool dir_dirty_ = false;  // segment files were removed since the last Sync
  absl::Status failure_;
};

template <typename Visit>
void StreamLog::ForEachLive(uint64_t from, Visit&& visit) const {
  if (from < first_seq_) from = first_seq_;
  for (std::size_t i = SegmentIndexFor(from); i < segments_.size(); ++i) {
    if (!segments_[i]->ForEachFrom(from, visit)) return;
  }
}

}  // namespace tern::storage
