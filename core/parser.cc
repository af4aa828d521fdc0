#include "core/parser.h"

#include <algorithm>
#include <cstring>

namespace tern::core {
namespace {

constexpr std::size_t kMaxArgs = 5;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

// Case-insensitive: does text start with the upper-case word?
bool StartsWithWord(std::string_view text, std::string_view word) {
  if (text.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (Upper(text[i]) != word[i]) return false;
  }
  return true;
}

// The first space or tab at or after i, or text.size(). Eight bytes at a time: a PUB's
// subject is most of its line, and this search was a tenth of the ingest path.
std::size_t FindSpace(std::string_view text, std::size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  while (i + 8 <= text.size()) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    const uint64_t spaces = word ^ (kOnes * ' '), tabs = word ^ (kOnes * '\t');
    // A zero byte in either marks a separator; the lowest one found is always a true one.
    const uint64_t found = (((spaces - kOnes) & ~spaces) | ((tabs - kOnes) & ~tabs)) & kHighs;
    if (found != 0) return i + static_cast<std::size_t>(__builtin_ctzll(found) >> 3);
    i += 8;
  }
  while (i < text.size() && !IsSpace(text[i])) ++i;
  return i;
}

// Splits on runs of spaces/tabs; returns the count, or kMaxArgs + 1 if there are more.
std::size_t SplitArgs(std::string_view text, std::string_view* args) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    if (i == text.size()) break;
    const std::size_t start = i;
    i = FindSpace(text, i);
    if (count == kMaxArgs) return kMaxArgs + 1;
    args[count++] = text.substr(start, i - start);
  }
  return count;
}

// "subject size" or "subject reply size" with single spaces: the form clients send. Fills
// the frame and size; false for anything else, which the general path parses or refuses
// the same way it always did.
bool SplitPlainPub(std::string_view rest, PubFrame* frame, int64_t* total_len) {
  const std::size_t last = rest.rfind(' ');
  if (last == std::string_view::npos || last == 0) return false;
  *total_len = ParseSize(rest.substr(last + 1));
  if (*total_len < 0) return false;
  const std::string_view head = rest.substr(0, last);
  const std::size_t gap = FindSpace(head, 0);
  if (gap == 0) return false;  // more than one space after the verb
  frame->subject = head.substr(0, gap);
  if (gap < head.size()) {
    frame->reply = head.substr(gap + 1);
    if (frame->reply.empty() || FindSpace(frame->reply, 0) != frame->reply.size()) return false;
  }
  return true;
}

// Could these bytes, which hold no end of line yet, still become an operation? nats-server
// reads byte by byte and refuses the first byte that cannot continue any verb, so a client
// that sends "ZZZ" and waits hears at once that it is wrong.
bool CouldStartFrame(std::string_view text) {
  struct Verb {
    std::string_view word;
    bool needs_space;  // arguments follow after a space or tab; else anything may follow
  };
  static constexpr Verb kVerbs[] = {
      {"PUB", true},   {"HPUB", true},     {"SUB", true},   {"UNSUB", true}, {"PING", false},
      {"PONG", false}, {"CONNECT", false}, {"INFO", false}, {"+OK", false},  {"-ERR", true}};
  for (const Verb& verb : kVerbs) {
    const std::size_t common = std::min(text.size(), verb.word.size());
    if (!StartsWithWord(text.substr(0, common), verb.word.substr(0, common))) continue;
    if (text.size() <= verb.word.size()) return true;
    if (!verb.needs_space || IsSpace(text[verb.word.size()])) return true;
  }
  return false;
}

}  // namespace

