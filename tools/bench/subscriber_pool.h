#pragma once
// Reading hundreds of subscriber connections from a few threads (epoll), for the broadcast
// rows: with a thread per connection, a thousand subscribers make the load generator's
// context switches, not the server, what the row measures. Plain TCP connections only (a
// TLS connection may hold decrypted bytes that epoll does not report).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tools/bench/connection.h"

namespace tern::bench {

// Serves connections[i] for every i in `mine` on the calling thread until each is finished
// or deadline_ns (steady clock) passes. step(i) reads connection i once without waiting and
// returns true when it is finished; it is called when the socket is readable, and for every
// unfinished connection at least every 200 ms (a queue member's end depends on the others).
void ServeConnections(const std::vector<BenchConnection*>& connections,
                      const std::vector<std::size_t>& mine, int64_t deadline_ns,
                      const std::function<bool(std::size_t)>& step);

}  // namespace tern::bench
