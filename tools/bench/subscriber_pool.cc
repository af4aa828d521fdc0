#include "tools/bench/subscriber_pool.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "tools/bench/clock.h"

namespace tern::bench {

void ServeConnections(const std::vector<BenchConnection*>& connections,
                      const std::vector<std::size_t>& mine, int64_t deadline_ns,
                      const std::function<bool(std::size_t)>& step) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  std::vector<bool> finished(connections.size(), false);
  std::size_t left = 0;
  for (const std::size_t i : mine) {
    if (step(i)) {
      finished[i] = true;
      continue;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, connections[i]->fd(), &event);
    ++left;
  }
  auto finish = [&](std::size_t i) {
    finished[i] = true;
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, connections[i]->fd(), nullptr);
    --left;
  };
  epoll_event events[256];
  int64_t next_sweep = NowNs() + 200'000'000;
  while (left > 0 && NowNs() < deadline_ns) {
    const int ready = epoll_wait(epoll_fd, events, 256, 200);
    for (int k = 0; k < ready; ++k) {
      const std::size_t i = events[k].data.u64;
      if (!finished[i] && step(i)) finish(i);
    }
    if (NowNs() >= next_sweep) {
      for (const std::size_t i : mine) {
        if (!finished[i] && step(i)) finish(i);
      }
      next_sweep = NowNs() + 200'000'000;
    }
  }
  // Past the deadline: each connection still gets its last step, which records its end.
  for (const std::size_t i : mine) {
    if (!finished[i]) step(i);
  }
  close(epoll_fd);
}

}  // namespace tern::bench
