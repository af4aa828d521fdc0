#include "io/reactor.h"

#include "io/epoll_reactor.h"
#include "io/uring_reactor.h"

namespace tern::io {

std::unique_ptr<Reactor> MakeReactor(Backend preferred, ReactorHandler* handler,
                                     std::string* note) {
  if (preferred == Backend::kUring) {
    std::string why;
    if (auto reactor = MakeUringReactor(handler, &why)) return reactor;
    *note = "io_uring unavailable (" + why + "), using epoll";
  }
  std::string why;
  auto reactor = MakeEpollReactor(handler, &why);
  if (!reactor) *note = "epoll unavailable: " + why;
  return reactor;
}

}  // namespace tern::io
