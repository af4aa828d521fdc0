#pragma once
// The bytes of a stream backup (STREAM.SNAPSHOT / STREAM.RESTORE), as docs/JETSTREAM.md
// describes them: an s2 stream (the framing nats-server's backups use, so tools that read
// one through an s2 reader read Tern's) holding a ustar archive of the stream's meta.json,
// its durable consumers' files and its messages as records. Value types, no I/O.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core::js::backup {

// Appends s2 framing around data: the stream identifier first, then uncompressed chunks
// with their masked CRC32C.
class FrameWriter {
 public:
  void Append(std::string_view data, std::string* out);

 private:
  bool started_ = false;
};

// Reads s2 framing back, fed in any pieces. Uncompressed and skippable chunks are read;
// anything else is an error (compressed chunks are not written by Tern).
class FrameReader {
 public:
  // Appends the data of every complete chunk to *out. False on corrupt input (error()).
  bool Feed(std::string_view bytes, std::string* out);
  // True when no chunk is cut off.
  bool AtBoundary() const { return buffer_.empty(); }
  const std::string& error() const { return error_; }

 private:
  bool started_ = false;
  std::string buffer_;
  std::string error_;
};

// A ustar archive written one whole file at a time.
void AppendTarFile(std::string_view name, std::string_view data, int64_t mtime_s, std::string* out);
// The two zero blocks that end an archive.
void AppendTarEnd(std::string* out);

// Reads a ustar archive fed in pieces; each file is returned whole.
class TarReader {
 public:
  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next complete file. False when more bytes are needed, at the end (done()), or on
  // a corrupt header (error()).
  bool Next(std::string* name, std::string* data);
  bool done() const { return done_; }
  const std::string& error() const { return error_; }

 private:
  std::string buffer_;
  std::size_t at_ = 0;
  bool done_ = false;
  std::string error_;
};

// One stored message in a backup's msgs/ files.
struct Record {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  std::string_view subject, header, payload;
};
void AppendRecord(const Record& record, std::string* out);
// Reads the record at *at and advances it; false at the end or on a cut-off record.
bool ReadRecord(std::string_view data, std::size_t* at, Record* out);

}  // namespace tern::core::js::backup
