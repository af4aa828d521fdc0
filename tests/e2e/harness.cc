#include "harness.h"

#include <gtest/gtest.h>
#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tern::e2e {
namespace {

std::string MakeTempDir() {
  std::string templ = "/tmp/tern-e2e-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return templ;
}

// Directories removed when the test binary exits (JetStream stores preallocate 16 MiB
// segments: left behind, a few hundred test runs fill a disk).
struct ExitCleanup {
  std::mutex mutex;
  std::vector<std::string> dirs;
  ~ExitCleanup() {
    for (const std::string& dir : dirs) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
};
ExitCleanup& Cleanup() {
  static ExitCleanup cleanup;
  return cleanup;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The port of the first `scheme` URL in a ports file:
// {"nats":["nats://host:port"],"monitoring":["http://host:port"]}; 0 if not there yet.
int PortFromPortsFile(const std::string& text, const std::string& scheme = "nats://") {
  const auto url = text.find(scheme);
  if (url == std::string::npos) return 0;
  const auto end = text.find('"', url);
  if (end == std::string::npos) return 0;
  const auto colon = text.rfind(':', end);
  if (colon == std::string::npos || colon < url + scheme.size()) return 0;
  int port = 0;
  for (std::size_t i = colon + 1; i < end; ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    port = port * 10 + (text[i] - '0');
  }
  return port;
}

}  // namespace

std::vector<std::string> TestArgs() {
  std::vector<std::string> args;
  const char* env = std::getenv("TERN_TEST_ARGS");
  if (env == nullptr) return args;
  std::istringstream in(env);
  std::string word;
  while (in >> word) args.push_back(word);
  return args;
}

const std::string& TernServerPath() {
  static const std::string path = [] {
    const char* env = std::getenv("TERN_SERVER_UNDER_TEST");
    return std::string(env != nullptr && *env != '\0' ? env : TERN_SERVER_PATH);
  }();
  return path;
}

std::string NatsServerPath() {
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

std::unique_ptr<ServerProcess> ServerProcess::Start(const std::vector<std::string>& args,
                                                    const std::string& binary) {
  auto server = std::unique_ptr<ServerProcess>(new ServerProcess);
  server->dir_ = MakeTempDir();
  std::vector<std::string> argv = {
      binary, "-p", "-1", "--ports_file_dir", server->dir_, "-l", server->dir_ + "/server.log"};
  if (binary == TernServerPath()) {
    for (const auto& a : TestArgs()) argv.push_back(a);
  }
  for (const auto& a : args) argv.push_back(a);
  server->pid_ = fork();
  if (server->pid_ == 0) {
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  // The ports file appears once the server listens.
  const std::string name = binary.substr(binary.rfind('/') + 1);
  const std::string ports_file =
      server->dir_ + "/" + name + "_" + std::to_string(server->pid_) + ".ports";
  const int64_t deadline = NowMs() + 10000;
  while (NowMs() < deadline) {
    std::ifstream in(ports_file);
    std::stringstream text;
    text << in.rdbuf();
    const int port = PortFromPortsFile(text.str());
    // A clustered server may write its ports file before its route listener is in it.
    const bool wants_cluster = std::find(args.begin(), args.end(), "--cluster") != args.end();
    const bool has_cluster = text.str().find("\"cluster\":[") != std::string::npos;
    if (port > 0 && (!wants_cluster || has_cluster)) {
      server->port_ = port;
      server->monitor_port_ = PortFromPortsFile(text.str(), "http://");
      const auto cluster = text.str().find("\"cluster\":[");
      if (cluster != std::string::npos) {
        // nats:// or, with cluster TLS, tls:// (nats-server's spelling).
        server->cluster_port_ = PortFromPortsFile(text.str().substr(cluster), "://");
      }
      const auto websocket = text.str().find("\"websocket\":[");
      if (websocket != std::string::npos) {
        server->websocket_port_ = PortFromPortsFile(text.str().substr(websocket), "://");
      }
      server->ports_file_ = ports_file;
      return server;
    }
    int status;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      throw std::runtime_error("server exited at start-up: " + server->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("server did not write its ports file: " + server->Log());
}

ServerProcess::~ServerProcess() {
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "---- server log (%s) ----\n%s\n----\n", dir_.c_str(), Log().c_str());
  }
  if (pid_ > 0) Stop(SIGTERM, 5000);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::system(("rm -rf " + dir_).c_str());
}

HttpResult HttpGet(int port, const std::string& target) {
  HttpResult result;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return result;
  }
  const std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return result;
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  const auto space = response.find(' ');
  const auto end = response.find("\r\n\r\n");
  if (space == std::string::npos || end == std::string::npos) return result;
  result.status = std::atoi(response.c_str() + space + 1);
  result.headers = response.substr(0, end);
  result.body = response.substr(end + 4);
  if (result.headers.find("Transfer-Encoding: chunked") != std::string::npos) {
    std::string body;
    std::size_t at = 0;
    while (at < result.body.size()) {
      const std::size_t line_end = result.body.find("\r\n", at);
      if (line_end == std::string::npos) break;
      const std::size_t size = std::stoul(result.body.substr(at, line_end - at), nullptr, 16);
      if (size == 0) break;
      body += result.body.substr(line_end + 2, size);
      at = line_end + 2 + size + 2;
    }
    result.body = body;
  }
  return result;
}

std::string ServerProcess::Log() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int ServerProcess::Stop(int sig, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  const int64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// libnats' global state is released once, after the last test (a suite that called
// nats_Close() itself left libnats unusable for the suites after it).
class LibnatsEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { nats_Close(); }
};
[[maybe_unused]] const auto* const kLibnatsEnvironment =
    ::testing::AddGlobalTestEnvironment(new LibnatsEnvironment);

void RemoveAtExit(const std::string& dir) {
  std::lock_guard<std::mutex> lock(Cleanup().mutex);
  Cleanup().dirs.push_back(dir);
}

std::string WriteConfig(const std::string& text) {
  const std::string dir = MakeTempDir();
  RemoveAtExit(dir);
  const std::string path = dir + "/server.conf";
  std::ofstream(path) << text;
  return path;
}

NatsConn::~NatsConn() {
  if (nc != nullptr) natsConnection_Destroy(nc);
}

std::unique_ptr<NatsConn> Connect(const ServerProcess& server, bool no_echo, natsOptions* extra) {
  natsOptions* opts = extra;
  if (opts == nullptr) natsOptions_Create(&opts);
  natsOptions_SetURL(opts, server.url().c_str());
  natsOptions_SetAllowReconnect(opts, false);
  natsOptions_SetNoEcho(opts, no_echo);
  auto conn = std::make_unique<NatsConn>();
  const natsStatus s = natsConnection_Connect(&conn->nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) throw std::runtime_error(std::string("connect: ") + natsStatus_GetText(s));
  return conn;
}

natsStatus TryConnect(const ServerProcess& server, natsOptions* opts,
                      std::unique_ptr<NatsConn>* out) {
  natsOptions_SetURL(opts, server.url().c_str());
  natsOptions_SetAllowReconnect(opts, false);
  natsOptions_SetTimeout(opts, 3000);
  auto conn = std::make_unique<NatsConn>();
  const natsStatus s = natsConnection_Connect(&conn->nc, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK && out != nullptr) *out = std::move(conn);
  return s;
}

std::string Payload(natsMsg* msg) {
  return std::string(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
}

RawConn::RawConn(int port, bool read_info, int receive_buffer) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("raw connect failed");
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (read_info) {
    std::string first = ReadUntil("\r\n");
    const auto end = first.find("\r\n");
    info_ = first.substr(0, end);
    buffer_ = first.substr(end + 2);
  }
}

RawListener::RawListener(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 8) != 0) {
    throw std::runtime_error("raw listen failed");
  }
}

RawListener::~RawListener() {
  if (fd_ >= 0) close(fd_);
}

std::unique_ptr<RawConn> RawListener::Accept(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return nullptr;
  const int fd = accept(fd_, nullptr, nullptr);
  if (fd < 0) return nullptr;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return std::make_unique<RawConn>(RawConn::Accepted{fd});
}

RawConn::~RawConn() {
  if (fd_ >= 0) close(fd_);
}

void RawConn::Send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string RawConn::ReadUntil(const std::string& needle, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  std::size_t searched = 0;  // only new bytes are searched: no quadratic rescans
  while (buffer_.find(needle, searched) == std::string::npos && !closed_) {
    searched = buffer_.size() >= needle.size() ? buffer_.size() - needle.size() + 1 : 0;
    const int64_t left = deadline - NowMs();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

std::string RawConn::ReadFor(int timeout_ms) {
  return ReadUntil(std::string("\x01\x02\x03never", 9), timeout_ms);
}

std::pair<int, std::string> RunServerOnce(const std::string& args) {
  return RunCommand(TernServerPath() + " " + args);
}

void ExpectStartFails(const std::string& config_file, const std::string& error) {
  const auto [code, out] = RunServerOnce("-c " + config_file);
  EXPECT_NE(code, 0) << config_file;
  EXPECT_NE(out.find(error), std::string::npos) << out;
  if (NatsServerPath().empty()) return;
  // (nats-server checks listener blocks at start-up, not with -t.)
  const auto [nats_code, nats_out] =
      RunCommand("timeout 10 " + NatsServerPath() + " -p -1 -c " + config_file);
  EXPECT_NE(nats_code, 0);
  EXPECT_NE(nats_out.find(error), std::string::npos) << nats_out;
}

std::pair<int, std::string> RunCommand(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace tern::e2e
