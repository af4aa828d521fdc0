// The protocol parser: every frame type, split at every byte boundary, and bad input.
#include "core/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern::core {
namespace {

// Records every callback as a line of text.
class Recorder : public ParserHandler {
 public:
  std::vector<std::string> events;
  bool OnConnect(std::string_view json) override {
    events.push_back("CONNECT " + std::string(json));
    return true;
  }
  bool OnPub(const PubFrame& f) override {
    events.push_back(std::string(f.hpub ? "HPUB " : "PUB ") + std::string(f.subject) + "|" +
                     std::string(f.reply) + "|" + std::to_string(f.header_len) + "|" +
                     std::string(f.data));
    return true;
  }
  bool OnSub(std::string_view s, std::string_view q, std::string_view sid) override {
    events.push_back("SUB " + std::string(s) + "|" + std::string(q) + "|" + std::string(sid));
    return true;
  }
  bool OnUnsub(std::string_view sid, int64_t max, bool given) override {
    events.push_back("UNSUB " + std::string(sid) + "|" + std::to_string(max) + "|" +
                     std::to_string(given));
    return true;
  }
  bool OnPing() override {
    events.push_back("PING");
    return true;
  }
  bool OnPong() override {
    events.push_back("PONG");
    return true;
  }
  void OnParseError(ParseError e, std::string_view) override {
    events.push_back("ERROR " + std::to_string(static_cast<int>(e)));
  }
};

const std::string kStream =
    "CONNECT {\"verbose\":false}\r\n"
    "PUB foo 5\r\nhello\r\n"
    "pub foo.bar reply.1 0\r\n\r\n"
    "HPUB h.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    "HPUB h.y r 19 22\r\nNATS/1.0\r\nA: bc\r\n\r\nxyz\r\n"
    "SUB foo 1\r\n"
    "SUB\tbar.*  q  22\r\n"
    "UNSUB 1\r\n"
    "UNSUB 22 5\r\n"
    "PING\r\nPONG\r\n"
    "INFO {}\r\n+OK\r\n"
    "PUB big 10\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

const std::vector<std::string> kExpected = {
    "CONNECT {\"verbose\":false}",
    "PUB foo||0|hello",
    "PUB foo.bar|reply.1|0|",
    "HPUB h.x||12|NATS/1.0\r\n\r\nhi",
    "HPUB h.y|r|19|NATS/1.0\r\nA: bc\r\n\r\nxyz",
    "SUB foo||1",
    "SUB bar.*|q|22",
    "UNSUB 1|-1|0",
    "UNSUB 22|5|1",
    "PING",
    "PONG",
    "PUB big||0|\r\n\r\n\r\n\r\n\r\n",
};

TEST(Parser, WholeStreamInOneRead) {
  ProtocolParser parser({});
  Recorder r;
  ASSERT_TRUE(parser.Feed(kStream.data(), kStream.size(), r));
  EXPECT_EQ(r.events, kExpected);
  EXPECT_EQ(parser.pending_bytes(), 0u);
}

TEST(Parser, EverySplitPointInTwoReads) {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    ProtocolParser parser({});
    Recorder r;
    ASSERT_TRUE(parser.Feed(kStream.data(), cut, r)) << cut;
    ASSERT_TRUE(parser.Feed(kStream.data() + cut, kStream.size() - cut, r)) << cut;
    EXPECT_EQ(r.events, kExpected) << "split at byte " << cut;
  }
}

TEST(Parser, OneByteAtATime) {
  ProtocolParser parser({});
  Recorder r;
  for (char c : kStream) ASSERT_TRUE(parser.Feed(&c, 1, r));
  EXPECT_EQ(r.events, kExpected);
}

std::vector<std::string> ParseAll(const std::string& input, ProtocolParser::Limits limits = {}) {
  ProtocolParser parser(limits);
  Recorder r;
  parser.Feed(input.data(), input.size(), r);
  return r.events;
}

std::string Err(ParseError e) { return "ERROR " + std::to_string(static_cast<int>(e)); }