int64_t ParseSize(std::string_view text) {
  if (text.empty() || text.size() > 9) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool ProtocolParser::Feed(const char* data, std::size_t len, ParserHandler& handler,
                          std::size_t* consumed) {
  std::size_t pos = 0;
  if (consumed != nullptr) *consumed = len;
  if (!pending_.empty() && !FeedPending(data, len, &pos, handler)) return false;
  while (pos < len && pending_.empty()) {
    if (consumed != nullptr && handler.Paused()) {
      *consumed = pos;
      return true;
    }
    std::size_t used = 0;
    std::size_t need = 0;
    switch (ParseFrame(data + pos, len - pos, handler, &used, &need)) {
      case Step::kStop:
        return false;
      case Step::kDone:
        pos += used;
        break;
      case Step::kNeedMore:
        pending_.assign(data + pos, len - pos);
        pending_need_ = need;
        return true;
    }
  }
  return true;
}

// Grows the split frame in pending_ with just the bytes it needs, then parses it.
bool ProtocolParser::FeedPending(const char* data, std::size_t len, std::size_t* pos,
                                 ParserHandler& handler) {
  while (*pos < len) {
    std::size_t take;
    if (pending_need_ > 0) {
      take = std::min(pending_need_ - pending_.size(), len - *pos);
    } else {
      const void* nl = std::memchr(data + *pos, '\n', len - *pos);
      take = nl ? static_cast<const char*>(nl) - (data + *pos) + 1 : len - *pos;
    }
    pending_.append(data + *pos, take);
    *pos += take;
    std::size_t used = 0;
    std::size_t need = 0;
    const Step step = ParseFrame(pending_.data(), pending_.size(), handler, &used, &need);
    if (step == Step::kStop) return false;
    if (step == Step::kDone) {
      pending_.clear();
      pending_need_ = 0;
      return true;
    }
    pending_need_ = need;
  }
  return true;
}

ProtocolParser::Step ProtocolParser::ParseFrame(const char* p, std::size_t n,
                                                ParserHandler& handler, std::size_t* used,
                                                std::size_t* need) {
  const void* nl_ptr = std::memchr(p, '\n', n);
  if (nl_ptr == nullptr) {
    // The verb plus its argument must fit in max_control_line; allow for the verb.
    if (n > limits_.max_control_line + 16) {
      handler.OnParseError(ParseError::kControlLine, "no end of line");
      return Step::kStop;
    }
    if (!CouldStartFrame(std::string_view(p, n))) {
      handler.OnParseError(ParseError::kUnknownOp,
                           std::string_view(p, std::min<std::size_t>(n, 32)));
      return Step::kStop;
    }
    *need = 0;
    return Step::kNeedMore;
  }
  const std::size_t nl = static_cast<const char*>(nl_ptr) - p;
  std::string_view line(p, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // A plain PUB skips the general verb and argument scan below (it was a third of the
  // ingest path's instructions); anything unusual takes the general path.
  if (line.size() > 4 && line.size() - 4 <= limits_.max_control_line &&
      std::memcmp(line.data(), "PUB ", 4) == 0) {
    PubFrame frame;
    int64_t total_len = 0;
    if (SplitPlainPub(line.substr(4), &frame, &total_len)) {
      return FinishPub(frame, total_len, 0, line.substr(4), p + nl + 1, n - nl - 1, nl + 1, handler,
                       used, need);
    }
  }

  // The verb is the leading run of non-space characters.
  std::size_t verb_len = 0;
  while (verb_len < line.size() && !IsSpace(line[verb_len])) ++verb_len;
  const std::string_view verb = line.substr(0, verb_len);
  std::string_view args = line.substr(verb_len);
  const bool has_args = !args.empty();
  while (!args.empty() && IsSpace(args.front())) args.remove_prefix(1);
  if (args.size() > limits_.max_control_line) {
    handler.OnParseError(ParseError::kControlLine, verb);
    return Step::kStop;
  }
  *used = nl + 1;

  auto is = [&](std::string_view word) {
    return verb.size() == word.size() && StartsWithWord(verb, word);
  };
  // Verbs that take arguments need a space or tab after them, as in nats-server.
  auto needs_args = [&]() {
    handler.OnParseError(ParseError::kUnknownOp, line);
    return Step::kStop;
  };

  if (is("PUB") || is("HPUB")) {
    if (!has_args) return needs_args();
    return ParsePub(args, verb.size() == 4, p + nl + 1, n - nl - 1, nl + 1, handler, used, need);
  }
  if (StartsWithWord(line, "PING")) return handler.OnPing() ? Step::kDone : Step::kStop;
  if (StartsWithWord(line, "PONG")) return handler.OnPong() ? Step::kDone : Step::kStop;
  if (is("SUB")) {
    if (!has_args) return needs_args();
    std::string_view a[kMaxArgs];
    const std::size_t count = SplitArgs(args, a);
    if (count == 2) return handler.OnSub(a[0], {}, a[1]) ? Step::kDone : Step::kStop;
    if (count == 3) return handler.OnSub(a[0], a[1], a[2]) ? Step::kDone : Step::kStop;
    handler.OnParseError(ParseError::kBadArguments, line);
    return Step::kStop;
  }
  if (is("UNSUB")) {
    if (!has_args) return needs_args();
    std::string_view a[kMaxArgs];
    const std::size_t count = SplitArgs(args, a);
    if (count == 1) return handler.OnUnsub(a[0], -1, false) ? Step::kDone : Step::kStop;
    if (count == 2) return handler.OnUnsub(a[0], ParseSize(a[1]), true) ? Step::kDone : Step::kStop;
    handler.OnParseError(ParseError::kBadArguments, line);
    return Step::kStop;
  }
  if (is("CONNECT")) return handler.OnConnect(args) ? Step::kDone : Step::kStop;
  if (is("INFO")) {
    if (!has_args) return needs_args();
    return Step::kDone;  // clients have nothing to tell a server in INFO
  }
  if (StartsWithWord(line, "+OK")) return Step::kDone;
  if (is("-ERR")) {
    handler.OnParseError(ParseError::kClientError, args);
    return Step::kStop;
  }
  handler.OnParseError(ParseError::kUnknownOp, line);
  return Step::kStop;
}

ProtocolParser::Step ProtocolParser::ParsePub(std::string_view args, bool hpub, const char* body,
                                              std::size_t body_avail, std::size_t line_len,
                                              ParserHandler& handler, std::size_t* used,
                                              std::size_t* need) {
  std::string_view a[kMaxArgs];
  const std::size_t count = SplitArgs(args, a);
  PubFrame frame;
  frame.hpub = hpub;
  int64_t header_len = 0;
  int64_t total_len = -1;
  const std::size_t base = hpub ? 3 : 2;
  if (count != base && count != base + 1) {
    handler.OnParseError(ParseError::kBadArguments, args);
    return Step::kStop;
  }
  frame.subject = a[0];
  if (count == base + 1) frame.reply = a[1];
  total_len = ParseSize(a[count - 1]);
  if (hpub) header_len = ParseSize(a[count - 2]);
  return FinishPub(frame, total_len, header_len, args, body, body_avail, line_len, handler, used,
                   need);
}

ProtocolParser::Step ProtocolParser::FinishPub(PubFrame& frame, int64_t total_len,
                                               int64_t header_len, std::string_view args,
                                               const char* body, std::size_t body_avail,
                                               std::size_t line_len, ParserHandler& handler,
                                               std::size_t* used, std::size_t* need) {
  if (total_len < 0 || header_len < 0 || header_len > total_len) {
    handler.OnParseError(ParseError::kBadArguments, args);
    return Step::kStop;
  }
  if (total_len > limits_.max_payload) {
    handler.OnParseError(ParseError::kMaxPayload, args);
    return Step::kStop;
  }
  const std::size_t frame_body = static_cast<std::size_t>(total_len) + 2;
  if (body_avail < frame_body) {
    *need = line_len + frame_body;
    return Step::kNeedMore;
  }
  if (body[total_len] != '\r' || body[total_len + 1] != '\n') {
    handler.OnParseError(ParseError::kUnknownOp, "payload not followed by CRLF");
    return Step::kStop;
  }
  frame.header_len = static_cast<std::size_t>(header_len);
  frame.data = std::string_view(body, static_cast<std::size_t>(total_len));
  *used = line_len + frame_body;
  return handler.OnPub(frame) ? Step::kDone : Step::kStop;
}

}  // namespace tern::core
