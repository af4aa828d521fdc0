#pragma once
// ProtocolParser: the client-to-server half of the NATS text protocol as a zero-copy
// frame splitter. Frames are handed to the handler as views into the caller's buffer;
// only a frame split across two reads is copied (into pending_). Ownership: one
// connection, hence one shard.
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core {

struct PubFrame {
  std::string_view subject;
  std::string_view reply;      // empty if none
  std::size_t header_len = 0;  // HPUB: bytes of the header block at the start of data
  std::string_view data;       // header block + payload
  bool hpub = false;
};

enum class ParseError {
  kUnknownOp,     // -ERR 'Unknown Protocol Operation', close
  kControlLine,   // -ERR 'maximum control line exceeded', close
  kMaxPayload,    // -ERR 'Maximum Payload Violation', close
  kBadArguments,  // malformed arguments: close without -ERR, as nats-server does
  kClientError,   // the client sent -ERR: close
};

// Each callback returns false to stop parsing (the connection is going away).
class ParserHandler {
 public:
  virtual ~ParserHandler() = default;
  virtual bool OnConnect(std::string_view json) = 0;
  virtual bool OnPub(const PubFrame& frame) = 0;
  virtual bool OnSub(std::string_view subject, std::string_view queue, std::string_view sid) = 0;
  // max < 0: no limit given, or an unparsable one (nats-server then unsubscribes at once).
  virtual bool OnUnsub(std::string_view sid, int64_t max, bool max_given) = 0;
  virtual bool OnPing() = 0;
  virtual bool OnPong() = 0;
  virtual void OnParseError(ParseError error, std::string_view detail) = 0;
  // Back-pressure: when true, Feed() with a `consumed` pointer stops between frames.
  virtual bool Paused() const { return false; }
};

class ProtocolParser {
 public:
  struct Limits {
    std::size_t max_control_line = 4096;
    int64_t max_payload = 1 << 20;
  };
  explicit ProtocolParser(Limits limits) : limits_(limits) {}

  void set_limits(Limits limits) { limits_ = limits; }

  // Parses as many complete frames as data holds. Returns false once the connection must
  // close (after OnParseError or a handler returning false); the parser is then unusable.
  // With `consumed`, stops early when the handler is Paused() and reports how many bytes
  // it took (the caller keeps the rest).
  bool Feed(const char* data, std::size_t len, ParserHandler& handler,
            std::size_t* consumed = nullptr);

  // Bytes held for a frame that has not fully arrived.
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  enum class Step { kDone, kNeedMore, kStop };
  // Parses one frame at the start of [p, p+n). kDone sets *used; kNeedMore sets *need
  // to the whole frame's size when known (0 when the control line is incomplete).
  Step ParseFrame(const char* p, std::size_t n, ParserHandler& handler, std::size_t* used,
                  std::size_t* need);
  Step ParsePub(std::string_view args, bool hpub, const char* body, std::size_t body_avail,
                std::size_t line_len, ParserHandler& handler, std::size_t* used, std::size_t* need);
  // The rest of a PUB/HPUB once its arguments are read: limits, the body, the handler.
  Step FinishPub(PubFrame& frame, int64_t total_len, int64_t header_len, std::string_view args,
                 const char* body, std::size_t body_avail, std::size_t line_len,
                 ParserHandler& handler, std::size_t* used, std::size_t* need);
  bool FeedPending(const char* data, std::size_t len, std::size_t* used, ParserHandler& handler);

  Limits limits_;
  std::string pending_;
  std::size_t pending_need_ = 0;
};

// Parses a non-negative decimal of at most 9 digits like nats-server; -1 if invalid.
int64_t ParseSize(std::string_view text);

}  // namespace tern::core
