// Publish/subscribe behaviour through libnats against a real tern-server. Consecutive
// connections are dealt to different shards, so every test with several connections
// crosses shards whenever the server runs more than one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace tern::e2e {
namespace {

class PubSub : public ::testing::Test {
 protected:
  void SetUp() override { server_ = ServerProcess::Start(); }

  natsSubscription* SubSync(natsConnection* nc, const char* subject, const char* queue = nullptr) {
    natsSubscription* sub = nullptr;
    natsStatus s = queue ? natsConnection_QueueSubscribeSync(&sub, nc, subject, queue)
                         : natsConnection_SubscribeSync(&sub, nc, subject);
    EXPECT_EQ(s, NATS_OK);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    subs_.push_back(sub);
    return sub;
  }

  // Receives until timeout; returns the payloads.
  std::vector<std::string> Drain(natsSubscription* sub, int timeout_ms = 300,
                                 std::size_t max = SIZE_MAX) {
    std::vector<std::string> out;
    natsMsg* msg = nullptr;
    while (out.size() < max && natsSubscription_NextMsg(&msg, sub, timeout_ms) == NATS_OK) {
      out.push_back(Payload(msg));
      natsMsg_Destroy(msg);
    }
    return out;
  }

  void TearDown() override {
    for (natsSubscription* s : subs_) natsSubscription_Destroy(s);
  }

  std::unique_ptr<ServerProcess> server_;
  std::vector<natsSubscription*> subs_;
};

TEST_F(PubSub, PublishReachesSubscriberOnAnotherConnection) {
  auto sub_conn = Connect(*server_);
  auto pub_conn = Connect(*server_);
  natsSubscription* sub = SubSync(sub_conn->nc, "greet.alice");
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(pub_conn->nc, "greet.alice", "hello"), NATS_OK);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 2000), NATS_OK);
  EXPECT_EQ(Payload(msg), "hello");
  EXPECT_STREQ(natsMsg_GetSubject(msg), "greet.alice");
  natsMsg_Destroy(msg);
}

TEST_F(PubSub, WildcardsMatchExactlyWhatTheyShould) {
  std::vector<std::unique_ptr<NatsConn>> conns;
  const std::vector<std::string> patterns = {"a.b.c", "a.*.c", "a.>", "*.b.*", ">", "a.b"};
  std::map<std::string, natsSubscription*> subs;
  for (const auto& p : patterns) {
    conns.push_back(Connect(*server_));
    subs[p] = SubSync(conns.back()->nc, p.c_str());
    ASSERT_EQ(natsConnection_Flush(conns.back()->nc), NATS_OK);
  }
  auto pub = Connect(*server_);
  for (const char* subject : {"a.b.c", "a.x.c", "a.b", "a", "q.b.r", "a.b.c.d"}) {
    ASSERT_EQ(natsConnection_PublishString(pub->nc, subject, subject), NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
  std::map<std::string, std::set<std::string>> expected = {
      {"a.b.c", {"a.b.c"}},
      {"a.*.c", {"a.b.c", "a.x.c"}},
      {"a.>", {"a.b.c", "a.x.c", "a.b", "a.b.c.d"}},
      {"*.b.*", {"a.b.c", "q.b.r"}},
      {">", {"a.b.c", "a.x.c", "a.b", "a", "q.b.r", "a.b.c.d"}},
      {"a.b", {"a.b"}},
  };
  for (const auto& [pattern, want] : expected) {
    auto got = Drain(subs[pattern]);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want) << pattern;
    EXPECT_EQ(got.size(), want.size()) << pattern << ": duplicates";
  }
}

TEST_F(PubSub, QueueGroupDeliversEachMessageToExactlyOneMember) {
  constexpr int kMembers = 4;
  constexpr int kMessages = 2000;
  std::vector<std::unique_ptr<NatsConn>> conns;
  std::vector<natsSubscription*> members;
  for (int i = 0; i < kMembers; ++i) {
    conns.push_back(Connect(*server_));
    members.push_back(SubSync(conns.back()->nc, "work.items", "workers"));
    ASSERT_EQ(natsConnection_Flush(conns.back()->nc), NATS_OK);
  }
  auto watcher_conn = Connect(*server_);
  natsSubscription* watcher = SubSync(watcher_conn->nc, "work.*");
  ASSERT_EQ(natsConnection_Flush(watcher_conn->nc), NATS_OK);
  auto pub = Connect(*server_);
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(natsConnection_PublishString(pub->nc, "work.items", std::to_string(i).c_str()),
              NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
  std::multiset<std::string> all;
  for (natsSubscription* m : members) {
    auto got = Drain(m);
    EXPECT_GT(got.size(), 0u) << "every member should get a share";
    all.insert(got.begin(), got.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(),
            static_cast<std::size_t>(kMessages))
      << "a message reached two members";
  EXPECT_EQ(Drain(watcher).size(), static_cast<std::size_t>(kMessages))
      << "plain subscribers are independent of the group";
}

TEST_F(PubSub, RequestReplyAndNoResponders) {
  auto service = Connect(*server_);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_Subscribe(
                &sub, service->nc, "svc.echo",
                [](natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
                  const std::string answer = "re:" + Payload(msg);
                  natsConnection_PublishString(nc, natsMsg_GetReply(msg), answer.c_str());
                  natsMsg_Destroy(msg);
                },
                nullptr),
            NATS_OK);
  subs_.push_back(sub);
  ASSERT_EQ(natsConnection_Flush(service->nc), NATS_OK);
  auto client = Connect(*server_);
  for (int i = 0; i < 50; ++i) {
    natsMsg* reply = nullptr;
    const std::string q = "q" + std::to_string(i);
    ASSERT_EQ(natsConnection_RequestString(&reply, client->nc, "svc.echo", q.c_str(), 2000),
              NATS_OK);
    EXPECT_EQ(Payload(reply), "re:" + q);
    natsMsg_Destroy(reply);
  }
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&reply, client->nc, "svc.nobody", "x", 2000),
            NATS_NO_RESPONDERS);
}

