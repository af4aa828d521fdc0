#pragma once
// RouteParser: the route protocol as a nats-server 2.9 peer sends it (INFO, CONNECT,
// PING, PONG, +OK, -ERR, RS+, RS-, RMSG, HMSG, and LS+/LS-/LMSG for interest and messages
// from leafnodes, with their origin cluster), frames split anywhere; in leafnode mode the
// same without accounts (LS+, LS-, LMSG, HMSG: a leafnode link is bound to one account). Complete
// frames in one read are handed over in place; only a frame cut by a read boundary is copied.
// Ownership: the route connection that feeds it (shard 0's thread).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::core {

// A routed message as parsed: views into the parser's input, valid during the call.
struct RoutedMsg {
  std::string_view account;  // empty on a leafnode link
  std::string_view subject;
  std::string_view reply;
  std::string_view queues;  // space-separated queue group names; empty = none
  std::string_view origin;  // a route's LMSG: the leafnode cluster it came from
  std::size_t header_len = 0;
  std::string_view data;  // header block, then payload
};

class RouteHandler {
 public:
  virtual void OnRouteInfo(std::string_view json) = 0;
  virtual void OnRouteConnect(std::string_view json) = 0;
  virtual void OnRoutePing() = 0;
  virtual void OnRoutePong() = 0;
  virtual void OnRouteErr(std::string_view text) = 0;
  // RS+ (weight 0 for a plain subscription) and RS-; on a leafnode link LS+ and LS- (no
  // account); on a route LS+ names the leafnode cluster the interest comes from (`origin`).
  virtual void OnRouteSub(std::string_view account, std::string_view subject,
                          std::string_view queue, uint32_t weight, std::string_view origin) = 0;
  virtual void OnRouteUnsub(std::string_view account, std::string_view subject,
                            std::string_view queue) = 0;
  virtual void OnRouteMsg(const RoutedMsg& msg) = 0;
  // A+ / A- (gateways): the peer has interest in the account again / none at all.
  virtual void OnRouteAccountInterest(std::string_view account, bool interest) {
    (void)account, (void)interest;
  }
  // Bad input: the route is closed. `what` says what was wrong.
  virtual void OnRouteParseError(std::string_view what) = 0;
  // The handler closed the route, or holds its input back (a congested subscriber stalled
  // it): stop handing frames over.
  virtual bool RoutePaused() const = 0;

 protected:
  ~RouteHandler() = default;
};

class RouteParser {
 public:
  static constexpr std::size_t kMaxControlLine = 64 * 1024;
  static constexpr std::size_t kMaxPayload = 64u << 20;

  // `leaf`: the leafnode protocol (no account in LS+/LS-/LMSG/HMSG).
  explicit RouteParser(bool leaf = false) : leaf_(leaf) {}

  // Hands over the complete frames in data (and what earlier reads left). Returns the bytes
  // of data taken: all of them (a frame's start is kept) unless the handler paused, when
  // the caller keeps the rest and feeds it again once the route may go on.
  std::size_t Feed(const char* data, std::size_t len, RouteHandler& handler);
  std::size_t buffered() const { return pending_.size(); }

 private:
  // Handles the complete frames at the front of `input`; returns the bytes they took.
  // Sets failed_ on bad input.
  std::size_t Consume(std::string_view input, RouteHandler& handler);
  // One control line (without its CRLF); for RMSG/HMSG `rest` holds what follows it.
  // Returns the bytes of payload (with CRLF) taken from rest, or SIZE_MAX if more input is
  // needed.
  std::size_t Line(std::string_view line, std::string_view rest, RouteHandler& handler);
  bool Msg(std::string_view args, bool with_header, bool with_origin, std::string_view rest,
           RouteHandler& handler, std::size_t* taken);

  std::string pending_;  // the start of a frame split across reads
  // The whole length of that frame once its control line is in (RMSG/HMSG); 0 = unknown.
  std::size_t pending_frame_ = 0;
  std::size_t payload_wanted_ = 0;  // set by Msg when it needs more
  bool failed_ = false;
  bool leaf_;
};

}  // namespace tern::core
