#include "core/ws_deflate.h"

#include <zlib.h>

#include <cstring>

namespace tern::core {

namespace {
constexpr char kSyncTail[] = {0, 0, static_cast<char>(0xff), static_cast<char>(0xff)};
}  // namespace

WsDeflater::WsDeflater() : stream_(new z_stream{}) {
  // Raw deflate (negative window bits: no zlib header), the window the RFC's default names.
  deflateInit2(stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}

WsDeflater::~WsDeflater() {
  deflateEnd(stream_);
  delete stream_;
}

void WsDeflater::Deflate(std::string_view message, std::string* out) {
  const std::size_t start = out->size();
  out->resize(start + deflateBound(stream_, message.size()) + 16);
  stream_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  stream_->avail_in = static_cast<uInt>(message.size());
  std::size_t written = start;
  for (;;) {
    stream_->next_out = reinterpret_cast<Bytef*>(out->data() + written);
    stream_->avail_out = static_cast<uInt>(out->size() - written);
    deflate(stream_, Z_SYNC_FLUSH);
    written = out->size() - stream_->avail_out;
    if (stream_->avail_out != 0) break;  // all input taken and flushed
    out->resize(out->size() * 2);
  }
  out->resize(written);
  // A sync flush ends with an empty stored block, 00 00 ff ff: the RFC leaves it off.
  if (out->size() - start >= 4 && std::memcmp(out->data() + out->size() - 4, kSyncTail, 4) == 0) {
    out->resize(out->size() - 4);
  }
  deflateReset(stream_);  // no context takeover: the next message starts afresh
}

bool WsInflate(std::string_view compressed, std::size_t limit, std::string* out) {
  z_stream stream{};
  if (inflateInit2(&stream, -15) != Z_OK) return false;
  std::string input(compressed);
  input.append(kSyncTail, sizeof(kSyncTail));
  stream.next_in = reinterpret_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  const std::size_t start = out->size();
  bool ok = true;
  char chunk[16384];
  while (ok) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    const int status = inflate(&stream, Z_SYNC_FLUSH);
    const std::size_t produced = sizeof(chunk) - stream.avail_out;
    if (out->size() - start + produced > limit) {
      ok = false;
      break;
    }
    out->append(chunk, produced);
    if (status == Z_STREAM_END) break;
    if (status == Z_BUF_ERROR && stream.avail_in == 0) break;  // all input used
    if (status != Z_OK && status != Z_BUF_ERROR) ok = false;
    if (status == Z_OK && stream.avail_in == 0 && produced < sizeof(chunk)) break;
  }
  inflateEnd(&stream);
  if (!ok) out->resize(start);
  return ok;
}

}  // namespace tern::core
