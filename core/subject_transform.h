#pragma once
// SubjectTransform: rewrites a subject that matches one pattern into another subject, as
// account imports map subjects (nats-server's rules): in the destination, a `*` takes the
// next `*` wildcard's token of the source in order, `$N` or `{{wildcard(N)}}` takes the
// Nth, and a final `>` takes what the source's `>` matched. Immutable once made; used by
// every shard's import routing.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::core {

class SubjectTransform {
 public:
  // False with *error when `to` refers to wildcards `from` does not have.
  static bool Make(std::string_view from, std::string_view to, SubjectTransform* out,
                   std::string* error);
  // Writes the destination for `subject`, which must match `from`, into *out.
  void Apply(std::string_view subject, std::string* out) const;
  bool identity() const { return identity_; }

 private:
  struct Part {
    enum Kind { kLiteral, kWildcard, kRest } kind;
    std::string literal;
    int wildcard = 0;  // kWildcard: 0-based index among the source's `*` tokens
  };
  std::vector<int> star_positions_;  // token positions of the source's `*`
  int rest_position_ = -1;           // token position of the source's `>`, or -1
  std::vector<Part> parts_;
  std::size_t needed_tokens_ = 0;  // how many leading tokens of a subject Apply reads
  bool identity_ = true;
};

}  // namespace tern::core
