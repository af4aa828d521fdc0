// The route protocol parser: every op nats-server 2.9 sends on a route, RMSG/HMSG with
// and without reply and queue lists, and the same bytes split at every position; its
// leafnode mode (LS+/LS-/LMSG/HMSG without an account).
#include "core/route_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern::core {
namespace {

// Records what the parser handed over, one line per event.
class Recorder final : public RouteHandler {
 public:
  std::vector<std::string> events;
  bool closed = false;

  void OnRouteInfo(std::string_view json) override { Add("INFO " + std::string(json)); }
  void OnRouteConnect(std::string_view json) override { Add("CONNECT " + std::string(json)); }
  void OnRoutePing() override { Add("PING"); }
  void OnRoutePong() override { Add("PONG"); }
  void OnRouteErr(std::string_view text) override { Add("ERR " + std::string(text)); }
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight, std::string_view origin) override {
    Add("SUB " + std::string(account) + "|" + std::string(subject) + "|" + std::string(queue) +
        "|" + std::to_string(weight) + (origin.empty() ? "" : "|" + std::string(origin)));
  }
  void OnRouteUnsub(std::string_view account, std::string_view subject,
                    std::string_view queue) override {
    Add("UNSUB " + std::string(account) + "|" + std::string(subject) + "|" + std::string(queue));
  }
  void OnRouteMsg(const RoutedMsg& m) override {
    Add("MSG " + std::string(m.account) + "|" + std::string(m.subject) + "|" +
        std::string(m.reply) + "|" + std::string(m.queues) + "|" + std::to_string(m.header_len) +
        "|" + std::string(m.data) + (m.origin.empty() ? "" : " from " + std::string(m.origin)));
  }
  void OnRouteParseError(std::string_view what) override {
    Add("ERROR " + std::string(what));
    closed = true;
  }
  bool RoutePaused() const override { return closed; }

 private:
  void Add(std::string event) { events.push_back(std::move(event)); }
};

const char kStream[] =
    "INFO {\"server_id\":\"NA\",\"cluster\":\"C1\"} \r\n"
    "CONNECT {\"echo\":true}\r\n"
    "PING\r\npong\r\n+OK\r\n"
    "RS+ $G foo\r\n"
    "RS+ $G foo.* workers 3\r\n"
    "rs- $G foo\r\n"
    "RS- $G foo.* workers\r\n"
    "RMSG $G foo 5\r\nhello\r\n"
    "RMSG $G foo _INBOX.1 5\r\nhello\r\n"
    "RMSG $G foo + _INBOX.2 q1 q2 2\r\nhi\r\n"
    "RMSG $G foo | q1 0\r\n\r\n"
    "HMSG $G foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    "HMSG $G foo | q1 q2 12 12\r\nNATS/1.0\r\n\r\n\r\n"
    "-ERR 'Stale Connection'\r\n";

const std::vector<std::string> kExpected = {
    "INFO {\"server_id\":\"NA\",\"cluster\":\"C1\"} ",
    "CONNECT {\"echo\":true}",
    "PING",
    "PONG",
    "SUB $G|foo||0",
    "SUB $G|foo.*|workers|3",
    "UNSUB $G|foo|",
    "UNSUB $G|foo.*|workers",
    "MSG $G|foo|||0|hello",
    "MSG $G|foo|_INBOX.1||0|hello",
    "MSG $G|foo|_INBOX.2|q1 q2|0|hi",
    "MSG $G|foo||q1|0|",
    "MSG $G|foo|r||12|NATS/1.0\r\n\r\nhi",
    "MSG $G|foo||q1 q2|12|NATS/1.0\r\n\r\n",
    "ERR 'Stale Connection'",
};

TEST(RouteParser, ParsesEveryOpInOneRead) {
  Recorder recorder;
  RouteParser parser;
  parser.Feed(kStream, sizeof kStream - 1, recorder);
  EXPECT_EQ(recorder.events, kExpected);
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(RouteParser, FramesSplitAnywhereGiveTheSameEvents) {
  const std::string stream(kStream, sizeof kStream - 1);
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    Recorder recorder;
    RouteParser parser;
    parser.Feed(stream.data(), cut, recorder);
    parser.Feed(stream.data() + cut, stream.size() - cut, recorder);
    ASSERT_EQ(recorder.events, kExpected) << "split at " << cut;
  }
  // And a byte at a time.
  Recorder recorder;
  RouteParser parser;
  for (char c : stream) parser.Feed(&c, 1, recorder);
  EXPECT_EQ(recorder.events, kExpected);
}

TEST(RouteParser, BadInputIsAnErrorAndStopsParsing) {
  for (const char* bad :
       {"RS+ $G\r\n", "RS+ $G foo q\r\n", "RS+ $G foo q zero\r\n", "RMSG $G foo\r\n",
        "RMSG $G foo x\r\nabc\r\n", "RMSG $G foo 3\r\nabcd\r\n", "HMSG $G foo 5 3\r\nabc\r\n",
        "SUB foo 1\r\n", "XYZ\r\n"}) {
    Recorder recorder;
    RouteParser parser;
    const std::string input = std::string(bad) + "PING\r\n";
    parser.Feed(input.data(), input.size(), recorder);
    ASSERT_FALSE(recorder.events.empty()) << bad;
    EXPECT_EQ(recorder.events.front().rfind("ERROR", 0), 0u) << bad;
    EXPECT_EQ(recorder.events.size(), 1u) << "nothing after the error: " << bad;
  }
}

