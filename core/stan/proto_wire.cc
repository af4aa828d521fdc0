#include "core/stan/proto_wire.h"

namespace tern::core::stan {

void ProtoWriter::Varint(uint64_t value) {
  char bytes[10];  // written here first: one append, not a push_back a byte
  std::size_t size = 0;
  while (value >= 0x80) {
    bytes[size++] = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  bytes[size++] = static_cast<char>(value);
  out_->append(bytes, size);
}

void ProtoWriter::Tag(int field, WireType type) {
  Varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(type));
}

void ProtoWriter::Uint(int field, uint64_t value) {
  if (value == 0) return;
  Tag(field, WireType::kVarint);
  Varint(value);
}

void ProtoWriter::Bytes(int field, std::string_view value) {
  if (value.empty()) return;
  Tag(field, WireType::kLengthDelimited);
  Varint(value.size());
  out_->append(value);
}

bool ProtoReader::ReadVarint(uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return false;
    const auto byte = static_cast<uint8_t>(data_[pos_++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;  // more than ten bytes
}

bool ProtoReader::Next(ProtoField* field) {
  while (ok_ && pos_ < data_.size()) {
    uint64_t key = 0;
    if (!ReadVarint(&key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
      ok_ = false;
      break;
    }
    field->number = static_cast<int>(key >> 3);
    field->bytes = {};
    field->varint = 0;
    switch (key & 7) {
      case 0:
        field->type = WireType::kVarint;
        if (!ReadVarint(&field->varint)) break;
        return true;
      case 1:
      case 5: {
        const std::size_t width = (key & 7) == 1 ? 8 : 4;
        if (data_.size() - pos_ < width) break;
        pos_ += width;
        continue;
      }
      case 2: {
        uint64_t length = 0;
        if (!ReadVarint(&length) || length > data_.size() - pos_) break;
        field->type = WireType::kLengthDelimited;
        field->bytes = data_.substr(pos_, length);
        pos_ += length;
        return true;
      }
      default:
        break;  // groups (3, 4) and unknown types: proto3 messages have none
    }
    ok_ = false;
  }
  return false;
}

}  // namespace tern::core::stan