TEST_F(PubSub, EchoFalseSkipsOwnSubscriptions) {
  auto quiet = Connect(*server_, /*no_echo=*/true);
  auto other = Connect(*server_);
  natsSubscription* own = SubSync(quiet->nc, "chat");
  natsSubscription* theirs = SubSync(other->nc, "chat");
  ASSERT_EQ(natsConnection_Flush(quiet->nc), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(other->nc), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(quiet->nc, "chat", "from-quiet"), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(other->nc, "chat", "from-other"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(quiet->nc), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(other->nc), NATS_OK);
  EXPECT_EQ(Drain(own), std::vector<std::string>{"from-other"});
  auto got = Drain(theirs);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
            (std::set<std::string>{"from-quiet", "from-other"}));
}

TEST_F(PubSub, AutoUnsubscribeStopsAfterMax) {
  auto sub_conn = Connect(*server_);
  natsSubscription* sub = SubSync(sub_conn->nc, "limited");
  ASSERT_EQ(natsSubscription_AutoUnsubscribe(sub, 3), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  // A raw subscriber watches the same subject to prove the messages were sent.
  RawConn raw(server_->port());
  raw.Send("CONNECT {\"verbose\":false}\r\nSUB limited 9\r\nPING\r\n");
  raw.ReadUntil("PONG\r\n");
  auto pub = Connect(*server_);
  for (int i = 0; i < 10; ++i) natsConnection_PublishString(pub->nc, "limited", "m");
  ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
  EXPECT_EQ(Drain(sub).size(), 3u);
  std::string seen = raw.ReadFor(300);
  std::size_t count = 0;
  for (std::size_t p = 0; (p = seen.find("MSG limited 9", p)) != std::string::npos; ++p) ++count;
  EXPECT_EQ(count, 10u);
}

TEST_F(PubSub, HeadersArriveIntact) {
  auto sub_conn = Connect(*server_);
  natsSubscription* sub = SubSync(sub_conn->nc, "with.headers");
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  auto pub = Connect(*server_);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsMsg_Create(&msg, "with.headers", nullptr, "body", 4), NATS_OK);
  natsMsgHeader_Set(msg, "Trace-Id", "abc-123");
  ASSERT_EQ(natsConnection_PublishMsg(pub->nc, msg), NATS_OK);
  natsMsg_Destroy(msg);
  natsMsg* got = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&got, sub, 2000), NATS_OK);
  const char* value = nullptr;
  const natsStatus hs = natsMsgHeader_Get(got, "Trace-Id", &value);
  ASSERT_EQ(hs, NATS_OK) << natsStatus_GetText(hs) << " payload=" << Payload(got);
  EXPECT_STREQ(value, "abc-123");
  EXPECT_EQ(Payload(got), "body");
  natsMsg_Destroy(got);
}

