#include "core/subject_transform.h"

#include "core/subject.h"

#include <algorithm>

namespace tern::core {
namespace {

constexpr std::size_t kMaxTokens = 128;

// "$3" or "{{wildcard(3)}}" -> 3; 0 when the token is neither.
int WildcardReference(std::string_view token) {
  std::string_view digits;
  if (token.size() > 1 && token[0] == '$') {
    digits = token.substr(1);
  } else if (token.starts_with("{{") && token.ends_with("}}")) {
    std::string_view inner = token.substr(2, token.size() - 4);
    while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    if (!inner.starts_with("wildcard(") || !inner.ends_with(")")) return 0;
    digits = inner.substr(9, inner.size() - 10);
  } else {
    return 0;
  }
  if (digits.empty() || digits.size() > 3) return 0;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

bool SubjectTransform::Make(std::string_view from, std::string_view to, SubjectTransform* out,
                            std::string* error) {
  *out = SubjectTransform();
  if (!IsValidSubject(from)) {
    *error = "invalid subject \"" + std::string(from) + "\"";
    return false;
  }
  std::string_view tokens[kMaxTokens];
  const std::size_t from_count = Tokenize(from, tokens, kMaxTokens);
  if (from_count > kMaxTokens) {
    *error = "subject \"" + std::string(from) + "\" has too many tokens";
    return false;
  }
  for (std::size_t i = 0; i < from_count; ++i) {
    if (tokens[i] == "*") out->star_positions_.push_back(static_cast<int>(i));
    if (tokens[i] == ">") out->rest_position_ = static_cast<int>(i);
  }
  if (to.empty() || to == from) return true;
  out->identity_ = false;
  const std::size_t to_count = Tokenize(to, tokens, kMaxTokens);
  if (to_count == 0 || to_count > kMaxTokens) {
    *error = "invalid mapping destination \"" + std::string(to) + "\"";
    return false;
  }
  int next_star = 0;
  for (std::size_t i = 0; i < to_count; ++i) {
    const std::string_view token = tokens[i];
    Part part{Part::kLiteral, {}, 0};
    if (token == "*") {
      part.kind = Part::kWildcard;
      part.wildcard = next_star++;
    } else if (int n = WildcardReference(token); n > 0) {
      part.kind = Part::kWildcard;
      part.wildcard = n - 1;
    } else if (token == ">") {
      if (i + 1 != to_count || out->rest_position_ < 0) {
        *error = "mapping destination \"" + std::string(to) + "\" uses '>' where the source \"" +
                 std::string(from) + "\" has none";
        return false;
      }
      part.kind = Part::kRest;
    } else if (token.empty() || token.find_first_of(" \t\r\n") != std::string_view::npos) {
      *error = "invalid mapping destination \"" + std::string(to) + "\"";
      return false;
    } else {
      part.literal = std::string(token);
    }
    if (part.kind == Part::kWildcard &&
        part.wildcard >= static_cast<int>(out->star_positions_.size())) {
      *error = "mapping destination \"" + std::string(to) + "\" refers to wildcard " +
               std::to_string(part.wildcard + 1) + " but \"" + std::string(from) + "\" has " +
               std::to_string(out->star_positions_.size());
      return false;
    }
    out->parts_.push_back(std::move(part));
  }
  for (const Part& part : out->parts_) {
    if (part.kind == Part::kWildcard) {
      out->needed_tokens_ = std::max(
          out->needed_tokens_, static_cast<std::size_t>(out->star_positions_[part.wildcard]) + 1);
    } else if (part.kind == Part::kRest) {
      out->needed_tokens_ =
          std::max(out->needed_tokens_, static_cast<std::size_t>(out->rest_position_) + 1);
    }
  }
  if (out->rest_position_ >= 0 && out->parts_.back().kind != Part::kRest) {
    *error = "mapping destination \"" + std::string(to) + "\" must end in '>' like \"" +
             std::string(from) + "\"";
    return false;
  }
  return true;
}

void SubjectTransform::Apply(std::string_view subject, std::string* out) const {
  out->clear();
  if (identity_) {
    out->append(subject);
    return;
  }
  // Token start offsets, only as far as the parts need (no per-call initialization: this
  // runs for every message an import carries).
  uint32_t starts[kMaxTokens + 1];
  std::size_t count = 0;
  const std::size_t wanted = needed_tokens_;
  std::size_t position = 0;
  while (count < wanted && position <= subject.size()) {
    starts[count++] = static_cast<uint32_t>(position);
    const auto dot = subject.find('.', position);
    if (dot == std::string_view::npos) {
      position = subject.size() + 1;
      break;
    }
    position = dot + 1;
  }
  starts[count] = static_cast<uint32_t>(position);  // one past the dot ending the last token
  const auto token = [&](std::size_t i) {           // i < count
    return subject.substr(starts[i], starts[i + 1] - 1 - starts[i]);
  };
  for (const Part& part : parts_) {
    if (!out->empty()) out->push_back('.');
    switch (part.kind) {
      case Part::kLiteral:
        out->append(part.literal);
        break;
      case Part::kWildcard: {
        const auto at = static_cast<std::size_t>(star_positions_[part.wildcard]);
        if (at < count) out->append(token(at));
        break;
      }
      case Part::kRest: {
        const auto at = static_cast<std::size_t>(rest_position_);
        if (at < count) out->append(subject.substr(starts[at]));
        break;
      }
    }
  }
}

}  // namespace tern::core
