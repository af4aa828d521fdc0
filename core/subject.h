#pragma once
// Subject rules of the NATS protocol: tokens separated by '.', no empty tokens, no
// whitespace; '*' and '>' are wildcards only as whole tokens, '>' only last. Stateless.
#include <cstddef>
#include <string_view>

namespace tern::core {

// A subscription subject: wildcards allowed.
bool IsValidSubject(std::string_view subject);
// A publish subject: valid and without wildcard tokens.
bool IsValidLiteralSubject(std::string_view subject);
// True if the subject has no '*' or '>' token (cheap; assumes it is valid).
bool IsLiteral(std::string_view subject);
// Does the literal subject match the pattern?
bool SubjectMatches(std::string_view pattern, std::string_view subject);

// Could some literal subject match both patterns?
bool SubjectsOverlap(std::string_view a, std::string_view b);
// Does every subject `inner` matches also match `outer`?
bool SubjectIsSubsetOf(std::string_view inner, std::string_view outer);

// Splits a subject into at most max tokens; returns the count, or max+1 if there were
// more tokens than fit.
std::size_t Tokenize(std::string_view subject, std::string_view* tokens, std::size_t max);

}  // namespace tern::core
