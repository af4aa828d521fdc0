#pragma once
// Socket helpers shared by both reactor backends and the server. Stateless.
#include <cstdint>
#include <string>

namespace tern::io {

// Creates a non-blocking TCP listener on host:port (port 0 = any free port). Returns the
// fd, or -1 with *error set. *bound_port receives the port actually bound.
int CreateListener(const std::string& host, int port, int* bound_port, std::string* error);

// Connects to host:port (blocking, at most timeout_ms per address tried): the connected
// fd, or -1 with *error set. For threads that may block (a dialler), never a shard.
int ConnectTcp(const std::string& host, int port, int timeout_ms, std::string* error);

// Makes an accepted socket non-blocking with TCP_NODELAY.
void ConfigureAccepted(int fd);

// The remote address of a connected socket, as "ip" and port.
void PeerAddress(int fd, std::string* ip, int* port);

}  // namespace tern::io
