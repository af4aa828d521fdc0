#pragma once
// End-to-end harness: runs a real tern-server (or nats-server) process on a random port,
// found through its ports file, and gives tests libnats connections and raw sockets.
#include <nats/nats.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tern::e2e {

// Extra server flags for this run (TERN_TEST_ARGS, e.g. "--shards 4 --io epoll").
std::vector<std::string> TestArgs();

// The tern-server under test: $TERN_SERVER_UNDER_TEST when set (CI runs this Release-built
// suite against a sanitizer build's server, which then is what the sanitizer checks),
// otherwise the one built beside the tests.
const std::string& TernServerPath();

class ServerProcess {
 public:
  // Starts `binary` with -p -1 and a ports file dir, plus args (and TestArgs() for Tern).
  static std::unique_ptr<ServerProcess> Start(const std::vector<std::string>& args = {},
                                              const std::string& binary = TernServerPath());
  ~ServerProcess();

  int port() const { return port_; }
  // The monitoring port from the ports file (0 unless started with -m).
  int monitor_port() const { return monitor_port_; }
  // The cluster (route) port from the ports file (0 unless started with --cluster).
  int cluster_port() const { return cluster_port_; }
  // The websocket port from the ports file (0 unless a websocket {} block is configured).
  int websocket_port() const { return websocket_port_; }
  std::string route_url() const { return "nats://127.0.0.1:" + std::to_string(cluster_port_); }
  const std::string& ports_file() const { return ports_file_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const;
  // Sends a signal and waits for exit; returns the exit status (-1 on timeout/killed).
  int Stop(int sig, int timeout_ms = 10000);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int monitor_port_ = 0;
  int cluster_port_ = 0;
  int websocket_port_ = 0;
  std::string ports_file_;
  std::string dir_;
};

// One HTTP GET on 127.0.0.1:port; status 0 if the request failed.
struct HttpResult {
  int status = 0;
  std::string headers;
  std::string body;
};
HttpResult HttpGet(int port, const std::string& target);

// Runs a shell command (stderr joined to stdout): its exit status and output.
std::pair<int, std::string> RunCommand(const std::string& command);
// Starting tern-server, and nats-server when installed, with this config file fails (a
// non-zero exit) with `error` in what each printed.
void ExpectStartFails(const std::string& config_file, const std::string& error);
// Runs tern-server once with `args` (a shell word list); returns its exit code (-1 if it
// did not exit normally) and what it printed on stdout and stderr.
std::pair<int, std::string> RunServerOnce(const std::string& args);

// Removes the directory (recursively) when the test binary exits.
void RemoveAtExit(const std::string& dir);

// Writes a config file in a fresh temp dir and returns its path.
std::string WriteConfig(const std::string& text);

// A libnats connection that closes itself.
struct NatsConn {
  natsConnection* nc = nullptr;
  ~NatsConn();
};
// Connects with reconnects off, so a test sees the server's decision.
std::unique_ptr<NatsConn> Connect(const ServerProcess& server, bool no_echo = false,
                                  natsOptions* extra = nullptr);

// Connects with `opts` (consumed; credentials or TLS set by the caller), reconnects off;
// returns libnats' status, and the connection in *out if wanted.
natsStatus TryConnect(const ServerProcess& server, natsOptions* opts,
                      std::unique_ptr<NatsConn>* out = nullptr);

// A plain TCP connection speaking the raw protocol.
class RawConn {
 public:
  // receive_buffer > 0 shrinks SO_RCVBUF before connecting (a slow reader).
  explicit RawConn(int port, bool read_info = true, int receive_buffer = 0);
  // A connection a RawListener accepted (nothing read yet).
  struct Accepted {
    int fd;
  };
  explicit RawConn(Accepted accepted) : fd_(accepted.fd) {}
  ~RawConn();
  void Send(const std::string& bytes);
  // Reads until `needle` appears, the peer closes, or timeout; returns all read so far.
  std::string ReadUntil(const std::string& needle, int timeout_ms = 3000);
  // Reads whatever arrives within timeout (or until closed).
  std::string ReadFor(int timeout_ms);
  bool closed() const { return closed_; }
  const std::string& info() const { return info_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string info_;
  std::string buffer_;
};

// A socket listening on 127.0.0.1:port: the test plays a peer that a server dials.
class RawListener {
 public:
  explicit RawListener(int port);
  ~RawListener();
  // The next connection, or null after timeout.
  std::unique_ptr<RawConn> Accept(int timeout_ms);

 private:
  int fd_ = -1;
};

// Shorthands for libnats calls that must succeed.
std::string Payload(natsMsg* msg);
// The reference nats-server binary (Debian's package), or empty if not installed.
std::string NatsServerPath();

}  // namespace tern::e2e