TEST_F(PubSub, OneMebibytePayloadAcrossConnections) {
  auto sub_conn = Connect(*server_);
  natsSubscription* sub = SubSync(sub_conn->nc, "big");
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  auto pub = Connect(*server_);
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(
        natsConnection_Publish(pub->nc, "big", payload.data(), static_cast<int>(payload.size())),
        NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
  for (int round = 0; round < 3; ++round) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 5000), NATS_OK);
    EXPECT_TRUE(Payload(msg) == payload) << "payload corrupted in round " << round;
    natsMsg_Destroy(msg);
  }
}

TEST_F(PubSub, TenThousandSubscriptions) {
  constexpr int kSubs = 10000;
  // One raw connection holds all subscriptions (libnats would start a thread per async
  // subscription); the messages come from a libnats publisher on another connection.
  RawConn subscriber(server_->port());
  std::string subs = "CONNECT {\"verbose\":false}\r\n";
  for (int i = 0; i < kSubs; ++i) {
    subs += "SUB many." + std::to_string(i) + " " + std::to_string(i) + "\r\n";
  }
  subscriber.Send(subs + "PING\r\n");
  ASSERT_NE(subscriber.ReadUntil("PONG\r\n", 10000).find("PONG"), std::string::npos);
  auto pub = Connect(*server_);
  for (int i = 0; i < kSubs; ++i) {
    natsConnection_PublishString(pub->nc, ("many." + std::to_string(i)).c_str(), "x");
  }
  natsConnection_PublishString(pub->nc, "many.none", "x");  // matches nobody
  ASSERT_EQ(natsConnection_FlushTimeout(pub->nc, 10000), NATS_OK);
  // Order per publisher holds, so the last message arrives last.
  const std::string last =
      "MSG many." + std::to_string(kSubs - 1) + " " + std::to_string(kSubs - 1);
  const std::string got = subscriber.ReadUntil(last + " 1\r\nx\r\n", 30000);
  int messages = 0;
  for (std::size_t p = got.find("MSG "); p != std::string::npos; p = got.find("MSG ", p + 1)) {
    // Each message arrives on its own subscription: "MSG many.<i> <i> 1".
    const std::size_t eol = got.find("\r\n", p);
    const std::string line = got.substr(p, eol - p);
    const std::string index = line.substr(9, line.find(' ', 9) - 9);
    ASSERT_EQ(line, "MSG many." + index + " " + index + " 1");
    ++messages;
  }
  EXPECT_EQ(messages, kSubs);
}

TEST_F(PubSub, FanOutToTwoHundredConnectionsKeepsOrder) {
  constexpr int kConns = 200;
  constexpr int kMessages = 100;
  std::vector<std::unique_ptr<NatsConn>> conns;
  std::vector<natsSubscription*> subs;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(Connect(*server_));
    subs.push_back(SubSync(conns.back()->nc, "fan.out"));
  }
  for (auto& c : conns) ASSERT_EQ(natsConnection_Flush(c->nc), NATS_OK);
  auto pub = Connect(*server_);
  for (int i = 0; i < kMessages; ++i) {
    natsConnection_PublishString(pub->nc, "fan.out", std::to_string(i).c_str());
  }
  ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
  for (int c = 0; c < kConns; ++c) {
    auto got = Drain(subs[c], 2000, kMessages);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kMessages)) << "connection " << c;
    for (int i = 0; i < kMessages; ++i) ASSERT_EQ(got[i], std::to_string(i)) << "connection " << c;
  }
}

TEST_F(PubSub, OrderPerPublisherIsKept) {
  constexpr int kMessages = 20000;
  auto sub_conn = Connect(*server_);
  natsSubscription* sub = SubSync(sub_conn->nc, "ordered.>");
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  auto pub_a = Connect(*server_);
  auto pub_b = Connect(*server_);
  for (int i = 0; i < kMessages; ++i) {
    natsConnection_PublishString(pub_a->nc, "ordered.a", std::to_string(i).c_str());
    natsConnection_PublishString(pub_b->nc, "ordered.b", std::to_string(i).c_str());
  }
  ASSERT_EQ(natsConnection_Flush(pub_a->nc), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(pub_b->nc), NATS_OK);
  int next_a = 0, next_b = 0;
  natsMsg* msg = nullptr;
  while ((next_a < kMessages || next_b < kMessages) &&
         natsSubscription_NextMsg(&msg, sub, 2000) == NATS_OK) {
    const int value = std::stoi(Payload(msg));
    if (std::string(natsMsg_GetSubject(msg)) == "ordered.a") {
      ASSERT_EQ(value, next_a++);
    } else {
      ASSERT_EQ(value, next_b++);
    }
    natsMsg_Destroy(msg);
  }
  EXPECT_EQ(next_a, kMessages);
  EXPECT_EQ(next_b, kMessages);
}

