#pragma once
// NATS subject patterns: tokens separated by '.', where a '*' token matches one token and a
// '>' token (last only) matches one or more. Stateless. The core broker uses the same
// functions, so a stream filter and a subscription agree on what matches.
#include <string_view>

namespace tern::storage {

// True if the (literal) subject matches the pattern.
bool PatternMatches(std::string_view pattern, std::string_view subject);
// True if the pattern has no '*' or '>' token.
bool IsLiteralPattern(std::string_view pattern);
// An empty filter or ">" selects every subject.
inline bool IsMatchAll(std::string_view filter) { return filter.empty() || filter == ">"; }

}  // namespace tern::storage
