// A connection kind plugged in from outside the shard: the seam the route, leafnode,
// gateway, MQTT and WebSocket connections will use. The test's kind (a line protocol:
// "<subject> <payload>\n" publishes) is registered for a second listener with
// Shard::SetConnectionFactory, accepted there, and talks to its shard through ShardPort
// only; clients on the client port receive what it publishes, on any shard.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>

#include "core/connection.h"
#include "core/shard_port.h"
#include "tests/support/shard_harness.h"

namespace tern::testing {
namespace {

constexpr uint32_t kLineListener = 1;

class LineConnection final : public core::Connection {
 public:
  LineConnection(core::ShardPort* shard, uint64_t id)
      : Connection(core::ConnectionKind::kClient, id), shard_(shard) {}

  void Start(io::IoConn* io, bool) override {
    io_ = io;
    connected_ = true;
  }
  void OnBytes(const char* data, std::size_t len) override {
    pending_.append(data, len);
    for (std::size_t eol; (eol = pending_.find('\n')) != std::string::npos;) {
      const std::string line = pending_.substr(0, eol);
      pending_.erase(0, eol + 1);
      const std::size_t space = line.find(' ');
      if (space == std::string::npos) continue;
      shard_->Publish(this, core::Message{.subject = std::string_view(line).substr(0, space),
                                          .data = std::string_view(line).substr(space + 1),
                                          .account = account_,
                                          .origin = kind_});
      ++published;
    }
  }
  void OnSendDone(int) override {}
  void OnPeerClosed(int) override { Close(core::CloseReason::kClientClosed, false); }
  bool DeliverMessage(const core::Subscription&, const core::Message&) override { return false; }
  void SendNoResponders(std::string_view, std::string_view) override {}
  void Flush() override {}
  void ReleaseHolds(uint64_t) override {}
  bool has_holds() const override { return false; }
  bool StillCongesting(int64_t) override { return false; }
  void Stall() override {}
  void Unstall() override {}
  void OnTimer(int64_t) override {}
  int64_t NextDeadline() const override { return 0; }
  void SendLameDuckInfo() override {}
  void Close(core::CloseReason, bool) override {
    if (closing_) return;
    closing_ = true;
    shard_->ScheduleClose(this);
  }
  bool WantsIoClose() const override { return true; }
  void Reauthorize() override {}
  void DropSubscriptions() override {}
  void RemoveSubscription(const std::string&) override {}
  void Describe(core::ConnInfo* info, bool) const override {
    info->cid = id_;
    info->name = "line";
  }

  int published = 0;

 private:
  core::ShardPort* shard_;
  std::string pending_;
};

class ConnectionKindTest : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Shards, ConnectionKindTest, ::testing::Values(1, 2, 4),
                         [](const auto& info) { return std::to_string(info.param) + "shards"; });

TEST_P(ConnectionKindTest, AKindRegisteredForAListenerPublishesToClients) {
  ShardHarness h(GetParam());
  for (int i = 0; i < h.shard_count(); ++i) {
    h.shard(i).SetConnectionFactory(kLineListener,
                                    [](core::ShardPort* shard, uint64_t id, std::string, int) {
                                      return new LineConnection(shard, id);
                                    });
  }
  const int subscriber = h.Connect();
  h.Send(subscriber, "SUB lines.> 1\r\nPING\r\n");
  h.Settle();
  ASSERT_EQ(h.Read(subscriber), "PONG\r\n");

  const int line = h.Open(kLineListener);
  EXPECT_EQ(h.Read(line), "") << "the line kind sends no INFO: it is not a client";
  h.Send(line, "lines.a hello\nlines.b world\n");
  h.Settle();
  EXPECT_EQ(h.Read(subscriber), "MSG lines.a 1 5\r\nhello\r\nMSG lines.b 1 5\r\nworld\r\n");

  h.Hangup(line);
  h.Settle();
  EXPECT_TRUE(h.Closed(line));
}

TEST(ConnectionKind, ASocketFromAListenerWithoutAKindIsClosed) {
  ShardHarness h(2);
  const int stray = h.Open(7);  // round-robin: the second shard adopts it, or not
  EXPECT_LT(h.ShardOf(stray), 0) << "adopted with no kind to speak for it";
  EXPECT_EQ(fcntl(stray, F_GETFD), -1) << "its socket was left open";
}

}  // namespace
}  // namespace tern::testing
