#include "core/subject.h"

#include "storage/subject_pattern.h"

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

bool IsLiteral(std::string_view subject) { return storage::IsLiteralPattern(subject); }

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
  return storage::PatternMatches(pattern, subject);
}

namespace {

// Walks both patterns token by token; `subset` asks for inner-within-outer.
bool CompareTokens(std::string_view a, std::string_view b, bool subset) {
  while (true) {
    const std::size_t a_dot = a.find('.');
    const std::size_t b_dot = b.find('.');
    const std::string_view at = a.substr(0, a_dot);
    const std::string_view bt = b.substr(0, b_dot);
    if (bt == ">") return true;     // b takes the rest (a has at least one token)
    if (at == ">") return !subset;  // a's rest is wider than b's next token
    if (at != bt && bt != "*" && (subset || at != "*")) return false;
    const bool a_end = a_dot == std::string_view::npos;
    const bool b_end = b_dot == std::string_view::npos;
    if (a_end || b_end) return a_end && b_end;
    a.remove_prefix(a_dot + 1);
    b.remove_prefix(b_dot + 1);
  }
}

}  // namespace

bool SubjectsOverlap(std::string_view a, std::string_view b) { return CompareTokens(a, b, false); }

bool SubjectIsSubsetOf(std::string_view inner, std::string_view outer) {
  return CompareTokens(inner, outer, true);
}

}  // namespace tern::core
