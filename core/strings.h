#pragma once
// Debian's abseil has its own string_view type (not an alias of std::string_view), so
// heterogeneous lookups in absl containers take this conversion. Stateless.
#include <absl/strings/string_view.h>

#include <string_view>

namespace tern::core {
inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace tern::core
