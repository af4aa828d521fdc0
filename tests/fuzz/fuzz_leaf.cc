// libFuzzer target: the route parser's leafnode mode (LS+, LS-, LMSG, HMSG without an
// account), with fuzz_route's checks and its pausing differential.
#define TERN_FUZZ_LEAF_MODE true
#include "fuzz_route.cc"  // NOLINT(bugprone-suspicious-include): one target, two modes
