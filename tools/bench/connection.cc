#include "tools/bench/connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>

namespace tern::bench {

bool ParseUrl(const std::string& url, ServerAddress* out) {
  std::string rest = url;
  const auto scheme = rest.find("://");
  if (scheme != std::string::npos) {
    out->tls = rest.compare(0, scheme, "tls") == 0;
    out->websocket = rest.compare(0, scheme, "ws") == 0;
    out->mqtt = rest.compare(0, scheme, "mqtt") == 0;
    rest = rest.substr(scheme + 3);
  }
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    const auto split = userinfo.find(':');
    out->user = userinfo.substr(0, split);
    out->pass = split == std::string::npos ? "" : userinfo.substr(split + 1);
    rest = rest.substr(at + 1);
  }
  const auto colon = rest.rfind(':');
  std::string port_text = colon == std::string::npos ? rest : rest.substr(colon + 1);
  if (colon != std::string::npos && colon > 0) out->host = rest.substr(0, colon);
  if (port_text.empty()) return false;
  for (char c : port_text) {
    if (c < '0' || c > '9') return false;
  }
  out->port = std::stoi(port_text);
  return out->port > 0 && out->port < 65536;
}

BenchConnection::~BenchConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
}

bool BenchConnection::StartTls(const ServerAddress& address, std::string* error) {
  // One client context per CA file for the whole process (SSL_CTX is shared safely).
  static SSL_CTX* context = [&] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!address.ca_file.empty()) {
      SSL_CTX_load_verify_locations(ctx, address.ca_file.c_str(), nullptr);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    return ctx;
  }();
  ssl_ = SSL_new(context);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, address.host.c_str());
  if (SSL_connect(ssl_) != 1) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof(text));
    *error = std::string("TLS handshake: ") + text;
    return false;
  }
  return true;
}

int ConnectTcp(const ServerAddress& address, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &result) !=
      0) {
    *error = "cannot resolve " + address.host;
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(result);
  if (fd < 0) {
    *error = "cannot connect to " + address.host + ":" + std::to_string(address.port) + ": " +
             strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, std::string_view bytes, std::string* error) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("write: ") + strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool BenchConnection::Open(const ServerAddress& address, std::string* error) {
  fd_ = ConnectTcp(address, error);
  if (fd_ < 0) return false;
  if (address.websocket && !UpgradeToWebSocket(address, error)) return false;
  // INFO, then our CONNECT; the PONG to the PING after it means the server is ready.
  while (!info_seen_) {
    if (!ReadSome(5000)) {
      *error = "no INFO from server: " + error_;
      return false;
    }
  }
  if (address.tls && !StartTls(address, error)) return false;
  // Benchmark credentials are plain identifiers (no JSON escaping needed).
  std::string credentials;
  if (!address.user.empty()) {
    credentials = ",\"user\":\"" + address.user + "\",\"pass\":\"" + address.pass + "\"";
  }
  if (!WriteAll("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1" +
                credentials + "}\r\n") ||
      !Flush(5000)) {
    *error = "handshake failed: " + error_;
    return false;
  }
  return true;
}

bool BenchConnection::UpgradeToWebSocket(const ServerAddress& address, std::string* error) {
  // A fixed key: the load generator has no use for the accept value's check.
  if (!WriteRaw(
          "GET / HTTP/1.1\r\nHost: " + address.host + ":" + std::to_string(address.port) +
          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")) {
    *error = "upgrade request: " + error_;
    return false;
  }
  std::string response;
  while (response.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd_, POLLIN, 0};
    char buffer[4096];
    const ssize_t n = poll(&p, 1, 5000) == 1 ? recv(fd_, buffer, sizeof buffer, 0) : -1;
    if (n <= 0) {
      *error = "no answer to the WebSocket upgrade";
      return false;
    }
    response.append(buffer, static_cast<std::size_t>(n));
  }
  if (response.rfind("HTTP/1.1 101", 0) != 0) {
    *error = "WebSocket upgrade refused: " + response.substr(0, response.find("\r\n"));
    return false;
  }
  websocket_ = true;
  const std::size_t body = response.find("\r\n\r\n") + 4;
  Unframe(response.data() + body, response.size() - body);
  return true;
}

bool BenchConnection::WriteAll(std::string_view bytes) {
  if (!websocket_) return WriteRaw(bytes);
  // A binary frame masked with a key of its own, as browsers and nats.ws send them (so the
  // server's unmasking costs what it costs with real clients).
  std::string frame;
  frame.reserve(bytes.size() + 14);
  frame += static_cast<char>(0x82);
  if (bytes.size() < 126) {
    frame += static_cast<char>(0x80 | bytes.size());
  } else if (bytes.size() <= 0xffff) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(bytes.size() >> 8);
    frame += static_cast<char>(bytes.size() & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame += static_cast<char>((bytes.size() >> shift) & 0xff);
    }
  }
  const uint32_t key = 0x9e3779b9u * static_cast<uint32_t>(++frames_sent_);
  uint64_t word_mask = uint64_t{key} << 32 | key;
  char mask[4];
  std::memcpy(mask, &key, 4);
  frame.append(mask, 4);
  const std::size_t start = frame.size();
  frame.append(bytes);
  std::size_t i = start;
  for (; i + 8 <= frame.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, frame.data() + i, 8);
    word ^= word_mask;
    std::memcpy(frame.data() + i, &word, 8);
  }
  for (; i < frame.size(); ++i) frame[i] = static_cast<char>(frame[i] ^ mask[(i - start) & 3]);
  return WriteRaw(frame);
}

