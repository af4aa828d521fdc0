// libFuzzer target: the bytes of a stream restore (anyone allowed the JetStream API can send
// them) through the backup readers: s2 frames fed in pieces (the first byte sets the piece
// size), the ustar files they hold, the message records inside. Nothing may crash or read
// out of bounds. Checked beyond that: the input written as frames and as one archive file
// reads back unchanged, whatever the piece size.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/jetstream/backup_format.h"

namespace {

using namespace tern::core::js::backup;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 97;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  // As received: frames, then archive files, then records.
  FrameReader frames;
  TarReader archive;
  std::string decoded, name, file;
  for (std::size_t at = 0; at < input.size(); at += piece) {
    decoded.clear();
    if (!frames.Feed(input.substr(at, piece), &decoded)) break;
    archive.Feed(decoded);
    while (archive.Next(&name, &file)) {
      std::size_t offset = 0;
      Record record;
      while (ReadRecord(file, &offset, &record)) Check(offset <= file.size());
    }
  }

  // Written, then read back in pieces: the same bytes.
  std::string tar;
  AppendTarFile("msgs/000001.dat", input, 0, &tar);
  AppendTarEnd(&tar);
  FrameWriter writer;
  std::string framed;
  writer.Append(tar, &framed);
  FrameReader back;
  TarReader back_archive;
  for (std::size_t at = 0; at < framed.size(); at += piece) {
    decoded.clear();
    Check(back.Feed(std::string_view(framed).substr(at, piece), &decoded));
    back_archive.Feed(decoded);
  }
  Check(back.AtBoundary());
  Check(back_archive.Next(&name, &file));
  Check(name == "msgs/000001.dat" && file == input);
  Check(!back_archive.Next(&name, &file) && back_archive.done());
  return 0;
}
