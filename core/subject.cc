#include "core/subject.h"

namespace tern::core {
namespace {

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

bool CheckSubject(std::string_view subject, bool allow_wildcards) {
  if (subject.empty()) return false;
  std::size_t token_start = 0;
  for (std::size_t i = 0; i <= subject.size(); ++i) {
    if (i == subject.size() || subject[i] == '.') {
      const std::string_view token = subject.substr(token_start, i - token_start);
      if (token.empty()) return false;
      if (token.size() == 1 && (token[0] == '*' || token[0] == '>')) {
        if (!allow_wildcards) return false;
        if (token[0] == '>' && i != subject.size()) return false;  // '>' must be last
      }
      token_start = i + 1;
    } else if (IsWhitespace(subject[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsValidSubject(std::string_view subject) { return CheckSubject(subject, true); }

bool IsValidLiteralSubject(std::string_view subject) { return CheckSubject(subject, false); }

bool IsLiteral(std::string_view subject) {
  for (std::size_t i = 0; i < subject.size(); ++i) {
    const char c = subject[i];
    if ((c == '*' || c == '>') && (i == 0 || subject[i - 1] == '.') &&
        (i + 1 == subject.size() || subject[i + 1] == '.')) {
      return false;
    }
  }
  return true;
}

std::size_t Tokenize(std::string_view subject, std::string_view* tokens, std::size_t max) {
  std::size_t count = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= subject.size(); ++i) {
    if (i == subject.size() || subject[i] == '.') {
      if (count == max) return max + 1;
      tokens[count++] = subject.substr(start, i - start);
      start = i + 1;
    }
  }
  return count;
}

bool SubjectMatches(std::string_view pattern, std::string_view subject) {
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

}  // namespace tern::core
