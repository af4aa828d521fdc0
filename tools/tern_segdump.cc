// tern-segdump: prints a store's streams, segments and records, and checks them without
// changing anything. Exit status: 0 clean, 1 damage found, 2 usage or I/O error.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/format.h"
#include "storage/record.h"
#include "storage/segment_index.h"
#include "storage/segment_scan.h"

namespace {

namespace fs = std::filesystem;
namespace format = tern::storage::format;

struct Flags {
  bool records = false;
  std::string path;
};

const char kUsage[] =
    "usage: tern-segdump [--records] PATH\n"
    "  PATH: a store directory (e.g. the -sd folder), a stream directory or a .seg file.\n"
    "  Verifies every record checksum, index and tombstone file; prints one line per\n"
    "  segment (--records: one per record). Exit 0 clean, 1 damage found, 2 error.\n";

bool ReadAll(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

std::string FormatTime(int64_t ns) {
  const time_t seconds = static_cast<time_t>(ns / 1'000'000'000);
  tm utc;
  gmtime_r(&seconds, &utc);
  char text[64];
  const std::size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof(text) - n, ".%09" PRId64 "Z", ns % 1'000'000'000);
  return text;
}

uint64_t FirstSeqOf(const fs::path& segment) {
  return std::strtoull(segment.stem().string().c_str(), nullptr, 10);
}

// Checks one segment and its side files; returns the number of problems found.
int DumpSegment(const fs::path& path, bool is_last, const Flags& flags) {
  int problems = 0;
  auto problem = [&](const std::string& text) {
    std::printf("  ! %s: %s\n", path.filename().c_str(), text.c_str());
    ++problems;
  };
  std::string data;
  if (!ReadAll(path, &data)) {
    problem("cannot be read");
    return problems;
  }
  const uint64_t first = FirstSeqOf(path);
  if (!tern::storage::SegmentHeaderValid(data.data(), data.size(), first)) {
    problem("bad segment header (not a Tern segment, damaged, or not named by its first sequence)");
  }
  if (data.size() < format::kSegmentHeaderSize) return problems;

  // Tombstones: which records were deleted.
  std::vector<uint64_t> tombstones;
  std::string del;
  fs::path del_path = path;
  del_path.replace_extension(".del");
  if (ReadAll(del_path, &del)) {
    const std::size_t at = tern::storage::DecodeTombstones(del, &tombstones);
    if (at != del.size()) {
      std::printf("  - %s: %zu bytes of an unfinished tombstone (ignored on open)\n",
                  del_path.filename().c_str(), del.size() - at);
    }
  }
  std::sort(tombstones.begin(), tombstones.end());
  auto is_deleted = [&](uint64_t seq) {
    return std::binary_search(tombstones.begin(), tombstones.end(), seq);
  };

  uint64_t live = 0;
  int64_t first_time = 0;
  int64_t last_time = 0;
  const tern::storage::ScanResult scan = tern::storage::ScanSegment(
      data.data(), data.size(), first, true,
      [&](const tern::storage::StoredMessage& m, uint64_t offset, uint64_t size) {
        if (first_time == 0) first_time = m.time_ns;
        last_time = m.time_ns;
        const bool deleted = is_deleted(m.seq);
        live += deleted ? 0 : 1;
        if (flags.records) {
          std::printf("    seq %" PRIu64 "  %s  %.*s  hdr %zu  data %zu%s  @%" PRIu64 "\n", m.seq,
                      FormatTime(m.time_ns).c_str(), static_cast<int>(m.subject.size()),
                      m.subject.data(), m.header.size(), m.payload.size(),
                      deleted ? "  (deleted)" : "", offset);
        }
      });
  std::printf("  %s  seqs %" PRIu64 "..%" PRIu64 "  records %" PRIu64 "  live %" PRIu64
              "  bytes %" PRIu64 "/%zu",
              path.filename().c_str(), first, scan.last_seq, scan.records, live, scan.data_end,
              data.size());
  if (scan.records > 0) {
    std::printf("  %s .. %s", FormatTime(first_time).c_str(), FormatTime(last_time).c_str());
  }
  std::printf("%s\n", is_last ? "  (active)" : "");
  for (const tern::storage::ScanDamage& damage : scan.damaged) {
    problem(std::to_string(damage.length) + " unreadable bytes at offset " +
            std::to_string(damage.offset) + " (records after them are intact)");
  }
  if (scan.torn_tail_bytes > 0) {
    problem(std::to_string(scan.torn_tail_bytes) + " bytes of an unfinished write after offset " +
            std::to_string(scan.data_end) + (is_last ? " (a torn last append)" : ""));
  }

  fs::path index_path = path;
  index_path.replace_extension(".idx");
  std::string index_bytes;
  tern::storage::SegmentSummary summary;
  if (!is_last) {
    if (!ReadAll(index_path, &index_bytes)) {
      std::printf("  - %s: no index (written again on the next open)\n", path.filename().c_str());
    } else if (!tern::storage::DecodeIndex(index_bytes, &summary)) {
      problem("index file damaged (rebuilt on the next open)");
    } else if (summary.data_end != data.size() || summary.records != scan.records ||
               summary.last_seq != scan.last_seq) {
      problem("index does not match the segment (rebuilt on the next open)");
    }
  }
  return problems;
}

// A stream is a directory holding .seg files; returns the problems found.
int DumpStream(const fs::path& dir, const Flags& flags) {
  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".seg") segments.push_back(entry.path());
  }
  std::sort(segments.begin(), segments.end());
  std::printf("stream %s: %zu segment%s\n", dir.c_str(), segments.size(),
              segments.size() == 1 ? "" : "s");
  int problems = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    problems += DumpSegment(segments[i], i + 1 == segments.size(), flags);
  }
  return problems;
}

bool HasSegments(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".seg") return true;
  }
  return false;
}

void FindStreams(const fs::path& dir, int depth, std::vector<fs::path>* streams) {
  if (HasSegments(dir)) streams->push_back(dir);
  if (depth == 0) return;
  std::vector<fs::path> children;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) children.push_back(entry.path());
  }
  std::sort(children.begin(), children.end());
  for (const fs::path& child : children) FindStreams(child, depth - 1, streams);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--records") {
      flags.records = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg.starts_with("-") || !flags.path.empty()) {
      std::fprintf(stderr, "tern-segdump: unexpected argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    } else {
      flags.path = arg;
    }
  }
  if (flags.path.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::error_code error;
  const fs::path path = flags.path;
  if (!fs::exists(path, error)) {
    std::fprintf(stderr, "tern-segdump: %s: no such file or directory\n", flags.path.c_str());
    return 2;
  }
  int problems = 0;
  try {
    if (fs::is_regular_file(path)) {
      problems = DumpSegment(path, false, flags);
    } else {
      std::vector<fs::path> streams;
      FindStreams(path, 6, &streams);
      if (streams.empty()) std::printf("no streams under %s\n", flags.path.c_str());
      for (const fs::path& stream : streams) problems += DumpStream(stream, flags);
    }
  } catch (const fs::filesystem_error& e) {
    std::fprintf(stderr, "tern-segdump: %s\n", e.what());
    return 2;
  }
  std::printf("%s: %d problem%s\n", problems == 0 ? "clean" : "DAMAGED", problems,
              problems == 1 ? "" : "s");
  return problems == 0 ? 0 : 1;
}
