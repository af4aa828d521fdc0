// libFuzzer target: a stream log damaged on disk, then recovered. Each run builds a small
// log (small segments, so several files), appends and deletes a few messages, closes it
// (or "crashes": drops it without Close), damages its files as the input says, reopens it
// and checks what recovery made of it:
//   - Open never crashes: it fails with a status, or it succeeds and then
//   - every message it returns is one that was appended (same sequence, subject, header
//     and payload), never garbage, and a delete that reached its .del file stays deleted;
//   - every sequence in [first_seq, last_seq] reads or reports missing; the messages read
//     one by one are those ReadNext walks, State().msgs, NumPending and the per-subject
//     counts agree on them, and the limits given to Open hold;
//   - damage confined to index files and leftover .tmp files loses nothing;
//   - recovery is stable: append one message, close, reopen: the same messages, and no
//     problem reported the second time.
// With verify_sealed_on_open=false a sealed segment whose index matches is trusted without
// checksums (storage/stream_log.h): damaged message bytes there are returned as they are,
// so the content check is skipped in that mode once a .seg file was damaged.
//
// Input: byte 0 picks the Env (memory, or the real file system in a per-process temp
// directory), trusted or verified sealed segments, the segment size, and the limits at
// reopen; byte 1 the message count; byte 2 which messages are deleted; byte 3 close or
// crash; then damage operations of 6 bytes each {op, file, offset (2), length, extra},
// with the bytes written taken from the end of the input.
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "storage/env.h"
#include "storage/segment.h"
#include "storage/stream_log.h"
#include "storage/subject_pattern.h"

namespace {

using namespace tern::storage;

// The per-process scratch directory (Posix runs), removed on a broken promise too.
std::string scratch_path;

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_storage_recovery: broken promise: %s\n", what);
  if (!scratch_path.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(scratch_path, ignored);
  }
  std::abort();
}

// FUZZ_VERBOSE=1 in the environment: what each step did, for reading a reproducer.
bool Verbose() {
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  return verbose;
}

// Message `seq` as appended: a few subjects, some with headers, payloads of varied sizes.
struct Original {
  std::string subject, header, payload;
};
Original OriginalFor(uint64_t seq) {
  static const char* kSubjects[] = {"a", "b.c", "orders.x.y", "a"};
  Original m;
  m.subject = kSubjects[seq % 4];
  if (seq % 3 == 0) m.header = "NATS/1.0\r\nK: v" + std::to_string(seq) + "\r\n\r\n";
  m.payload = "m" + std::to_string(seq) + "-" + std::string((seq * 37) % 90, 'x');
  return m;
}

// A directory of this process for the Posix runs, emptied after each run.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                   : std::filesystem::temp_directory_path()) /
        "tern-fuzz-recovery-XXXXXX";
    Require(::mkdtemp(pattern.data()) != nullptr, "a scratch directory");
    path_ = pattern;
    scratch_path = path_;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    scratch_path.clear();
  }
  std::string log_dir() const { return path_ + "/s"; }
  void Clear() const {
    std::error_code ignored;
    std::filesystem::remove_all(log_dir(), ignored);
  }

 private:
  std::string path_;
};

const ScratchDir& Scratch() {
  static const ScratchDir dir;
  return dir;
}

// Input bytes, read front to back; what damage writes comes from the back.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), front_(0), back_(size) {}
  bool empty() const { return front_ >= back_; }
  uint8_t Byte() { return front_ < back_ ? data_[front_++] : 0; }
  std::string Tail(std::size_t n) {
    n = std::min(n, back_ - front_);
    back_ -= n;
    return std::string(reinterpret_cast<const char*>(data_) + back_, n);
  }

 private:
  const uint8_t* data_;
  std::size_t front_, back_;
};

using Files = std::map<std::string, std::string>;  // name -> bytes

Files ReadFiles(Env* env, const std::string& dir) {
  Files files;
  std::vector<std::string> names;
  Require(env->ListDir(dir, &names).ok(), "the log directory lists");
  for (const std::string& name : names) {
    std::unique_ptr<File> file;
    Require(env->OpenFile(dir + "/" + name, false, &file).ok(), "a log file opens");
    Require(file->ReadAll(&files[name]).ok(), "a log file reads");
  }
  return files;
}

void WriteFiles(Env* env, const std::string& dir, const Files& before, const Files& after) {
  for (const auto& [name, bytes] : before) {
    if (after.count(name) == 0) Require(env->RemoveFile(dir + "/" + name).ok(), "remove");
  }
  for (const auto& [name, bytes] : after) {
    auto old = before.find(name);
    if (old != before.end() && old->second == bytes) continue;
    (void)env->RemoveFile(dir + "/" + name);
    std::unique_ptr<File> file;
    Require(env->OpenFile(dir + "/" + name, true, &file).ok(), "create");
    // (MemoryFile::Append of nothing to a new file would memcpy to a null buffer.)
    if (!bytes.empty()) Require(file->Append(bytes).ok(), "write");
  }
}

