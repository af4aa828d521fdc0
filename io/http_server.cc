#include "io/http_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "io/socket.h"

namespace tern::io {
namespace {

constexpr std::size_t kMaxRequestBytes = 16 * 1024;
constexpr int kMaxConnections = 64;
constexpr auto kIdleLimit = std::chrono::seconds(5);

std::string Decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(text[i + 1]) &&
               std::isxdigit(text[i + 2])) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// Writes everything (the socket is non-blocking: wait for room, up to a deadline).
void WriteAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + kIdleLimit;
  while (sent < bytes.size() && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 100);
    } else {
      return;
    }
  }
}

std::string Render(const HttpResponse& response, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                    StatusText(response.status) + "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  if (!head) out += response.body;
  return out;
}

}  // namespace

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::ParseRequestLine(const std::string& line, HttpRequest* request) {
  const auto first = line.find(' ');
  if (first == std::string::npos || first == 0) return false;
  const auto second = line.find(' ', first + 1);
  if (second == std::string::npos) return false;
  if (line.compare(second + 1, 5, "HTTP/") != 0) return false;
  request->method = line.substr(0, first);
  std::string target = line.substr(first + 1, second - first - 1);
  if (target.empty() || target[0] != '/') return false;
  const auto question = target.find('?');
  request->path = Decode(target.substr(0, question));
  request->query.clear();
  if (question == std::string::npos) return true;
  std::string query = target.substr(question + 1);
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      request->query[Decode(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : Decode(pair.substr(eq + 1));
    }
    start = end + 1;
  }
  return true;
}

bool HttpServer::Start(const std::string& host, int port, int* bound_port, std::string* error) {
  listen_fd_ = CreateListener(host, port, bound_port, error);
  if (listen_fd_ < 0) return false;
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    *error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { Loop(); });
  return true;
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof(one)) < 0) {
      // The loop also polls with a timeout; it will notice the closed listener.
    }
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  listen_fd_ = stop_fd_ = -1;
}

void HttpServer::Loop() {
  struct Conn {
    int fd;
    std::string input;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Conn> conns;
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({stop_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Conn& c : conns) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 500) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) break;
    const auto now = std::chrono::steady_clock::now();
    std::vector<Conn> next;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      bool done = false;
      if (fds[i + 2].revents != 0) {
        char buffer[4096];
        const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
          done = n == 0 || (errno != EAGAIN && errno != EINTR);
        } else {
          c.input.append(buffer, static_cast<std::size_t>(n));
        }
      }
      const auto end = c.input.find("\r\n\r\n");
      if (!done && end != std::string::npos) {
        HttpRequest request;
        HttpResponse response;
        const std::string line = c.input.substr(0, c.input.find("\r\n"));
        if (!ParseRequestLine(line, &request)) {
          response = {400, "text/plain", "malformed request\n"};
        } else {
          response = handler_(request);
        }
        WriteAll(c.fd, Render(response, request.method == "HEAD"));
        done = true;
      } else if (!done && c.input.size() > kMaxRequestBytes) {
        WriteAll(c.fd, Render({431, "text/plain", "request too large\n"}, false));
        done = true;
      } else if (!done && now - c.since > kIdleLimit) {
        done = true;
      }
      if (done) {
        close(c.fd);
      } else {
        next.push_back(std::move(c));
      }
    }
    conns.swap(next);
    if (fds[1].revents != 0) {
      while (true) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (static_cast<int>(conns.size()) >= kMaxConnections) {
          close(fd);
          continue;
        }
        conns.push_back({fd, {}, now});
      }
    }
  }
  for (const Conn& c : conns) close(c.fd);
}

}  // namespace tern::io
