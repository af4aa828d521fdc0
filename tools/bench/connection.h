#pragma once
// BenchConnection: a blocking raw NATS connection for the load generator. It writes
// pre-serialised frames in large writes and scans what the server sends, counting MSG
// frames and PONGs and answering server PINGs. One per thread; not thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;

namespace tern::bench {

struct ServerAddress {
  std::string host = "127.0.0.1";
  int port = 4222;
  bool tls = false;        // "tls://host:port": TLS after the server's INFO, as clients do
  bool websocket = false;  // "ws://host:port": the NATS protocol inside WebSocket frames
  bool mqtt = false;       // "mqtt://host:port": an MQTT listener (the MQTT modes, telemetry)
  std::string ca_file;     // verify the server against this CA (--tlsca); empty = no check
  std::string user, pass;  // "nats://user:pass@host:port": sent in CONNECT
};
// Parses "nats://host:port", "tls://host:port", "ws://host:port", "mqtt://host:port",
// "host:port" or "port", each with an optional "user:pass@" before the host.
bool ParseUrl(const std::string& url, ServerAddress* out);
// A connected TCP socket (TCP_NODELAY) to the address, or -1 with *error set.
int ConnectTcp(const ServerAddress& address, std::string* error);
// Writes all of `bytes` (blocking); false with *error set if the socket fails.
bool SendAll(int fd, std::string_view bytes, std::string* error);

class BenchConnection {
 public:
  // Connects, reads INFO, sends CONNECT (verbose/pedantic off) and waits for the PONG.
  bool Open(const ServerAddress& address, std::string* error);
  ~BenchConnection();

  // Writes protocol bytes (over WebSocket: as one masked binary frame).
  bool WriteAll(std::string_view bytes);
  // Sends PING and reads until its PONG, counting messages meanwhile.
  bool Flush(int timeout_ms);
  // Reads once (waiting up to timeout_ms) and scans; false if the server closed.
  bool ReadSome(int timeout_ms);

  int fd() const { return fd_; }
  bool tls() const { return ssl_ != nullptr; }
  uint64_t messages() const { return messages_; }
  // The reply subject and payload of the last message scanned (request/reply mode).
  const std::string& last_reply() const { return last_reply_; }
  // Called for every complete message when set (the responder answers here).
  void set_on_message(void (*fn)(BenchConnection*, std::string_view reply, void*), void* arg) {
    on_message_ = fn;
    on_message_arg_ = arg;
  }
  // Reads at most this many bytes per ReadSome (a deliberately slow reader); 0 = 256 KiB.
  void set_read_limit(std::size_t bytes) { read_limit_ = bytes; }
  // Keep payloads (JetStream modes): the last one is readable, and replies that carry a
  // JSON "error" are counted.
  void set_capture(bool capture) { capture_ = capture; }
  const std::string& last_payload() const { return last_payload_; }
  uint64_t error_replies() const { return error_replies_; }
  const std::string& error() const { return error_; }
  bool closed() const { return closed_; }

 private:
  std::size_t Scan(const char* data, std::size_t len);
  // What arrived from the server, after TLS and before WebSocket framing is taken off.
  void Consume(const char* data, std::size_t len);
  // Takes the frame headers off WebSocket bytes; hands the payloads of data frames on.
  void Unframe(const char* data, std::size_t len);
  void ProtocolBytes(const char* data, std::size_t len);
  bool WriteRaw(std::string_view bytes);
  bool UpgradeToWebSocket(const ServerAddress& address, std::string* error);
  void TakePayload(const char* data, std::size_t len);
  void CompleteMessage();
  int fd_ = -1;
  std::string in_;
  bool StartTls(const ServerAddress& address, std::string* error);

  SSL* ssl_ = nullptr;  // set once TLS is up; then all I/O goes through it
  bool websocket_ = false;
  uint64_t frames_sent_ = 0;       // WebSocket: each frame's mask key derives from it
  std::string frame_header_;       // a WebSocket frame header read in part
  std::size_t frame_left_ = 0;     // payload bytes of the current frame still to come
  bool frame_is_control_ = false;  // ping/pong/close payloads are not protocol bytes
  std::size_t skip_ = 0;           // payload bytes (+CRLF) still to pass over
  uint64_t messages_ = 0;
  uint64_t pongs_ = 0;
  bool info_seen_ = false;
  bool closed_ = false;
  std::string last_reply_;
  std::string pending_reply_;
  void (*on_message_)(BenchConnection*, std::string_view, void*) = nullptr;
  void* on_message_arg_ = nullptr;
  bool capture_ = false;
  std::size_t read_limit_ = 0;
  std::string payload_;
  std::string last_payload_;
  uint64_t error_replies_ = 0;
  std::string error_;
};

}  // namespace tern::bench
