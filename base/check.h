#pragma once
// TERN_DCHECK(condition): an invariant the code relies on. Checked in the sanitizer builds
// (and any build configured with TERN_DCHECKS), where a failure prints the condition and
// where it is, then aborts; compiled away in Release, where the condition is not even
// evaluated (it may be costly, it must have no side effects). Every layer may include it.
#include <cstdio>
#include <cstdlib>

namespace tern::base {

[[noreturn]] inline void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

#if defined(TERN_DCHECKS)
inline constexpr bool kDChecks = true;
#else
inline constexpr bool kDChecks = false;
#endif

}  // namespace tern::base

#if defined(TERN_DCHECKS)
#define TERN_DCHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::tern::base::CheckFailed(#condition, __FILE__, __LINE__))
#else
#define TERN_DCHECK(condition) static_cast<void>(sizeof(!(condition)))
#endif
