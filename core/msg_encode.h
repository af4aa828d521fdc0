#pragma once
// The MSG / HMSG frame a subscriber receives, written into its outbound queue: control line
// (built in a reused buffer: no allocation once warm), then header block + payload, then
// CRLF. Pure function of its arguments; called by the subscriber's shard.
#include <charconv>
#include <string>
#include <string_view>

#include "core/outbound.h"

namespace tern::core {

// `data` is header block + payload; `header_len` 0 means a plain MSG. Returns the
// payload bytes written (what the out_bytes counter counts).
inline std::size_t AppendMsgFrame(OutboundQueue* out, std::string* line, std::string_view subject,
                                  std::string_view sid, std::string_view reply,
                                  std::size_t header_len, std::string_view data) {
  char digits[24];
  line->clear();
  line->append(header_len > 0 ? "HMSG " : "MSG ");
  line->append(subject);
  line->push_back(' ');
  line->append(sid);
  line->push_back(' ');
  if (!reply.empty()) {
    line->append(reply);
    line->push_back(' ');
  }
  if (header_len > 0) {
    line->append(digits, std::to_chars(digits, digits + sizeof digits, header_len).ptr);
    line->push_back(' ');
  }
  line->append(digits, std::to_chars(digits, digits + sizeof digits, data.size()).ptr);
  line->append("\r\n");
  out->Append(*line);
  out->Append(data);
  out->Append("\r\n", 2);
  return data.size();
}

}  // namespace tern::core
