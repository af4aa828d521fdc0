#pragma once
#include <memory>
#include <string>

#include "io/reactor.h"

namespace tern::io {
std::unique_ptr<Reactor> MakeEpollReactor(ReactorHandler* handler, std::string* error);
}  // namespace tern::io