bool EndsWith(const std::string& s, const char* tail) {
  const std::string t(tail);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// What the damage did, for what may be expected afterwards.
struct Damage {
  bool seg = false;            // bytes of a .seg file changed, or a .seg file went
  bool records_moved = false;  // bytes or files copied or renamed: records and tombstones
                               // may be found where they were not written
  bool tombstones = false;     // a .del file changed or went
  bool any_data = false;       // anything beyond .idx files and *.tmp leftovers
};

void Corrupt(Input& in, Files* files, Damage* damage) {
  for (int ops = 0; ops < 16 && !in.empty(); ++ops) {
    const uint8_t op = in.Byte();
    const uint8_t which = in.Byte();
    const uint16_t offset = static_cast<uint16_t>(in.Byte() | in.Byte() << 8);
    const uint8_t length = in.Byte();
    const uint8_t extra = in.Byte();
    if (files->empty()) return;
    auto it = files->begin();
    std::advance(it, which % files->size());
    const std::string name = it->first;
    std::string& bytes = it->second;
    const bool is_seg = EndsWith(name, ".seg"), is_del = EndsWith(name, ".del");
    const bool is_idx = EndsWith(name, ".idx");
    if (Verbose()) {
      std::fprintf(stderr, "op %d on %s (%zu bytes): offset %u length %u extra %u\n", op % 9,
                   name.c_str(), bytes.size(), offset, length, extra);
    }
    bool changed = true;
    switch (op % 9) {
      case 0:  // truncate
        bytes.resize(offset % (bytes.size() + 1));
        break;
      case 1: {  // overwrite (may extend)
        const std::size_t at = offset % (bytes.size() + 1);
        const std::string patch = in.Tail(length % 16 + 1);
        if (bytes.size() < at + patch.size()) bytes.resize(at + patch.size());
        bytes.replace(at, patch.size(), patch);
        break;
      }
      case 2:  // flip a bit
        if (bytes.empty()) {
          changed = false;
        } else {
          bytes[offset % bytes.size()] ^= static_cast<char>(1 << (length % 8));
        }
        break;
      case 3: {  // zero a range (a lost page)
        const std::size_t at = offset % (bytes.size() + 1);
        const std::size_t n = std::min<std::size_t>(length, bytes.size() - at);
        bytes.replace(at, n, std::string(n, '\0'));
        break;
      }
      case 4:  // append garbage
        bytes += in.Tail(length % 64 + 1);
        break;
      case 5:  // the file goes
        files->erase(it);
        break;
      case 6: {  // copy a range of this file into another (or the same) file
        auto to = files->begin();
        std::advance(to, extra % files->size());
        const std::size_t from = offset % (bytes.size() + 1);
        const std::string piece = bytes.substr(from, length);
        std::string& target = to->second;
        const std::size_t at = (offset / 7) % (target.size() + 1);
        if (target.size() < at + piece.size()) target.resize(at + piece.size());
        target.replace(at, piece.size(), piece);
        damage->records_moved = true;
        damage->seg |= EndsWith(to->first, ".seg");
        damage->tombstones |= EndsWith(to->first, ".del");
        damage->any_data |= !EndsWith(to->first, ".idx");
        break;
      }
      case 7: {  // the file again under another segment's name (same extension)
        const std::string copy =
            SegmentPath("", extra % 40 + 1, name.substr(name.size() - 3).c_str()).substr(1);
        if (is_seg || is_del || is_idx) {
          damage->records_moved = true;
          damage->seg |= is_seg;
          damage->tombstones |= is_del;
          damage->any_data |= !is_idx;
          (*files)[copy] = bytes;  // `bytes` stays valid: map nodes do not move
        }
        changed = false;
        break;
      }
      default:  // a leftover of an interrupted rewrite
        (*files)[name + ".tmp"] = in.Tail(length % 64);
        changed = false;
        break;
    }
    if (!changed) continue;
    damage->seg |= is_seg;
    damage->tombstones |= is_del;
    damage->any_data |= !is_idx && !EndsWith(name, ".tmp");
  }
}

struct Copy {
  std::string subject, header, payload;
  bool operator==(const Copy&) const = default;
};

// Reads the log every way there is and checks the ways agree. Returns seq -> message.
std::map<uint64_t, Copy> ReadEverything(const StreamLog& log) {
  const LogState state = log.State();
  Require(state.last_seq + 1 >= state.first_seq, "first_seq <= last_seq + 1");
  Require(state.last_seq < state.first_seq || state.last_seq - state.first_seq < 100'000,
          "a sequence range that was written");
  std::map<uint64_t, Copy> read;
  std::map<std::string, std::pair<uint64_t, uint64_t>> subjects;  // count, last
  for (uint64_t seq = state.first_seq; seq <= state.last_seq; ++seq) {
    StoredMessage m;
    if (!log.Read(seq, &m)) continue;
    Require(m.seq == seq, "Read returns the sequence asked for");
    read[seq] = Copy{std::string(m.subject), std::string(m.header), std::string(m.payload)};
    auto& [count, last] = subjects[std::string(m.subject)];
    ++count;
    last = seq;
  }
  StoredMessage m;
  Require(!log.Read(state.first_seq - 1, &m) || state.first_seq == 0, "nothing before first");
  Require(!log.Read(state.last_seq + 1, &m), "nothing after last");
  Require(state.msgs == read.size(), "State().msgs counts the readable messages");
  // ReadNext walks the same messages, for every filter kind; NumPending counts them.
  for (const char* filter : {">", "a", "orders.*.y", "*"}) {
    auto matches = [filter](const std::string& subject) { return PatternMatches(filter, subject); };
    auto expect = read.begin();
    auto skip = [&] {
      while (expect != read.end() && !matches(expect->second.subject)) ++expect;
    };
    skip();
    for (uint64_t from = 0; log.ReadNext(from, filter, &m); from = m.seq + 1) {
      Require(expect != read.end() && expect->first == m.seq, "ReadNext finds what Read finds");
      ++expect;
      skip();
    }
    Require(expect == read.end(), "ReadNext finds everything Read finds");
    for (uint64_t from = 0; from <= state.last_seq + 1 && from < 200; ++from) {
      uint64_t pending = 0;
      for (auto it = read.lower_bound(from); it != read.end(); ++it) {
        pending += matches(it->second.subject) ? 1 : 0;
      }
      Require(log.NumPending(from, filter) == pending, "NumPending counts what Read finds");
    }
  }
  uint64_t counted = 0;
  log.ForEachSubject(">", [&](std::string_view subject, uint64_t count) {
    auto it = subjects.find(std::string(subject));
    Require(it != subjects.end() && it->second.first == count, "per-subject counts");
    counted += count;
    StoredMessage last;
    Require(log.ReadLastBySubject(subject, &last) && last.seq == it->second.second,
            "ReadLastBySubject finds the last one");
  });
  Require(counted == read.size(), "the subjects hold every message");
  Require(state.num_subjects == subjects.size(), "State().num_subjects");
  return read;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  Input in(data, size);
  const uint8_t shape = in.Byte();
  const uint64_t count = in.Byte() % 32 + 1;
  const uint8_t deletes = in.Byte();
  const bool crash = in.Byte() % 4 == 0;

  std::unique_ptr<Env> memory;
  Env* env = Env::Posix();
  std::string dir = Scratch().log_dir();
  if (shape & 1) {
    Scratch().Clear();
  } else {
    memory = NewMemoryEnv();
    env = memory.get();
    dir = "/log";
  }
  LogOptions options;
  options.verify_sealed_on_open = (shape & 2) == 0;
  static const uint64_t kSegmentBytes[] = {256, 512, 1024, 64 << 10};
  options.segment_bytes = kSegmentBytes[(shape >> 2) % 4];
  int64_t now = 1'700'000'000'000'000'000;
  options.clock = [&now] { return now += 1000; };
  StreamLimits limits;  // at reopen
  switch ((shape >> 4) % 4) {
    case 1:
      limits.max_msgs = 5;
      break;
    case 2:
      limits.max_msgs_per_subject = 2;
      break;
    case 3:
      limits.max_bytes = 700;
      break;
  }

  // The log as written: seq -> message, and what was deleted.
  std::set<uint64_t> deleted;
  {
    auto log = StreamLog::Open(env, dir, options, {}, nullptr);
    Require(log.ok(), "a new log opens");
    for (uint64_t seq = 1; seq <= count; ++seq) {
      const Original m = OriginalFor(seq);
      auto appended = (*log)->Append(m.subject, m.header, m.payload);
      Require(appended.ok() && *appended == seq, "appends take the next sequence");
    }
    const uint64_t stride = deletes % 8;
    for (uint64_t seq = 1; stride != 0 && seq <= count; ++seq) {
      if ((seq + deletes / 8) % (stride + 1) == 0) {
        Require((*log)->Delete(seq), "a stored message deletes");
        deleted.insert(seq);
      }
    }
    if (!crash) Require((*log)->Close().ok(), "the log closes");
  }

  const Files clean = ReadFiles(env, dir);
  Files damaged = clean;
  Damage damage;
  Corrupt(in, &damaged, &damage);
  WriteFiles(env, dir, clean, damaged);

  RecoveryReport report;
  auto reopened = StreamLog::Open(env, dir, options, limits, &report);
  if (Verbose()) {
    std::fprintf(stderr, "%s env, %s sealed segments of %lu bytes, %lu messages, %s\n",
                 memory ? "memory" : "posix",
                 options.verify_sealed_on_open ? "verified" : "trusted",
                 static_cast<unsigned long>(options.segment_bytes),
                 static_cast<unsigned long>(count), crash ? "crashed" : "closed");
    for (uint64_t seq : deleted) std::fprintf(stderr, "deleted %lu\n", (unsigned long)seq);
    for (const auto& [name, bytes] : damaged) {
      auto old = clean.find(name);
      std::fprintf(stderr, "file %s: %zu bytes%s\n", name.c_str(), bytes.size(),
                   old == clean.end()     ? " (new)"
                   : old->second == bytes ? ""
                                          : " (damaged)");
    }
    for (const auto& [name, bytes] : clean) {
      if (damaged.count(name) == 0) std::fprintf(stderr, "file %s: removed\n", name.c_str());
    }
    std::fprintf(stderr, "reopen: %s\n", reopened.status().ToString().c_str());
    for (const std::string& problem : report.problems) {
      std::fprintf(stderr, "problem: %s\n", problem.c_str());
    }
    if (reopened.ok()) {
      const LogState state = (*reopened)->State();
      std::fprintf(stderr, "state: msgs %lu first %lu last %lu segments %zu\n",
                   (unsigned long)state.msgs, (unsigned long)state.first_seq,
                   (unsigned long)state.last_seq, (*reopened)->segment_count());
      for (uint64_t seq = 0; seq <= state.last_seq + 1 && seq < 200; ++seq) {
        StoredMessage m;
        const bool read = (*reopened)->Read(seq, &m);
        const bool next = (*reopened)->ReadNext(seq, ">", &m);
        std::fprintf(stderr, "  seq %lu: Read %s, ReadNext -> %lu\n", (unsigned long)seq,
                     read ? "found" : "missing", next ? (unsigned long)m.seq : 0ul);
      }
    }
  }
  if (!reopened.ok()) {
    if (memory == nullptr) Scratch().Clear();
    return 0;  // refusing to open is an answer
  }
  StreamLog& log = **reopened;
  const std::map<uint64_t, Copy> recovered = ReadEverything(log);
  const bool trusted = !options.verify_sealed_on_open && damage.seg;
  for (const auto& [seq, message] : recovered) {
    Require(seq >= 1 && seq <= count, "only sequences that were appended");
    const Original o = OriginalFor(seq);
    if (!trusted) {
      Require(message == Copy{o.subject, o.header, o.payload}, "messages come back unchanged");
    }
    // An unsynced delete (a crash) or a damaged or moved tombstone may bring one back.
    if (!crash && !damage.tombstones && !damage.records_moved) {
      Require(deleted.count(seq) == 0, "a durable delete stays deleted");
    }
  }
  if (!damage.records_moved) {
    Require(log.State().last_seq <= count, "last_seq names an appended message");
  }
  if (limits.max_msgs > 0) Require(log.State().msgs <= 5, "max_msgs holds after recovery");
  if (limits.max_msgs_per_subject > 0) {
    log.ForEachSubject(">", [](std::string_view, uint64_t n) {
      Require(n <= 2, "max_msgs_per_subject holds after recovery");
    });
  }
  if (limits.max_bytes > 0) Require(log.State().bytes <= 700, "max_bytes holds after recovery");
  if (!damage.any_data && !crash && limits.max_msgs < 0 && limits.max_msgs_per_subject < 0 &&
      limits.max_bytes < 0) {
    // Only indexes and leftovers were damaged: nothing may be lost.
    Require(recovered.size() == count - deleted.size(), "index damage loses no message");
  }

  // Stable: what this recovery kept, plus one more message, survives a clean reopen.
  const uint64_t last_seq = log.State().last_seq;
  auto appended = log.Append("after", "", "the end");
  Require(appended.ok(), "a recovered log appends");
  Require(*appended == last_seq + 1, "appends continue after last_seq");
  const std::map<uint64_t, Copy> before = ReadEverything(log);
  Require(log.Close().ok(), "a recovered log closes");
  reopened->reset();
  RecoveryReport second;
  auto again = StreamLog::Open(env, dir, options, limits, &second);
  Require(again.ok(), "a recovered, cleanly closed log opens again");
  for (const std::string& problem : second.problems) {
    std::fprintf(stderr, "second recovery: %s\n", problem.c_str());
  }
  Require(second.problems.empty(), "a recovered, cleanly closed log opens without problems");
  Require(ReadEverything(**again) == before, "a second recovery keeps what the first kept");
  again->reset();
  if (memory == nullptr) Scratch().Clear();
  return 0;
}
