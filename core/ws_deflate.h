#pragma once
// permessage-deflate (RFC 7692) as nats-server 2.9 agrees to it: no context takeover either
// way, so every message is deflated and inflated on its own, and the trailing
// 00 00 ff ff of a sync flush is left off the wire. zlib does the work. A WsDeflater
// belongs to one connection, on its shard.
#include <cstdint>
#include <string>
#include <string_view>

struct z_stream_s;

namespace tern::core {

// Compresses one outbound message (one flush) at a time.
class WsDeflater {
 public:
  WsDeflater();
  ~WsDeflater();
  WsDeflater(const WsDeflater&) = delete;
  WsDeflater& operator=(const WsDeflater&) = delete;

  // Appends the compressed form of `message` to *out (without the 00 00 ff ff tail).
  void Deflate(std::string_view message, std::string* out);

 private:
  z_stream_s* stream_;
};

// Inflates one client message that arrived with RSV1 set, appending at most `limit` bytes
// to *out. False when the data is not valid deflate or would inflate past `limit`.
bool WsInflate(std::string_view compressed, std::size_t limit, std::string* out);

}  // namespace tern::core