bool BenchConnection::WriteRaw(std::string_view bytes) {
  if (ssl_ == nullptr) return SendAll(fd_, bytes, &error_);
  while (!bytes.empty()) {
    const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) {
      error_ = "TLS write failed";
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool BenchConnection::Flush(int timeout_ms) {
  const uint64_t want = pongs_ + 1;
  if (!WriteAll("PING\r\n")) return false;
  while (pongs_ < want) {
    if (!ReadSome(timeout_ms)) return false;
  }
  return true;
}

bool BenchConnection::ReadSome(int timeout_ms) {
  // Decrypted bytes may already wait inside OpenSSL, with nothing left on the socket.
  if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, timeout_ms);
    if (ready == 0) {
      error_ = "timed out";
      return false;
    }
  }
  char buffer[256 * 1024];
  const std::size_t want =
      read_limit_ > 0 && read_limit_ < sizeof buffer ? read_limit_ : sizeof buffer;
  ssize_t n;
  if (ssl_ != nullptr) {
    n = SSL_read(ssl_, buffer, static_cast<int>(want));
    if (n <= 0 && SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_WANT_READ) return true;
  } else {
    n = recv(fd_, buffer, want, 0);
  }
  if (n <= 0) {
    closed_ = true;
    error_ = n == 0 ? "server closed the connection" : strerror(errno);
    return false;
  }
  Consume(buffer, static_cast<std::size_t>(n));
  return true;
}

void BenchConnection::Consume(const char* data, std::size_t len) {
  if (websocket_) {
    Unframe(data, len);
  } else {
    ProtocolBytes(data, len);
  }
}

void BenchConnection::Unframe(const char* data, std::size_t len) {
  while (len > 0) {
    if (frame_left_ > 0) {
      const std::size_t take = std::min(frame_left_, len);
      if (!frame_is_control_) ProtocolBytes(data, take);
      frame_left_ -= take;
      data += take;
      len -= take;
      continue;
    }
    // A server's frame header: 2 bytes, then 2 or 8 of length; never masked.
    frame_header_ += *data++;
    --len;
    if (frame_header_.size() < 2) continue;
    const auto byte = [&](std::size_t i) { return static_cast<uint8_t>(frame_header_[i]); };
    const uint8_t short_length = byte(1) & 0x7f;
    const std::size_t header_size = short_length == 126 ? 4 : short_length == 127 ? 10 : 2;
    if (frame_header_.size() < header_size) continue;
    std::size_t length = short_length;
    if (header_size > 2) {
      length = 0;
      for (std::size_t i = 2; i < header_size; ++i) length = length << 8 | byte(i);
    }
    const uint8_t opcode = byte(0) & 0x0f;
    frame_is_control_ = opcode >= 0x8;
    if (opcode == 0x8) closed_ = true;
    if (opcode == 0x9) WriteRaw(std::string("\x8a\x80\0\0\0\0", 6));  // an empty pong
    frame_left_ = length;
    frame_header_.clear();
  }
}

