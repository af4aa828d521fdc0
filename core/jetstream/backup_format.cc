#include "core/jetstream/backup_format.h"

#include <cstring>

#include "storage/crc32c.h"

namespace tern::core::js::backup {
namespace {

using namespace std::string_view_literals;  // the identifiers hold NUL bytes

constexpr std::string_view kStreamId = "\xff\x06\x00\x00S2sTwO"sv;
constexpr std::string_view kSnappyStreamId = "\xff\x06\x00\x00sNaPpY"sv;
constexpr std::size_t kMaxChunkData = 65536;  // snappy framing's limit, which s2 readers take
constexpr std::size_t kBlock = 512;
constexpr uint64_t kMaxFileBytes = 64u << 20;

uint32_t MaskedCrc(std::string_view data) {
  const uint32_t c = storage::Crc32c(data.data(), data.size());
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

void PutLe(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return value;
}

void PutOctal(char* field, std::size_t width, uint64_t value) {
  // width - 1 digits and a NUL, as ustar writes them.
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

bool GetOctal(const char* field, std::size_t width, uint64_t* value) {
  *value = 0;
  std::size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    *value = (*value << 3) | static_cast<uint64_t>(field[i] - '0');
    any = true;
  }
  return any;
}

}  // namespace

void FrameWriter::Append(std::string_view data, std::string* out) {
  if (!started_) {
    out->append(kStreamId);
    started_ = true;
  }
  while (!data.empty()) {
    const std::string_view piece = data.substr(0, kMaxChunkData);
    data.remove_prefix(piece.size());
    out->push_back('\x01');  // uncompressed data
    PutLe(piece.size() + 4, 3, out);
    PutLe(MaskedCrc(piece), 4, out);
    out->append(piece);
  }
}

bool FrameReader::Feed(std::string_view bytes, std::string* out) {
  if (!error_.empty()) return false;
  buffer_.append(bytes);
  std::size_t at = 0;
  while (buffer_.size() - at >= 4) {
    const unsigned char type = static_cast<unsigned char>(buffer_[at]);
    const std::size_t length = GetLe(buffer_.data() + at + 1, 3);
    if (buffer_.size() - at - 4 < length) break;
    const std::string_view body(buffer_.data() + at + 4, length);
    if (!started_ && type != 0xff) {
      error_ = "s2: corrupt input";
      return false;
    }
    if (type == 0xff) {
      const std::string_view chunk(buffer_.data() + at, 4 + length);
      if (chunk != kStreamId && chunk != kSnappyStreamId) {
        error_ = "s2: corrupt input";
        return false;
      }
      started_ = true;
    } else if (type == 0x01) {
      if (length < 4) {
        error_ = "s2: corrupt input";
        return false;
      }
      const std::string_view data = body.substr(4);
      if (MaskedCrc(data) != static_cast<uint32_t>(GetLe(body.data(), 4))) {
        error_ = "s2: corrupt input, crc mismatch";
        return false;
      }
      out->append(data);
    } else if (type == 0x00) {
      error_ = "compressed s2 chunks are not supported (not a Tern backup)";
      return false;
    } else if (type < 0x80) {
      error_ = "s2: unsupported input";  // reserved unskippable chunk
      return false;
    }  // 0x80-0xfe: skippable (padding and the like)
    at += 4 + length;
  }
  buffer_.erase(0, at);
  return true;
}

void AppendTarFile(std::string_view name, std::string_view data, int64_t mtime_s,
                   std::string* out) {
  char header[kBlock] = {};
  std::memcpy(header, name.data(), std::min<std::size_t>(name.size(), 100));
  PutOctal(header + 100, 8, 0600);
  PutOctal(header + 108, 8, 0);
  PutOctal(header + 116, 8, 0);
  PutOctal(header + 124, 12, data.size());
  PutOctal(header + 136, 12, static_cast<uint64_t>(mtime_s < 0 ? 0 : mtime_s));
  header[156] = '0';
  std::memcpy(header + 257,
              "ustar\0"
              "00",
              8);
  std::memcpy(header + 265, "tern", 4);
  std::memcpy(header + 297, "tern", 4);
  std::memset(header + 148, ' ', 8);
  uint64_t sum = 0;
  for (unsigned char c : header) sum += c;
  PutOctal(header + 148, 7, sum);
  header[155] = ' ';
  out->append(header, kBlock);
  out->append(data);
  out->append((kBlock - data.size() % kBlock) % kBlock, '\0');
}

void AppendTarEnd(std::string* out) { out->append(2 * kBlock, '\0'); }

bool TarReader::Next(std::string* name, std::string* data) {
  if (done_ || !error_.empty()) return false;
  if (at_ > (1u << 20)) {  // keep the buffer small
    buffer_.erase(0, at_);
    at_ = 0;
  }
  if (buffer_.size() - at_ < kBlock) return false;
  const char* header = buffer_.data() + at_;
  bool zero = true;
  for (std::size_t i = 0; i < kBlock && zero; ++i) zero = header[i] == '\0';
  if (zero) {
    done_ = true;
    return false;
  }
  uint64_t size = 0, sum = 0;
  if (!GetOctal(header + 124, 12, &size) || !GetOctal(header + 148, 8, &sum)) {
    error_ = "tar: corrupt header";
    return false;
  }
  uint64_t actual = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    actual += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  }
  if (actual != sum) {
    error_ = "tar: corrupt header checksum";
    return false;
  }
  if (size > kMaxFileBytes) {  // Tern writes ~1 MiB files; more is not a Tern backup
    error_ = "tar: a file of " + std::to_string(size) + " bytes";
    return false;
  }
  const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
  if (buffer_.size() - at_ - kBlock < padded) return false;
  name->assign(header, strnlen(header, 100));
  data->assign(buffer_.data() + at_ + kBlock, size);
  at_ += kBlock + padded;
  return true;
}

void AppendRecord(const Record& r, std::string* out) {
  PutLe(r.seq, 8, out);
  PutLe(static_cast<uint64_t>(r.time_ns), 8, out);
  PutLe(r.subject.size(), 4, out);
  PutLe(r.header.size(), 4, out);
  PutLe(r.payload.size(), 4, out);
  out->append(r.subject).append(r.header).append(r.payload);
}

bool ReadRecord(std::string_view data, std::size_t* at, Record* out) {
  constexpr std::size_t kFixed = 8 + 8 + 4 + 4 + 4;
  if (data.size() - *at < kFixed) return false;
  const char* p = data.data() + *at;
  const uint64_t subject = GetLe(p + 16, 4), header = GetLe(p + 20, 4), payload = GetLe(p + 24, 4);
  if (data.size() - *at - kFixed < subject + header + payload) return false;
  out->seq = GetLe(p, 8);
  out->time_ns = static_cast<int64_t>(GetLe(p + 8, 8));
  out->subject = data.substr(*at + kFixed, subject);
  out->header = data.substr(*at + kFixed + subject, header);
  out->payload = data.substr(*at + kFixed + subject + header, payload);
  *at += kFixed + subject + header + payload;
  return true;
}

}  // namespace tern::core::js::backup
