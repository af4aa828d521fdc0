#include "core/route_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace tern::core {
namespace {

constexpr std::size_t kNeedMore = SIZE_MAX;
constexpr std::size_t kMaxArgs = 64;

using Args = std::array<std::string_view, kMaxArgs>;

// Splits on spaces and tabs; false if there are more than kMaxArgs.
bool SplitArgs(std::string_view text, Args* args, std::size_t* count) {
  *count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    std::size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (*count == kMaxArgs) return false;
    (*args)[(*count)++] = text.substr(i, end - i);
    i = end;
  }
  return true;
}

bool ParseSize(std::string_view text, std::size_t* out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool Upper(std::string_view word, std::string_view op) {
  if (word.size() != op.size()) return false;
  for (std::size_t i = 0; i < op.size(); ++i) {
    char c = word[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != op[i]) return false;
  }
  return true;
}

// The whole of `args` from a to b (inclusive) as one view of the line.
std::string_view Span(std::string_view first, std::string_view last) {
  return std::string_view(first.data(),
                          static_cast<std::size_t>(last.data() + last.size() - first.data()));
}

}  // namespace

std::size_t RouteParser::Feed(const char* data, std::size_t len, RouteHandler& handler) {
  if (failed_) return len;
  std::size_t offset = 0;
  // A frame split across reads is completed with only the bytes it still needs; the rest
  // of the read is parsed where it lies (copying whole reads would cost a copy of every
  // message at full speed).
  while (!pending_.empty() && offset < len && !failed_) {
    if (handler.RoutePaused()) return offset;
    std::size_t take = len - offset;
    if (pending_frame_ > pending_.size()) {
      take = std::min(take, pending_frame_ - pending_.size());
    } else if (const void* newline = std::memchr(data + offset, '\n', len - offset)) {
      take = static_cast<std::size_t>(static_cast<const char*>(newline) - (data + offset)) + 1;
    }
    pending_.append(data + offset, take);
    offset += take;
    pending_frame_ = 0;
    const std::size_t used = Consume(pending_, handler);
    if (failed_) {
      pending_.clear();
      return len;
    }
    pending_.erase(0, used);
  }
  if (failed_ || offset == len) return len;
  if (handler.RoutePaused()) return offset;
  const std::size_t used = Consume(std::string_view(data + offset, len - offset), handler);
  if (failed_) return len;
  if (handler.RoutePaused()) return offset + used;  // the rest is the caller's to keep
  if (offset + used < len) pending_.assign(data + offset + used, len - offset - used);
  return len;
}

std::size_t RouteParser::Consume(std::string_view input, RouteHandler& handler) {
  std::size_t used = 0;
  while (used < input.size() && !failed_ && !handler.RoutePaused()) {
    const std::string_view rest = input.substr(used);
    const std::size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) {
      if (rest.size() > kMaxControlLine) {
        failed_ = true;
        handler.OnRouteParseError("Maximum Control Line Exceeded");
      }
      break;
    }
    std::string_view line = rest.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t taken = Line(line, rest.substr(newline + 1), handler);
    if (taken == kNeedMore) {
      pending_frame_ = newline + 1 + payload_wanted_;  // the frame's whole length
      break;
    }
    used += newline + 1 + taken;
  }
  return used;
}