// Clients rely on SUB + PING/PONG (flush) meaning "the server knows": a publish from any
// other connection right after the flush must be delivered.
TEST_F(PubSub, SubscriptionIsVisibleEverywhereAfterFlush) {
  std::vector<std::unique_ptr<NatsConn>> publishers;
  for (int i = 0; i < 4; ++i) publishers.push_back(Connect(*server_));
  auto sub_conn = Connect(*server_);
  for (int round = 0; round < 100; ++round) {
    const std::string subject = "barrier." + std::to_string(round);
    natsSubscription* sub = SubSync(sub_conn->nc, subject.c_str());
    ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
    auto& pub = publishers[round % publishers.size()];
    ASSERT_EQ(natsConnection_PublishString(pub->nc, subject.c_str(), "now"), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(pub->nc), NATS_OK);
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 2000), NATS_OK) << "round " << round;
    natsMsg_Destroy(msg);
    natsSubscription_Unsubscribe(sub);
  }
}

// A queue member that unsubscribes while messages flow, and while the publisher's shard
// still counts it, must not take messages with it: every message reaches exactly one
// member, the one that left (before its UNSUB) or the one that stays.
TEST_F(PubSub, QueueMessagesAreNotLostWhenAMemberLeaves) {
  auto publisher = Connect(*server_);
  constexpr int kMessages = 20000;
  for (int round = 0; round < 5; ++round) {
    const std::string subject = "work." + std::to_string(round);
    RawConn leaves(server_->port());
    leaves.Send("CONNECT {\"verbose\":false}\r\nSUB " + subject + " workers 1\r\nPING\r\n");
    ASSERT_NE(leaves.ReadUntil("PONG\r\n").find("PONG"), std::string::npos);
    auto stays = Connect(*server_);
    natsSubscription* kept = SubSync(stays->nc, subject.c_str(), "workers");
    ASSERT_EQ(natsConnection_Flush(stays->nc), NATS_OK);
    ASSERT_EQ(natsConnection_Flush(publisher->nc), NATS_OK);
    std::thread publish([&] {
      for (int i = 0; i < kMessages; ++i)
        natsConnection_PublishString(publisher->nc, subject.c_str(), "m");
      natsConnection_Flush(publisher->nc);
    });
    usleep(2000);  // messages are flowing to both members
    leaves.Send("UNSUB 1\r\nPING\r\n");
    // Everything the leaving member was sent arrives before the PONG to its PING.
    const std::string got = leaves.ReadUntil("PONG\r\n", 10000);
    publish.join();
    std::size_t left_with = 0;
    for (std::size_t at = got.find("MSG "); at != std::string::npos; at = got.find("MSG ", at + 1))
      ++left_with;
    const std::size_t stayed_with = Drain(kept, 1000, kMessages).size();
    EXPECT_EQ(left_with + stayed_with, static_cast<std::size_t>(kMessages))
        << "round " << round << ": the leaving member got " << left_with;
    EXPECT_TRUE(Drain(kept, 50).empty()) << "round " << round << ": a duplicate";
  }
}

// A subject of hundreds of tokens still reaches wildcard subscribers (nats-server sets no
// token limit), across shards.
TEST_F(PubSub, SubjectsOfManyTokensReachWildcardSubscribers) {
  auto sub_conn = Connect(*server_);
  auto pub_conn = Connect(*server_);
  natsSubscription* all = SubSync(sub_conn->nc, ">");
  natsSubscription* prefixed = SubSync(sub_conn->nc, "t0.*.>");
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  std::string subject = "t0";
  for (int i = 1; i < 600; ++i) subject += ".t" + std::to_string(i);
  ASSERT_EQ(natsConnection_PublishString(pub_conn->nc, subject.c_str(), "deep"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(pub_conn->nc), NATS_OK);
  for (natsSubscription* sub : {all, prefixed}) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 2000), NATS_OK);
    EXPECT_EQ(natsMsg_GetSubject(msg), subject);
    natsMsg_Destroy(msg);
  }
}

}  // namespace
}  // namespace tern::e2e
