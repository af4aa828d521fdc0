// Wire-level behaviour over raw sockets: errors, limits, slow consumers, liveness, and a
// transcript-by-transcript comparison with nats-server.
#include <gtest/gtest.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace tern::e2e {
namespace {

const std::string kConnect = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n";

TEST(Protocol, GarbageGetsUnknownOperationAndOthersKeepWorking) {
  auto server = ServerProcess::Start();
  auto healthy = Connect(*server);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, healthy->nc, "still.here"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(healthy->nc), NATS_OK);
  for (const std::string& junk : {std::string("\x00\x01\x02 garbage\r\n", 14),
                                  std::string("GET / HTTP/1.1\r\n\r\n"), std::string("\r\n")}) {
    RawConn raw(server->port());
    raw.Send(junk);
    EXPECT_EQ(raw.ReadUntil("never"), "-ERR 'Unknown Protocol Operation'\r\n");
    EXPECT_TRUE(raw.closed());
  }
  ASSERT_EQ(natsConnection_PublishString(healthy->nc, "still.here", "yes"), NATS_OK);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 2000), NATS_OK);
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(sub);
}

TEST(Protocol, OversizedPayloadAndControlLine) {
  auto server = ServerProcess::Start({"-c", WriteConfig("max_payload: 1KB\n")});
  RawConn raw(server->port());
  EXPECT_NE(raw.info().find("\"max_payload\":1024"), std::string::npos) << raw.info();
  raw.Send(kConnect + "PUB a 1025\r\n");
  EXPECT_EQ(raw.ReadUntil("never"), "-ERR 'Maximum Payload Violation'\r\n");
  EXPECT_TRUE(raw.closed());

  RawConn ok(server->port());
  ok.Send(kConnect + "SUB a 1\r\nPUB a 1024\r\n" + std::string(1024, 'p') + "\r\nPING\r\n");
  const std::string got = ok.ReadUntil("PONG\r\n");
  EXPECT_EQ(got, "MSG a 1 1024\r\n" + std::string(1024, 'p') + "\r\nPONG\r\n");

  RawConn line(server->port());
  line.Send(kConnect + "SUB " + std::string(5000, 's') + " 1\r\n");
  EXPECT_EQ(line.ReadUntil("never"), "-ERR 'maximum control line exceeded'\r\n");
  EXPECT_TRUE(line.closed());
}

