#pragma once
#include <memory>
#include <string>

#include "io/reactor.h"

namespace tern::io {
// Returns nullptr and fills *error if the kernel refuses io_uring or lacks what it needs.
std::unique_ptr<Reactor> MakeUringReactor(ReactorHandler* handler, std::string* error);
}  // namespace tern::io