void BenchConnection::ProtocolBytes(const char* data, std::size_t len) {
  // Frames are read where they arrived; only a frame cut by the end of a read is kept (in
  // in_) for the next one. Copying every read into in_ cost the generator more than the
  // servers it measures on wide fan-outs.
  if (in_.empty()) {
    const std::size_t used = Scan(data, len);
    in_.assign(data + used, len - used);
  } else {
    in_.append(data, len);
    const std::size_t used = Scan(in_.data(), in_.size());
    in_.erase(0, used);
  }
}

void BenchConnection::TakePayload(const char* data, std::size_t len) {
  if (capture_) payload_.append(data, len);
}

void BenchConnection::CompleteMessage() {
  ++messages_;
  if (capture_) {
    payload_.resize(payload_.size() >= 2 ? payload_.size() - 2 : 0);  // the frame's CRLF
    last_payload_.swap(payload_);
    payload_.clear();
    if (last_payload_.find("\"error\"") != std::string::npos) ++error_replies_;
  }
  if (on_message_ != nullptr) on_message_(this, pending_reply_, on_message_arg_);
}

// Walks the complete frames in data: counts MSG/HMSG, PONGs; answers PINGs. Returns the
// bytes used (a partial frame at the end is left for the next read).
std::size_t BenchConnection::Scan(const char* data, std::size_t len) {
  std::size_t pos = 0;
  while (pos < len) {
    if (skip_ > 0) {  // a payload and its CRLF
      const std::size_t take = std::min(skip_, len - pos);
      TakePayload(data + pos, take);
      skip_ -= take;
      pos += take;
      if (skip_ > 0) break;
      CompleteMessage();
      continue;
    }
    const char* start = data + pos;
    const auto* lf = static_cast<const char*>(std::memchr(start, '\n', len - pos));
    if (lf == nullptr) break;
    pos = static_cast<std::size_t>(lf - data) + 1;
    const std::string_view line(start, lf > start && lf[-1] == '\r' ? lf - start - 1 : lf - start);
    const bool msg = line.starts_with("MSG ");
    if (msg || line.starts_with("HMSG ")) {
      // MSG subject sid [reply] size / HMSG subject sid [reply] hdr total: the last token
      // is the size, and one more token than the minimum is a reply subject.
      std::size_t spaces[6];
      std::size_t count = 0;
      for (std::size_t i = 0; i < line.size() && count < 6; ++i) {
        if (line[i] == ' ') spaces[count++] = i;
      }
      if (count < 3) {
        error_ = "malformed: " + std::string(line);
        continue;
      }
      std::size_t size = 0;
      for (std::size_t i = spaces[count - 1] + 1; i < line.size(); ++i) {
        size = size * 10 + static_cast<std::size_t>(line[i] - '0');
      }
      skip_ = size + 2;
      if (count == (msg ? 4u : 5u)) {
        pending_reply_.assign(line.substr(spaces[2] + 1, spaces[3] - spaces[2] - 1));
      } else {
        pending_reply_.clear();
      }
      last_reply_ = pending_reply_;
    } else if (line.starts_with("INFO ")) {
      info_seen_ = true;
    } else if (line == "PING") {
      WriteAll("PONG\r\n");
    } else if (line == "PONG") {
      ++pongs_;
    } else if (line.starts_with("-ERR")) {
      error_ = std::string(line);
    }
  }
  return pos;
}

}  // namespace tern::bench
