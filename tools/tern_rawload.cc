// tern-rawload: the plainest load generator there can be, to check that tern-bench is not
// what a row measures (bench/compare runs both against both servers). The publisher writes
// one pre-built 64 KiB block of PUB frames over and over with blocking writes; each
// subscriber reads into a 1 MiB buffer and only counts bytes (it knows each MSG frame's
// exact length), never parsing. Modes: pub (ingest) and pubsub (one publisher, --subs S).
// Prints one JSON line with tern-bench's keys: pub_msgs_per_sec, deliver_msgs_per_sec, ok.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/clock.h"
#include "tools/bench/connection.h"

namespace tern::bench {
namespace {

constexpr int kTimeoutMs = 60'000;
constexpr char kSubject[] = "bench.subject";

struct Options {
  std::string mode;
  ServerAddress server;
  int size = 16;
  int subs = 1;
  uint64_t count = 1'000'000;
};

bool ParseArgs(int argc, char** argv, Options* o, std::string* error) {
  if (argc < 2) {
    *error = "usage: tern-rawload pub|pubsub [--server URL] [--size N] [--count N] [--subs N]";
    return false;
  }
  o->mode = argv[1];
  if (o->mode != "pub" && o->mode != "pubsub") {
    *error = "unknown mode '" + o->mode + "' (pub, pubsub)";
    return false;
  }
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--json") continue;  // the only output there is
    if (i + 1 >= argc) {
      *error = flag + " needs a value";
      return false;
    }
    const std::string value = argv[++i];
    if (flag == "--server") {
      if (!ParseUrl(value, &o->server) || o->server.tls || o->server.websocket || o->server.mqtt) {
        *error = "--server must be a plain nats://host:port: '" + value + "'";
        return false;
      }
      continue;
    }
    char* end = nullptr;
    const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
    if (end == value.c_str() || *end != '\0' || number == 0) {
      *error = flag + " takes a positive number, not '" + value + "'";
      return false;
    }
    if (flag == "--size" && number <= 1024 * 1024) {
      o->size = static_cast<int>(number);
    } else if (flag == "--subs" && number <= 1024) {
      o->subs = static_cast<int>(number);
    } else if (flag == "--count") {
      o->count = number;
    } else {
      *error = "unknown flag or value out of range: " + flag + " " + value;
      return false;
    }
  }
  return true;
}

// Reads until `marker` has arrived (the handshake's INFO, then PONG); false on a failure.
bool ReadUntil(int fd, std::string_view marker, std::string* error) {
  std::string seen;
  char buffer[4096];
  while (seen.find(marker) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kTimeoutMs) != 1) {
      *error = "no " + std::string(marker.substr(0, 4)) + " from the server";
      return false;
    }
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      *error = "the server closed the connection";
      return false;
    }
    seen.append(buffer, static_cast<std::size_t>(n));
    if (seen.find("-ERR") != std::string::npos) {
      *error = "the server refused: " + seen.substr(seen.find("-ERR"), 80);
      return false;
    }
  }
  return true;
}

// A connection that sent CONNECT (and `then`) and got the PONG for it; -1 on a failure.
int Open(const ServerAddress& server, const std::string& then, std::string* error) {
  const int fd = ConnectTcp(server, error);
  if (fd < 0) return -1;
  if (!ReadUntil(fd, "\r\n", error) ||
      !SendAll(fd, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n" + then + "PING\r\n",
               error) ||
      !ReadUntil(fd, "PONG\r\n", error)) {
    close(fd);
    return -1;
  }
  return fd;
}

// Counts bytes until `expected` arrived; returns the time it took from `start_ns` (0 on a
// failure).
int64_t CountBytes(int fd, uint64_t expected, int64_t start_ns) {
  std::vector<char> buffer(1 << 20);
  uint64_t received = 0;
  while (received < expected) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kTimeoutMs) != 1) return 0;
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n <= 0) return 0;
    received += static_cast<uint64_t>(n);
  }
  return NowNs() - start_ns;
}

int Run(const Options& o) {
  std::string error;
  std::vector<int> subscribers;
  const int sub_count = o.mode == "pubsub" ? o.subs : 0;
  for (int i = 0; i < sub_count; ++i) {
    const int fd = Open(o.server, "SUB " + std::string(kSubject) + " 1\r\n", &error);
    if (fd < 0) break;
    subscribers.push_back(fd);
  }
  const int publisher = error.empty() ? Open(o.server, "", &error) : -1;
  if (publisher < 0) {
    std::printf("{\"mode\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n", o.mode.c_str(), error.c_str());
    return 1;
  }
  const std::string payload(static_cast<std::size_t>(o.size), 'p');
  const std::string frame =
      "PUB " + std::string(kSubject) + " " + std::to_string(o.size) + "\r\n" + payload + "\r\n";
  const uint64_t msg_frame_bytes = std::string("MSG ").size() + std::strlen(kSubject) +
                                   std::string(" 1 ").size() + std::to_string(o.size).size() + 2 +
                                   static_cast<uint64_t>(o.size) + 2;
  std::string block;
  uint64_t per_block = 0;
  while (block.size() < 64 * 1024) {
    block += frame;
    ++per_block;
  }
  const int64_t start = NowNs();
  std::vector<int64_t> sub_ns(subscribers.size(), 0);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    readers.emplace_back(
        [&, i] { sub_ns[i] = CountBytes(subscribers[i], o.count * msg_frame_bytes, start); });
  }
  uint64_t sent = 0;
  bool ok = true;
  for (; ok && sent + per_block <= o.count; sent += per_block)
    ok = SendAll(publisher, block, &error);
  std::string tail;
  for (; sent < o.count; ++sent) tail += frame;
  ok = ok && SendAll(publisher, tail + "PING\r\n", &error) &&
       ReadUntil(publisher, "PONG\r\n", &error);
  const double pub_seconds = static_cast<double>(NowNs() - start) / 1e9;
  for (auto& reader : readers) reader.join();
  int64_t slowest = 0;
  for (int64_t ns : sub_ns) {
    if (ns == 0) ok = false;
    slowest = std::max(slowest, ns);
  }
  if (!ok && error.empty()) error = "a subscriber did not receive everything";
  std::replace(error.begin(), error.end(), '"', '\'');  // it goes inside a JSON string
  const double delivered = static_cast<double>(o.count) * static_cast<double>(subscribers.size());
  std::printf(
      "{\"mode\":\"%s\",\"size\":%d,\"subs\":%zu,\"count\":%llu,\"published\":%llu,"
      "\"pub_msgs_per_sec\":%.0f,\"deliver_msgs_per_sec\":%.0f,\"ok\":%s%s%s%s}\n",
      o.mode.c_str(), o.size, subscribers.size(), static_cast<unsigned long long>(o.count),
      static_cast<unsigned long long>(ok ? o.count : 0),
      ok ? static_cast<double>(o.count) / pub_seconds : 0,
      ok && slowest > 0 ? delivered / (static_cast<double>(slowest) / 1e9) : 0,
      ok ? "true" : "false", ok ? "" : ",\"error\":\"", ok ? "" : error.c_str(), ok ? "" : "\"");
  close(publisher);
  for (int fd : subscribers) close(fd);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  tern::bench::Options options;
  std::string error;
  if (!tern::bench::ParseArgs(argc, argv, &options, &error)) {
    std::fprintf(stderr, "tern-rawload: %s\n", error.c_str());
    return 2;
  }
  return tern::bench::Run(options);
}
