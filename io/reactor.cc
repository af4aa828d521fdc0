#include "io/reactor.h"

#include "io/epoll_reactor.h"
#include "io/uring_reactor.h"

namespace tern::io {

void ReleaseConnections(std::vector<IoConn*>* released, ReactorHandler* handler) {
  while (!released->empty()) {
    std::vector<IoConn*> batch;
    batch.swap(*released);
    for (IoConn* conn : batch) {
      handler->OnReleased(conn);
      delete conn;
    }
  }
}

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