std::size_t RouteParser::Line(std::string_view line, std::string_view rest, RouteHandler& handler) {
  const std::size_t space = line.find_first_of(" \t");
  const std::string_view op = line.substr(0, space);
  std::string_view args =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  auto fail = [&](std::string_view what) {
    failed_ = true;
    handler.OnRouteParseError(what);
    return std::size_t{0};
  };
  // On a route, LMSG is a message from a leafnode, with its origin cluster first and
  // always a header length (nats-server's lnoc).
  const bool route_lmsg = !leaf_ && Upper(op, "LMSG");
  if (Upper(op, leaf_ ? "LMSG" : "RMSG") || Upper(op, "HMSG") || route_lmsg) {
    std::size_t taken = 0;
    if (!Msg(args, Upper(op, "HMSG") || route_lmsg, route_lmsg, rest, handler, &taken)) {
      return failed_ ? 0 : kNeedMore;
    }
    return taken;
  }
  if (Upper(op, "PING")) {
    handler.OnRoutePing();
  } else if (Upper(op, "PONG")) {
    handler.OnRoutePong();
  } else if (Upper(op, "LS+") || Upper(op, "LS-") ||
             (!leaf_ && (Upper(op, "RS+") || Upper(op, "RS-")))) {
    Args a;
    std::size_t n = 0;
    const bool sub = op[2] == '+';
    if (!SplitArgs(args, &a, &n)) return fail("too many arguments in " + std::string(op));
    // On a route every line names the account, and an LS+ (interest from a leafnode) first
    // its origin cluster; a leafnode link names neither.
    const bool with_origin = !leaf_ && sub && (op[0] == 'L' || op[0] == 'l');
    const std::size_t first = leaf_ ? 0 : with_origin ? 2 : 1;
    const std::string_view origin = with_origin && n > 0 ? a[0] : std::string_view();
    const std::string_view account = leaf_ || n < first ? std::string_view() : a[first - 1];
    if (n < first + 1) return fail(std::string("wrong number of arguments in ") + std::string(op));
    if (sub && n == first + 1) {
      handler.OnRouteSub(account, a[first], {}, 0, origin);
    } else if (sub && n == first + 3) {
      std::size_t weight = 0;
      if (!ParseSize(a[first + 2], &weight) || weight == 0 || weight > UINT32_MAX) {
        return fail("bad queue weight in " + std::string(op));
      }
      handler.OnRouteSub(account, a[first], a[first + 1], static_cast<uint32_t>(weight), origin);
    } else if (!sub && (n == first + 1 || n == first + 2)) {
      handler.OnRouteUnsub(account, a[first], n == first + 2 ? a[first + 1] : std::string_view());
    } else {
      return fail(std::string("wrong number of arguments in ") + std::string(op));
    }
  } else if (!leaf_ && (Upper(op, "A+") || Upper(op, "A-"))) {
    Args a;
    std::size_t n = 0;
    if (!SplitArgs(args, &a, &n) || n != 1) {
      return fail(std::string("wrong number of arguments in ") + std::string(op));
    }
    handler.OnRouteAccountInterest(a[0], op[1] == '+');
  } else if (Upper(op, "INFO")) {
    handler.OnRouteInfo(args);
  } else if (Upper(op, "CONNECT")) {
    handler.OnRouteConnect(args);
  } else if (Upper(op, "+OK")) {
    // nothing to do
  } else if (Upper(op, "-ERR")) {
    handler.OnRouteErr(args);
  } else if (op.empty() && args.empty()) {
    // a blank line between frames
  } else {
    return fail("Unknown Protocol Operation");
  }
  return 0;
}

bool RouteParser::Msg(std::string_view args, bool with_header, bool with_origin,
                      std::string_view rest, RouteHandler& handler, std::size_t* taken) {
  Args a;
  std::size_t n = 0;
  auto fail = [&](std::string_view what) {
    failed_ = true;
    handler.OnRouteParseError(what);
    return false;
  };
  const std::size_t sizes = with_header ? 2 : 1;
  // Where the subject is: after the origin cluster and the account on a route.
  const std::size_t first = leaf_ ? 0 : with_origin ? 2 : 1;
  if (!SplitArgs(args, &a, &n) || n < first + 1 + sizes) return fail("bad message arguments");
  RoutedMsg msg;
  if (with_origin) msg.origin = a[0];
  if (!leaf_) msg.account = a[first - 1];
  msg.subject = a[first];
  const std::size_t extras = n - sizes - first - 1;  // args between the subject and the sizes
  const std::size_t last = n - sizes - 1;
  if (extras == 1) {
    msg.reply = a[first + 1];
  } else if (extras > 1) {
    // "+ reply q..." or "| q..."
    if (a[first + 1] == "+" && extras >= 3) {
      msg.reply = a[first + 2];
      msg.queues = Span(a[first + 3], a[last]);
    } else if (a[first + 1] == "|") {
      msg.queues = Span(a[first + 2], a[last]);
    } else {
      return fail("bad message arguments");
    }
  }
  std::size_t size = 0;
  if (!ParseSize(a[n - 1], &size) || size > kMaxPayload) return fail("bad RMSG/HMSG size");
  if (with_header) {
    if (!ParseSize(a[n - 2], &msg.header_len) || msg.header_len > size) {
      return fail("bad HMSG header size");
    }
  }
  if (rest.size() < size + 2) {  // the payload has not all arrived
    payload_wanted_ = size + 2;
    return false;
  }
  if (rest[size] != '\r' || rest[size + 1] != '\n') return fail("payload not followed by CRLF");
  msg.data = rest.substr(0, size);
  handler.OnRouteMsg(msg);
  *taken = size + 2;
  return true;
}

}  // namespace tern::core