TEST(RouteParser, AnEndlessLineIsRefused) {
  Recorder recorder;
  RouteParser parser;
  const std::string line(RouteParser::kMaxControlLine + 10, 'a');
  parser.Feed(line.data(), line.size(), recorder);
  ASSERT_EQ(recorder.events.size(), 1u);
  EXPECT_EQ(recorder.events[0], "ERROR Maximum Control Line Exceeded");
}

// Interest and messages from another node's leafnodes, as a 2.9 peer sends them to a route
// that said "lnoc": LS+ with the origin cluster, LS- with none (two spaces), LMSG with the
// origin and always a header length.
TEST(RouteParser, LeafnodeOriginOnARoute) {
  const std::string stream =
      "LS+ SPOKE1 $G baz\r\n"
      "LS+ SPOKE1 $G baz sq 1\r\n"
      "LS-  $G baz\r\n"
      "LS-  $G baz sq\r\n"
      "LMSG SPOKE1 $G foo 0 5\r\nhello\r\n"
      "LMSG SPOKE1 $G foo + rep q1 0 2\r\nhi\r\n"
      "LMSG SPOKE1 $G foo | q1 12 12\r\nNATS/1.0\r\n\r\n\r\n";
  const std::vector<std::string> expected = {
      "SUB $G|baz||0|SPOKE1",
      "SUB $G|baz|sq|1|SPOKE1",
      "UNSUB $G|baz|",
      "UNSUB $G|baz|sq",
      "MSG $G|foo|||0|hello from SPOKE1",
      "MSG $G|foo|rep|q1|0|hi from SPOKE1",
      "MSG $G|foo||q1|12|NATS/1.0\r\n\r\n from SPOKE1",
  };
  for (std::size_t cut = 1; cut <= stream.size(); ++cut) {
    Recorder recorder;
    RouteParser parser;
    parser.Feed(stream.data(), cut, recorder);
    parser.Feed(stream.data() + cut, stream.size() - cut, recorder);
    ASSERT_EQ(recorder.events, expected) << "split at " << cut;
  }
}

// A leafnode link as a nats-server hub writes it: no account anywhere.
const char kLeafStream[] =
    "INFO {\"server_id\":\"NH\",\"info_on_connect\":true} \r\n"
    "LS+ foo\r\n"
    "LS+ foo hq 2\r\n"
    "LS+ $LDS.w25RERLknUM3JQLV44RIUt\r\n"
    "LS- foo\r\n"
    "LS- foo hq\r\n"
    "LMSG foo 5\r\nhello\r\n"
    "LMSG foo _INBOX.1 5\r\nhello\r\n"
    "LMSG baz + rep sq 2\r\nhi\r\n"
    "LMSG foo | hq 0\r\n\r\n"
    "HMSG foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
    "PING\r\n";

const std::vector<std::string> kLeafExpected = {
    "INFO {\"server_id\":\"NH\",\"info_on_connect\":true} ",
    "SUB |foo||0",
    "SUB |foo|hq|2",
    "SUB |$LDS.w25RERLknUM3JQLV44RIUt||0",
    "UNSUB |foo|",
    "UNSUB |foo|hq",
    "MSG |foo|||0|hello",
    "MSG |foo|_INBOX.1||0|hello",
    "MSG |baz|rep|sq|0|hi",
    "MSG |foo||hq|0|",
    "MSG |foo|r||12|NATS/1.0\r\n\r\nhi",
    "PING",
};

TEST(RouteParser, LeafModeParsesEveryOpSplitAnywhere) {
  const std::string stream(kLeafStream, sizeof kLeafStream - 1);
  for (std::size_t cut = 1; cut <= stream.size(); ++cut) {
    Recorder recorder;
    RouteParser parser(/*leaf=*/true);
    parser.Feed(stream.data(), cut, recorder);
    parser.Feed(stream.data() + cut, stream.size() - cut, recorder);
    ASSERT_EQ(recorder.events, kLeafExpected) << "split at " << cut;
  }
}

TEST(RouteParser, LeafModeRefusesRouteOpsAndBadArguments) {
  for (const char* bad :
       {"RS+ $G foo\r\n", "RMSG $G foo 5\r\nhello\r\n", "LS+ foo q\r\n", "LS+ foo q 0\r\n",
        "LS+\r\n", "LS- foo q x\r\n", "LMSG foo\r\n", "LMSG foo x y z 1\r\na\r\n"}) {
    Recorder recorder;
    RouteParser parser(/*leaf=*/true);
    const std::string input = std::string(bad) + "PING\r\n";
    parser.Feed(input.data(), input.size(), recorder);
    ASSERT_EQ(recorder.events.size(), 1u) << bad;
    EXPECT_EQ(recorder.events.front().rfind("ERROR", 0), 0u) << bad;
  }
}

}  // namespace
}  // namespace tern::core
