#pragma once
// CRC32C (Castagnoli), the checksum of every record and index file. Uses the SSE4.2 crc32
// instruction when the CPU has it, a table otherwise. Stateless and thread-safe.
#include <cstddef>
#include <cstdint>

namespace tern::storage {

// Extends `crc` (the value returned for the preceding bytes, 0 to start) over data[0, n).
uint32_t Crc32cExtend(uint32_t crc, const void* data, std::size_t n);

inline uint32_t Crc32c(const void* data, std::size_t n) { return Crc32cExtend(0, data, n); }

}  // namespace tern::storage
