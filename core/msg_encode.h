#pragma once
// The MSG / HMSG frame a subscriber receives, written into its outbound queue: control line
// (built in a reused buffer: no allocation once warm), then header block + payload, then
// CRLF; a frame that fits a chunk is written in place in one go. Pure function of its
// arguments; called by the subscriber's shard.
#include <charconv>
#include <cstring>
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
  char header_digits[24];
  char* const size_end = std::to_chars(digits, digits + sizeof digits, data.size()).ptr;
  const std::size_t size_len = static_cast<std::size_t>(size_end - digits);
  std::size_t header_digits_len = 0;
  if (header_len > 0) {
    header_digits_len = static_cast<std::size_t>(
        std::to_chars(header_digits, header_digits + sizeof header_digits, header_len).ptr -
        header_digits);
  }
  const std::size_t line_len = (header_len > 0 ? 5 : 4) + subject.size() + 1 + sid.size() + 1 +
                               (reply.empty() ? 0 : reply.size() + 1) +
                               (header_len > 0 ? header_digits_len + 1 : 0) + size_len + 2;
  const std::size_t frame_len = line_len + data.size() + 2;
  if (frame_len <= ChunkPool::kChunkSize) {
    // The common case: the whole frame written in place, one piece after another.
    char* p = out->Reserve(frame_len);
    const auto put = [&p](std::string_view s) {
      if (s.empty()) return;  // an empty payload's data() may be null: no memcpy from it
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    put(header_len > 0 ? std::string_view("HMSG ") : std::string_view("MSG "));
    put(subject);
    *p++ = ' ';
    put(sid);
    *p++ = ' ';
    if (!reply.empty()) {
      put(reply);
      *p++ = ' ';
    }
    if (header_len > 0) {
      put(std::string_view(header_digits, header_digits_len));
      *p++ = ' ';
    }
    put(std::string_view(digits, size_len));
    put("\r\n");
    put(data);
    put("\r\n");
    out->Commit(frame_len);
    return data.size();
  }
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
