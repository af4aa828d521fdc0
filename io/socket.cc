#include "io/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern::io {

int ConnectTcp(const std::string& host, int port, int timeout_ms, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  *error = "no address for " + host;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      *error = std::string("socket: ") + strerror(errno);
      continue;
    }
    int err = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = poll(&p, 1, timeout_ms);
        socklen_t len = sizeof err;
        err = ready == 1 ? 0 : ETIMEDOUT;
        if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err != 0) {
      *error = "connect to " + host + ":" + std::to_string(port) + ": " + strerror(err);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

constexpr int kAddressInUseRetries = 100;
constexpr useconds_t kAddressInUseWaitUs = 10'000;

int CreateListener(const std::string& host, int port, int* bound_port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  const char* node = (host.empty() || host == "0.0.0.0") ? nullptr : host.c_str();
  if (node == nullptr) hints.ai_family = AF_INET;  // nats-server's default listen is IPv4 any
  int rc = getaddrinfo(node, service.c_str(), &hints, &result);
  if (rc != 0) {
    *error = "cannot resolve listen address '" + host + "': " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  std::string last_error = "no usable address";
  // A process killed a moment ago may still hold the port: the kernel closes a listener
  // that io_uring requests referenced only once it has torn the ring down, a few ms after
  // the process is gone (a restart right after kill -9 failed 12 times in 20). Retry for a
  // second before giving up.
  for (int attempt = 0; fd < 0 && attempt < kAddressInUseRetries; ++attempt) {
    if (attempt > 0) usleep(kAddressInUseWaitUs);
    bool in_use = false;
    for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
      fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        last_error = strerror(errno);
        continue;
      }
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) break;
      in_use |= errno == EADDRINUSE;
      last_error = strerror(errno);
      close(fd);
      fd = -1;
    }
    if (!in_use) break;
  }
  freeaddrinfo(result);
  if (fd < 0) {
    *error = "cannot listen on " + host + ":" + service + ": " + last_error;
    return -1;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = addr.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return fd;
}

void ConfigureAccepted(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void PeerAddress(int fd, std::string* ip, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  *port = 0;
  ip->clear();
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
  char text[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    *port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    *port = ntohs(in6->sin6_port);
  }
  *ip = text;
}

}  // namespace tern::io