TEST(Parser, UnknownOperations) {
  EXPECT_EQ(ParseAll("FOO bar\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
  EXPECT_EQ(ParseAll("\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
  EXPECT_EQ(ParseAll(" PING\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
  EXPECT_EQ(ParseAll("MSG a 1 1\r\nx\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
  EXPECT_EQ(ParseAll("UNSUB\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
  EXPECT_EQ(ParseAll("PUB\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
}

// Bytes that cannot begin any operation are refused before their line ends; bytes that
// still can wait for more (nats-server reads byte by byte and does the same).
TEST(Parser, UnknownOperationWithoutNewlineIsRefusedAtOnce) {
  for (const char* junk : {"ZZZ", "PUBX", "SUBX", "PIX", "CONNX", "HPUB-", "-ERRX", " ", "\r"}) {
    EXPECT_EQ(ParseAll(junk), std::vector<std::string>{Err(ParseError::kUnknownOp)}) << junk;
  }
  for (const char* partial : {"P", "pu", "PUB", "PUB foo", "HPU", "SUB a", "UNSU", "PINGXYZ",
                              "CONNECT {", "+O", "-ERR 'x", "i", "INFO"}) {
    EXPECT_TRUE(ParseAll(partial).empty()) << partial;
  }
}

TEST(Parser, StopsAtTheFirstError) {
  EXPECT_EQ(ParseAll("PING\r\nXX\r\nPING\r\n"),
            (std::vector<std::string>{"PING", Err(ParseError::kUnknownOp)}));
}

TEST(Parser, BadArgumentsCloseSilently) {
  for (const char* bad :
       {"PUB a\r\n", "PUB a b c 1\r\n", "PUB a x\r\n", "PUB a -1\r\n", "PUB a 99999999999999\r\n",
        "SUB a\r\n", "SUB a b c d\r\n", "UNSUB 1 2 3\r\n", "HPUB a 10 5\r\n", "HPUB a 10\r\n"}) {
    EXPECT_EQ(ParseAll(bad), std::vector<std::string>{Err(ParseError::kBadArguments)}) << bad;
  }
}

// A plain PUB line takes a fast path; every other spelling the general one. Both must read
// a line the same way: subjects that fill whole 8-byte words or not, tabs, runs of spaces,
// spaces at either end.
TEST(Parser, PubSpellingsReadAlikeOnEitherPath) {
  const std::pair<const char*, const char*> cases[] = {
      {"PUB abcdefgh 1\r\nx\r\n", "PUB abcdefgh||0|x"},
      {"PUB abcdefghijklmnop inbox.abcdefgh.12345678 2\r\nxy\r\n",
       "PUB abcdefghijklmnop|inbox.abcdefgh.12345678|0|xy"},
      {"PUB a\tr 1\r\nx\r\n", "PUB a|r|0|x"},
      {"PUB a  r   1\r\nx\r\n", "PUB a|r|0|x"},
      {"PUB a 1 \r\nx\r\n", "PUB a||0|x"},
      {"PUB  a 1\r\nx\r\n", "PUB a||0|x"},
      {"PUB a.b.c.d.e.f.g.h.i\t1\r\nx\r\n", "PUB a.b.c.d.e.f.g.h.i||0|x"},
      {"PUB a.b.c.d.e.f.g.h.i 000000001\r\nx\r\n", "PUB a.b.c.d.e.f.g.h.i||0|x"},
  };
  for (const auto& [line, want] : cases) {
    EXPECT_EQ(ParseAll(line), std::vector<std::string>{want}) << line;
  }
  for (const char* bad : {"PUB a 1234567890\r\n", "PUB a b c 1\r\n", "PUB a +1\r\n", "PUB 1\r\n"}) {
    EXPECT_EQ(ParseAll(bad), std::vector<std::string>{Err(ParseError::kBadArguments)}) << bad;
  }
  ProtocolParser::Limits limits;
  limits.max_control_line = 64;
  EXPECT_EQ(ParseAll("PUB " + std::string(100, 'a') + " 1\r\nx\r\n", limits),
            std::vector<std::string>{Err(ParseError::kControlLine)});
}

TEST(Parser, PayloadMustEndWithCrlf) {
  EXPECT_EQ(ParseAll("PUB a 2\r\nhiXX\r\n"), std::vector<std::string>{Err(ParseError::kUnknownOp)});
}

TEST(Parser, MaxPayload) {
  ProtocolParser::Limits limits;
  limits.max_payload = 10;
  EXPECT_EQ(ParseAll("PUB a 11\r\n", limits),
            std::vector<std::string>{Err(ParseError::kMaxPayload)});
  EXPECT_EQ(ParseAll("HPUB a 5 11\r\n", limits),
            std::vector<std::string>{Err(ParseError::kMaxPayload)});
  EXPECT_EQ(ParseAll("PUB a 10\r\n0123456789\r\n", limits),
            std::vector<std::string>{"PUB a||0|0123456789"});
}

TEST(Parser, MaxControlLine) {
  ProtocolParser::Limits limits;
  limits.max_control_line = 64;
  const std::string long_subject(100, 'a');
  EXPECT_EQ(ParseAll("SUB " + long_subject + " 1\r\n", limits),
            std::vector<std::string>{Err(ParseError::kControlLine)});
  // No newline at all: detected without waiting forever.
  EXPECT_EQ(ParseAll("PUB " + std::string(200, 'a'), limits),
            std::vector<std::string>{Err(ParseError::kControlLine)});
}

TEST(Parser, PingVariantsAndLfOnly) {
  EXPECT_EQ(ParseAll("ping\nPINGX\r\npong\r\n"),
            (std::vector<std::string>{"PING", "PING", "PONG"}));
}

TEST(Parser, LargePayloadAcrossManyReads) {
  const std::string payload(1 << 20, 'z');
  const std::string frame = "PUB big 1048576\r\n" + payload + "\r\nPING\r\n";
  ProtocolParser parser({});
  Recorder r;
  for (std::size_t off = 0; off < frame.size(); off += 16384) {
    ASSERT_TRUE(
        parser.Feed(frame.data() + off, std::min<std::size_t>(16384, frame.size() - off), r));
  }
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], "PUB big||0|" + payload);
  EXPECT_EQ(r.events[1], "PING");
}

TEST(Parser, ParseSize) {
  EXPECT_EQ(ParseSize("0"), 0);
  EXPECT_EQ(ParseSize("123456789"), 123456789);
  EXPECT_EQ(ParseSize("1234567890"), -1);
  EXPECT_EQ(ParseSize(""), -1);
  EXPECT_EQ(ParseSize("12a"), -1);
}

}  // namespace
}  // namespace tern::core
