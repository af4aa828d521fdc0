#include "storage/subject_pattern.h"

namespace tern::storage {

bool IsLiteralPattern(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if ((c == '*' || c == '>') && (i == 0 || pattern[i - 1] == '.') &&
        (i + 1 == pattern.size() || pattern[i + 1] == '.')) {
      return false;
    }
  }
  return true;
}

bool PatternMatches(std::string_view pattern, std::string_view subject) {
  std::size_t p = 0;
  std::size_t s = 0;
  while (true) {
    const std::size_t p_end = pattern.find('.', p);
    const std::string_view p_token =
        pattern.substr(p, p_end == std::string_view::npos ? std::string_view::npos : p_end - p);
    if (s > subject.size()) return false;
    if (p_token == ">") return s < subject.size();
    const std::size_t s_end = subject.find('.', s);
    const std::string_view s_token =
        subject.substr(s, s_end == std::string_view::npos ? std::string_view::npos : s_end - s);
    if (s >= subject.size()) return false;
    if (p_token != "*" && p_token != s_token) return false;
    const bool p_last = p_end == std::string_view::npos;
    const bool s_last = s_end == std::string_view::npos;
    if (p_last || s_last) return p_last && s_last;
    p = p_end + 1;
    s = s_end + 1;
  }
}

}  // namespace tern::storage
