#pragma once
// The protobuf (proto3) wire format, as much as the NATS Streaming protocol uses: varints
// (int32, int64, uint32, uint64, bool, enums), length-delimited fields (string, bytes) and
// fixed-width fields (read and skipped; none of STAN's own messages use them). A writer that
// appends fields to a string, and a reader that walks a message's fields and tells a
// malformed one from the end. Written by hand rather than generated: a dozen small
// messages do not justify protoc and libprotobuf at build and run time (docs/STAN.md).
// Value types, no ownership beyond the string a writer appends to; any thread.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core::stan {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Appends fields in the order called. proto3 leaves default values out: so does each
// method here (a zero, false or empty value writes nothing).
class ProtoWriter {
 public:
  explicit ProtoWriter(std::string* out) : out_(out) {}
  void Uint(int field, uint64_t value);
  // int32 and int64: a negative value is written as its 64-bit two's complement (10
  // bytes), as protobuf does for both.
  void Int(int field, int64_t value) { Uint(field, static_cast<uint64_t>(value)); }
  void Bool(int field, bool value) { Uint(field, value ? 1 : 0); }
  void Bytes(int field, std::string_view value);

 private:
  void Varint(uint64_t value);
  void Tag(int field, WireType type);
  std::string* out_;
};

// One field as read: its number and wire type, and its value (a varint's number, or the
// bytes of a length-delimited field; fixed fields are skipped by Next).
struct ProtoField {
  int number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;
  std::string_view bytes;
  int32_t AsInt32() const { return static_cast<int32_t>(varint); }
  int64_t AsInt64() const { return static_cast<int64_t>(varint); }
  uint32_t AsUint32() const { return static_cast<uint32_t>(varint); }
};

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}
  // The next field with a varint or length-delimited value; false at the end or at a
  // malformed field (then ok() is false). Fixed-width fields are skipped.
  bool Next(ProtoField* field);
  bool ok() const { return ok_; }

 private:
  bool ReadVarint(uint64_t* value);
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tern::core::stan
