#pragma once
// HttpServer: a small HTTP/1.1 server for the monitoring endpoints, on its own thread
// (never a shard's): poll() over the listener and a handful of connections, one request
// per connection, answered by a handler that may block briefly. Knows nothing of NATS.
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace tern::io {

struct HttpRequest {
  std::string method;                        // GET, HEAD, ...
  std::string path;                          // without the query string
  std::map<std::string, std::string> query;  // decoded; a key without '=' maps to ""
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit HttpServer(Handler handler) : handler_(std::move(handler)) {}
  ~HttpServer();

  // Binds (port 0 = any free port) and starts the thread; *bound_port tells which.
  bool Start(const std::string& host, int port, int* bound_port, std::string* error);
  void Stop();

  // Parses "GET /path?a=1&b HTTP/1.1" (the request line); false if malformed.
  static bool ParseRequestLine(const std::string& line, HttpRequest* request);

 private:
  void Loop();

  Handler handler_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: Stop() wakes the loop
  std::thread thread_;
};

}  // namespace tern::io
