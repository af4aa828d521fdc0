#pragma once
// The file-system seam of the storage layer: everything the log does to files goes
// through Env, so tests can run it in memory or inject faults (ENOSPC, EIO, torn files).
// An Env and its files are used by the shard that owns the stream; they are not
// thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tern::storage {

// An open file. A file has at most one mapping at a time; the mapping stays valid (same
// address) until Unmap, another Map, or destruction.
class File {
 public:
  virtual ~File() = default;
  virtual uint64_t Size() const = 0;
  // Makes [0, size) allocated on disk so writes through a mapping cannot hit ENOSPC.
  // Never shrinks.
  virtual absl::Status Allocate(uint64_t size) = 0;
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Maps [0, length) shared; length may exceed Size() only up to what is allocated.
  virtual absl::Status Map(uint64_t length, bool writable, char** address) = 0;
  // Makes the current mapping read-only (the address does not change).
  virtual absl::Status ProtectReadOnly() = 0;
  virtual void Unmap() = 0;
  // Appends at the end of the file with a write call (for small side files).
  virtual absl::Status Append(std::string_view data) = 0;
  virtual absl::Status ReadAll(std::string* out) = 0;
  // Makes the file's data durable (fdatasync).
  virtual absl::Status Sync() = 0;
  // The OS file descriptor, for syncing through an event loop; -1 when there is none
  // (in-memory files).
  virtual int native_handle() const { return -1; }
};

class Env {
 public:
  virtual ~Env() = default;
  // Opens (creating when `create` is true) a file for reading and writing.
  virtual absl::Status OpenFile(const std::string& path, bool create,
                                std::unique_ptr<File>* file) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the directory's entries, "." and ".." excluded.
  virtual absl::Status ListDir(const std::string& path, std::vector<std::string>* names) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Writes a whole small file atomically: temporary file, sync, rename, directory sync.
  absl::Status WriteFileAtomically(const std::string& path, std::string_view data);
  // The same without the syncs when !durable: readers see the old or the new file, and a
  // process crash keeps it, but a machine crash may bring back an older one.
  absl::Status WriteFileReplacing(const std::string& path, std::string_view data, bool durable);

  // The real file system. Never deleted.
  static Env* Posix();
};

// A private in-memory file system (used by memory-storage streams and tests).
std::unique_ptr<Env> NewMemoryEnv();

// absl::Status for a failed system call; ENOSPC and EDQUOT map to ResourceExhausted.
absl::Status ErrnoStatus(int error, std::string_view what);

}  // namespace tern::storage