TEST(Protocol, SlowConsumerIsCutOffWhileHealthySubscriberKeepsUp) {
  auto server = ServerProcess::Start({"-c", WriteConfig("max_pending: 256KB\n")});
  RawConn slow(server->port(), true, 4096);
  slow.Send(kConnect + "SUB telemetry 1\r\nPING\r\n");
  ASSERT_NE(slow.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
  // From here on the slow subscriber reads nothing.

  auto healthy = Connect(*server);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, healthy->nc, "telemetry"), NATS_OK);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  ASSERT_EQ(natsConnection_Flush(healthy->nc), NATS_OK);

  auto pub = Connect(*server);
  constexpr int kMessages = 20000;
  // The publisher goes in batches of 100 KiB and waits until the healthy subscriber has them
  // all, so the healthy one never holds more than a batch: it keeps up however slowly this
  // machine schedules it (sanitizers, shards > cores). The slow one falls 20 MiB behind.
  constexpr int kBatch = 100;
  const std::string payload(1024, 't');
  int received = 0;
  natsStatus status = NATS_OK;
  for (int sent = 0; sent < kMessages && status == NATS_OK;) {
    for (int i = 0; i < kBatch; ++i, ++sent) {
      ASSERT_EQ(natsConnection_Publish(pub->nc, "telemetry", payload.data(), 1024), NATS_OK);
    }
    natsMsg* msg = nullptr;
    while (received < sent && (status = natsSubscription_NextMsg(&msg, sub, 5000)) == NATS_OK) {
      ++received;
      natsMsg_Destroy(msg);
    }
  }
  EXPECT_EQ(received, kMessages) << natsStatus_GetText(status) << "\n" << server->Log();
  ASSERT_EQ(natsConnection_FlushTimeout(pub->nc, 10000), NATS_OK) << "the publisher was held up";
  natsSubscription_Destroy(sub);

  // The slow connection was closed: draining its socket ends in EOF, short of everything.
  std::string drained = slow.ReadFor(30000);  // returns at EOF
  EXPECT_TRUE(slow.closed()) << server->Log();
  EXPECT_LT(drained.size(), static_cast<std::size_t>(kMessages) * 1024);
  EXPECT_NE(server->Log().find("Slow Consumer Detected"), std::string::npos);
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// A server PING goes out at ping_interval after the connection, not on a coarse tick: over
// connections opened across 100 ms (any tick phase), the median delay past the interval
// is a few milliseconds (nats-server: within ~10 ms).
TEST(Protocol, PingsArriveAtTheirInterval) {
  auto server = ServerProcess::Start({"-c", WriteConfig("ping_interval: \"200ms\"\n")});
  constexpr int kConnections = 8;
  std::vector<std::unique_ptr<RawConn>> conns;
  std::vector<int64_t> opened;
  for (int i = 0; i < kConnections; ++i) {
    opened.push_back(NowMs());
    conns.push_back(std::make_unique<RawConn>(server->port()));
    conns.back()->Send(kConnect);
    usleep(12'000);
  }
  std::vector<int64_t> late;
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_NE(conns[i]->ReadUntil("PING\r\n", 2000).find("PING"), std::string::npos);
    // Reading in order: a later connection's PING may have waited in the socket, so its
    // time is an upper bound; the median is still what the server did.
    late.push_back(NowMs() - opened[i] - 200);
  }
  std::sort(late.begin(), late.end());
  EXPECT_GE(late.front(), -2) << "a PING came before its interval";
  EXPECT_LT(late[kConnections / 2], 30) << "median lateness (ms)";
}

// The first PING always goes out (it measures the round trip); after that a client that
// keeps talking, here with PINGs of its own, is not asked: as nats-server does.
TEST(Protocol, ClientPingsSuppressServerPingsAfterTheFirst) {
  auto server = ServerProcess::Start({"-c", WriteConfig("ping_interval: \"300ms\"\n")});
  RawConn conn(server->port());
  conn.Send(kConnect);
  int server_pings = 0;
  const int64_t start = NowMs();
  while (NowMs() - start < 1500) {
    conn.Send("PING\r\n");
    const std::string got = conn.ReadFor(50);
    for (std::size_t at = got.find("PING"); at != std::string::npos;
         at = got.find("PING", at + 1)) {
      ++server_pings;
      conn.Send("PONG\r\n");
    }
  }
  EXPECT_EQ(server_pings, 1);
  EXPECT_FALSE(conn.closed());
}

TEST(Protocol, StaleConnectionIsClosedAndLiveOneIsNot) {
  auto server =
      ServerProcess::Start({"-c", WriteConfig("ping_interval: \"300ms\"\nping_max: 1\n")});
  RawConn stale(server->port());
  stale.Send(kConnect);
  RawConn live(server->port());
  live.Send(kConnect);
  // The live connection answers every PING for a while and stays.
  for (int i = 0; i < 4; ++i) {
    std::string got = live.ReadUntil("PING\r\n", 2000);
    ASSERT_NE(got.find("PING"), std::string::npos) << "round " << i;
    live.Send("PONG\r\n");
  }
  EXPECT_FALSE(live.closed());
  // The silent one got one PING, then was declared stale.
  EXPECT_EQ(stale.ReadUntil("never", 3000), "PING\r\n-ERR 'Stale Connection'\r\n");
  EXPECT_TRUE(stale.closed());
}

