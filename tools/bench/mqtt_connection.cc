#include "tools/bench/mqtt_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern::bench {
namespace {

void AppendRemainingLength(std::string* out, std::size_t length) {
  do {
    uint8_t digit = length % 128;
    length /= 128;
    if (length > 0) digit |= 0x80;
    *out += static_cast<char>(digit);
  } while (length > 0);
}

void AppendString(std::string* out, std::string_view text) {
  *out += static_cast<char>(text.size() >> 8);
  *out += static_cast<char>(text.size() & 0xff);
  out->append(text);
}

std::string Packet(uint8_t first_byte, const std::string& body) {
  std::string packet(1, static_cast<char>(first_byte));
  AppendRemainingLength(&packet, body.size());
  return packet + body;
}

}  // namespace

std::string MqttPublish(std::string_view topic, std::string_view payload, int qos,
                        uint16_t packet_id) {
  std::string body;
  AppendString(&body, topic);
  if (qos > 0) {
    body += static_cast<char>(packet_id >> 8);
    body += static_cast<char>(packet_id & 0xff);
  }
  body.append(payload);
  return Packet(static_cast<uint8_t>(0x30 | (qos << 1)), body);
}

MqttBenchConnection::~MqttBenchConnection() {
  if (fd_ >= 0) close(fd_);
}

bool MqttBenchConnection::Open(const ServerAddress& address, const std::string& client_id,
                               std::string* error) {
  fd_ = ConnectTcp(address, error);
  if (fd_ < 0) return false;
  std::string body;
  AppendString(&body, "MQTT");
  uint8_t flags = 0x02;  // clean session
  if (!address.user.empty()) flags |= 0x80 | 0x40;
  body += static_cast<char>(4);  // protocol level 3.1.1
  body += static_cast<char>(flags);
  body.append(2, '\0');  // no keepalive
  AppendString(&body, client_id);
  if (!address.user.empty()) {
    AppendString(&body, address.user);
    AppendString(&body, address.pass);
  }
  if (!WriteAll(Packet(0x10, body))) {
    *error = "CONNECT: " + error_;
    return false;
  }
  while (connack_ < 0) {
    if (!ReadSome(5000)) {
      *error = "no CONNACK: " + error_;
      return false;
    }
  }
  if (connack_ != 0) {
    *error = "CONNACK refused the connection, code " + std::to_string(connack_);
    return false;
  }
  return true;
}

bool MqttBenchConnection::WriteAll(std::string_view bytes) { return SendAll(fd_, bytes, &error_); }

bool MqttBenchConnection::Subscribe(const std::string& filter, int qos, int timeout_ms) {
  std::string body("\0\1", 2);  // packet id 1
  AppendString(&body, filter);
  body += static_cast<char>(qos);
  const uint64_t want = subacks_ + 1;
  if (!WriteAll(Packet(0x82, body))) return false;
  while (subacks_ < want) {
    if (!ReadSome(timeout_ms)) return false;
  }
  if (suback_code_ == 0x80) {
    error_ = "SUBACK refused " + filter;
    return false;
  }
  return true;
}

bool MqttBenchConnection::Flush(int timeout_ms) {
  const uint64_t want = pingresps_ + 1;
  if (!WriteAll(std::string("\xc0\x00", 2))) return false;
  while (pingresps_ < want) {
    if (!ReadSome(timeout_ms)) return false;
  }
  return true;
}

bool MqttBenchConnection::ReadSome(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) == 0) {
    error_ = "timed out";
    return false;
  }
  char buffer[256 * 1024];
  const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) {
    closed_ = true;
    error_ = n == 0 ? "server closed the connection" : strerror(errno);
    return false;
  }
  in_.append(buffer, static_cast<std::size_t>(n));
  Scan();
  return true;
}

// Walks the complete packets in in_.
void MqttBenchConnection::Scan() {
  std::size_t pos = 0;
  while (pos + 2 <= in_.size()) {
    const auto byte = [&](std::size_t i) { return static_cast<uint8_t>(in_[i]); };
    std::size_t length = 0, at = pos + 1;
    int shift = 0;
    bool complete_length = false;
    while (at < in_.size() && shift <= 21) {
      length |= static_cast<std::size_t>(byte(at) & 0x7f) << shift;
      shift += 7;
      if ((byte(at++) & 0x80) == 0) {
        complete_length = true;
        break;
      }
    }
    if (!complete_length || at + length > in_.size()) break;
    const uint8_t type = byte(pos) >> 4;
    const std::string_view body(in_.data() + at, length);
    if (type == 3) {  // PUBLISH
      const int qos = (byte(pos) >> 1) & 3;
      const std::size_t topic_length =
          body.size() >= 2 ? (static_cast<uint8_t>(body[0]) << 8 | static_cast<uint8_t>(body[1]))
                           : 0;
      const std::size_t payload_at = std::min(body.size(), 2 + topic_length + (qos > 0 ? 2 : 0));
      ++publishes_;
      if (qos == 1 && payload_at >= 2) {  // acknowledge with the same packet id
        const std::string_view id = body.substr(payload_at - 2, 2);
        WriteAll(std::string("\x40\x02", 2) + std::string(id));
      }
      if (on_publish_ != nullptr) on_publish_(body.substr(payload_at), on_publish_arg_);
    } else if (type == 4) {
      ++pubacks_;
    } else if (type == 13) {
      ++pingresps_;
    } else if (type == 9) {
      suback_code_ = body.size() >= 3 ? static_cast<uint8_t>(body[2]) : 0x80;
      ++subacks_;
    } else if (type == 2) {
      connack_ = body.size() >= 2 ? static_cast<uint8_t>(body[1]) : 255;
    }
    pos = at + length;
  }
  in_.erase(0, pos);
}

}  // namespace tern::bench