TEST(Protocol, WriteDeadlineCutsAStuckReader) {
  // max_pending is far away, so only the stuck send can decide.
  auto server =
      ServerProcess::Start({"-c", WriteConfig("write_deadline: \"500ms\"\nmax_pending: 1GB\n")});
  RawConn stuck(server->port(), true, 4096);
  stuck.Send(kConnect + "SUB stuck 1\r\nPING\r\n");
  ASSERT_NE(stuck.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
  RawConn pub(server->port());
  const std::string frame = "PUB stuck 4096\r\n" + std::string(4096, 's') + "\r\n";
  std::string burst;
  for (int i = 0; i < 4096; ++i) burst += frame;  // 16 MiB: more than the socket buffers hold
  pub.Send(kConnect + burst + "PING\r\n");
  EXPECT_NE(pub.ReadUntil("PONG\r\n", 10000).find("PONG"), std::string::npos);
  std::string log;
  for (int i = 0; i < 100 && log.find("WriteDeadline") == std::string::npos; ++i) {
    usleep(50000);
    log = server->Log();
  }
  EXPECT_NE(log.find("Slow Consumer Detected: WriteDeadline of 500ms Exceeded"), std::string::npos)
      << log;
  stuck.ReadFor(30000);  // drains what the kernel kept, then EOF
  EXPECT_TRUE(stuck.closed());
  EXPECT_FALSE(pub.closed()) << "the publisher must not pay for the stuck reader";
}

TEST(Protocol, MaximumSubscriptionsIsNotFatal) {
  auto server = ServerProcess::Start({"-c", WriteConfig("max_subscriptions: 2\n")});
  RawConn raw(server->port());
  raw.Send(kConnect + "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPUB b 1\r\nx\r\nPING\r\n");
  EXPECT_EQ(raw.ReadUntil("PONG\r\n"),
            "-ERR 'maximum subscriptions exceeded'\r\nMSG b 2 1\r\nx\r\nPONG\r\n");
  EXPECT_FALSE(raw.closed());
}

TEST(Protocol, MaximumConnections) {
  auto server = ServerProcess::Start({"-c", WriteConfig("max_connections: 2\n")});
  RawConn a(server->port());
  RawConn b(server->port());
  RawConn c(server->port());
  EXPECT_EQ(c.ReadUntil("never"), "-ERR 'maximum connections exceeded'\r\n");
  EXPECT_TRUE(c.closed());
  a.Send(kConnect + "PING\r\n");
  EXPECT_EQ(a.ReadUntil("PONG\r\n"), "PONG\r\n");
}

TEST(Protocol, NoRespondersUsesTheRequestersOwnSid) {
  auto server = ServerProcess::Start();
  RawConn raw(server->port());
  raw.Send(
      "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n"
      "SUB _INBOX.abc.* 7\r\nPUB nobody.home _INBOX.abc.1 2\r\nhi\r\nPING\r\n");
  EXPECT_EQ(raw.ReadUntil("PONG\r\n"),
            "HMSG _INBOX.abc.1 7 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n");
}

TEST(Protocol, HeadersAreStrippedForClientsWithoutHeaderSupport) {
  auto server = ServerProcess::Start();
  RawConn old_client(server->port());
  old_client.Send("CONNECT {\"verbose\":false,\"headers\":false}\r\nSUB h 1\r\nPING\r\n");
  old_client.ReadUntil("PONG\r\n");
  RawConn pub(server->port());
  pub.Send(kConnect + "HPUB h 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPING\r\n");
  pub.ReadUntil("PONG\r\n");
  EXPECT_EQ(old_client.ReadUntil("hi\r\n"), "MSG h 1 2\r\nhi\r\n");
}

// The same transcripts against nats-server and tern-server must produce the same bytes.
TEST(Protocol, TranscriptsMatchNatsServer) {
  const std::string nats_server = NatsServerPath();
  if (nats_server.empty()) {
    // scripts/test.sh installs it and requires this comparison to run.
    if (std::getenv("TERN_REQUIRE_NATS_SERVER") != nullptr) FAIL() << "nats-server not found";
    GTEST_SKIP() << "nats-server is not installed";
  }
  auto reference = ServerProcess::Start({}, nats_server);
  auto tern = ServerProcess::Start();
  const std::string C = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
  const std::string P = "CONNECT {\"verbose\":false,\"pedantic\":true}\r\n";
  const std::string H = kConnect;
  const std::vector<std::string> transcripts = {
      "PUB a 1\r\nx\r\nPING\r\n",
      "CONNECT {}\r\nSUB a 1\r\nPING\r\n",
      C + "FOO bar\r\n",
      C + "sub a 1\r\npub a 2\r\nhi\r\nping\r\n",
      C + "PUB a\r\n",
      C + "PUB a b c 1\r\n",
      C + "PUB a x\r\n",
      C + "PUB a 2\r\nhiXX\r\nPING\r\n",
      C + "SUB a\r\nPING\r\n",
      C + "SUB a..b 1\r\nPING\r\n",
      P + "PUB a.* 1\r\nx\r\nPING\r\n",
      C + "PUB a.* 1\r\nx\r\nPING\r\n",
      C + "UNSUB\r\nPING\r\n",
      C + "UNSUB 1 x\r\nPING\r\n",
      C + "UNSUB 99\r\nPING\r\n",
      C + "PUB a 2000000\r\n",
      C + "HPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
      H + "HPUB a 10 5\r\n",
      H + "SUB a 1\r\nHPUB a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
      C + "SUB " + std::string(5000, 'a') + " 1\r\n",
      "CONNECT {bad\r\nPING\r\n",
      "CONNECT {\"protocol\":2}\r\nPING\r\n",
      "CONNECT {\"no_responders\":true,\"headers\":false}\r\nPING\r\n",
      "CONNECT {\"verbose\":false,\"no_responders\":true,\"headers\":true}\r\nSUB r.* 1\r\n"
      "PUB x r.1 1\r\nz\r\nPING\r\n",
      "CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB x 1\r\nPUB x 1\r\nz\r\nPING\r\n",
      "CONNECT {\"verbose\":true}\r\nSUB x 1\r\nPUB x 1\r\nz\r\nUNSUB 1\r\nPING\r\n",
      C + "MSG a 1 1\r\nx\r\n",
      C + "INFO {}\r\n+OK\r\nPING\r\n",
      C + "-ERR 'x'\r\nPING\r\n",
      C + "SUB a 1\r\nSUB b 1\r\nPUB a 1\r\nx\r\nPUB b 1\r\ny\r\nPING\r\n",
      C + "SUB a 1\r\nUNSUB 1 2\r\nPUB a 1\r\nx\r\nPUB a 1\r\ny\r\nPUB a 1\r\nz\r\nPING\r\n",
      C + "SUB\ta\t 1\r\nPUB\ta\t1\r\nx\r\nPING\r\n",
      C + "PING\n",
      C + "\r\nPING\r\n",
      C + "SUB a q 1\r\nPUB a 1\r\nx\r\nPING\r\n",
      C + "SUB a 1\r\nPUB a 0\r\n\r\nPING\r\n",
      C + "PINGX\r\n",
      H + "SUB a 1\r\nUNSUB 1 0\r\nPUB a 1\r\nx\r\nPING\r\n",
      H + "SUB > 1\r\nPUB a.b 1\r\nx\r\nPING\r\n",
      H + "SUB a.>.b 1\r\nPING\r\n",
      H + "SUB a* 1\r\nPUB a* 1\r\nx\r\nPING\r\n",
      H + " PING\r\n",
      H + "SUB a 1\r\nPUB a 1 \r\nx\r\nPING\r\n",
      // No end of line: bytes that cannot start an operation are refused at once.
      "ZZZ",
      C + "ZZZ",
      C + "PUBX",
      C + "SUB a 1\r\nCONNX",
  };
  for (const std::string& t : transcripts) {
    RawConn want_conn(reference->port());
    RawConn got_conn(tern->port());
    want_conn.Send(t);
    got_conn.Send(t);
    const std::string want = want_conn.ReadUntil("PONG\r\n");
    const std::string got = got_conn.ReadUntil("PONG\r\n");
    EXPECT_EQ(got, want) << "transcript: " << t.substr(0, 120);
    EXPECT_EQ(got_conn.closed(), want_conn.closed()) << "transcript: " << t.substr(0, 120);
  }
}

// With authentication required, nats-server refuses any first byte but CONNECT's as an
// authorization violation, with or without an end of line.
TEST(Protocol, GarbageBeforeConnectWithAuthMatchesNatsServer) {
  const std::string nats_server = NatsServerPath();
  if (nats_server.empty()) {
    if (std::getenv("TERN_REQUIRE_NATS_SERVER") != nullptr) FAIL() << "nats-server not found";
    GTEST_SKIP() << "nats-server is not installed";
  }
  auto reference = ServerProcess::Start({"--auth", "s3cret"}, nats_server);
  auto tern = ServerProcess::Start({"--auth", "s3cret"});
  for (const std::string& t : {std::string("ZZZ"), std::string("FOO\r\n"), std::string("CONNX"),
                               std::string("PING\r\n")}) {
    RawConn want_conn(reference->port());
    RawConn got_conn(tern->port());
    want_conn.Send(t);
    got_conn.Send(t);
    const std::string want = want_conn.ReadUntil("never");
    EXPECT_NE(want, "") << t;
    EXPECT_EQ(got_conn.ReadUntil("never"), want) << "transcript: " << t;
    EXPECT_EQ(got_conn.closed(), want_conn.closed()) << "transcript: " << t;
  }
}

// client_advertise and no_header_support, side by side with nats-server: the INFO a client
// reads, and what a header publish gets when headers are off.
TEST(Protocol, ClientAdvertiseAndNoHeaderSupportMatchNatsServer) {
  const std::string nats_server = NatsServerPath();
  if (nats_server.empty()) {
    if (std::getenv("TERN_REQUIRE_NATS_SERVER") != nullptr) FAIL() << "nats-server not found";
    GTEST_SKIP() << "nats-server is not installed";
  }
  auto info_of = [](const RawConn& conn) {
    const std::string& line = conn.info();
    return nlohmann::json::parse(line.substr(line.find('{'), line.rfind('}') - line.find('{') + 1));
  };
  const std::string conf =
      WriteConfig("client_advertise: \"edge.example.com:5222\"\nno_header_support: true\n");
  auto reference = ServerProcess::Start({"-c", conf}, nats_server);
  auto tern = ServerProcess::Start({"-c", conf});
  RawConn want(reference->port());
  RawConn got(tern->port());
  for (const char* key : {"host", "port", "headers"}) {
    EXPECT_EQ(info_of(got)[key], info_of(want)[key]) << key << " in " << got.info();
  }
  EXPECT_EQ(info_of(got)["host"], "edge.example.com");
  EXPECT_EQ(info_of(got)["port"], 5222);
  EXPECT_EQ(info_of(got)["headers"], false);
  // A client that asks for headers anyway: HPUB is refused as nats-server refuses it.
  const std::string t = kConnect + "SUB a 1\r\nHPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n";
  want.Send(t);
  got.Send(t);
  EXPECT_EQ(got.ReadUntil("PONG\r\n"), want.ReadUntil("PONG\r\n"));
  EXPECT_EQ(got.closed(), want.closed());

  // Without a port, the advertised host comes with the port the server listens on.
  auto host_only = ServerProcess::Start({"--client_advertise", "edge.example.com"});
  RawConn plain(host_only->port());
  EXPECT_EQ(info_of(plain)["host"], "edge.example.com");
  EXPECT_EQ(info_of(plain)["port"], host_only->port());
  EXPECT_EQ(info_of(plain)["headers"], true);
  const auto [code, out] = RunServerOnce("-t --client_advertise edge:99999");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("client_advertise"), std::string::npos) << out;
}

}  // namespace
}  // namespace tern::e2e
