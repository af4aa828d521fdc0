// Load and fault behaviour a user notices: the server at its file-descriptor limit, and
// many connections at once. Each runs against a real tern-server through libnats and raw
// sockets.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace tern::e2e {
namespace {

// The process's CPU time so far (user + system), in clock ticks.
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

// Starts the server with a soft fd limit (the child inherits it; this process keeps its own).
std::unique_ptr<ServerProcess> StartWithFdLimit(rlim_t limit) {
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit low = saved;
  low.rlim_cur = limit;
  setrlimit(RLIMIT_NOFILE, &low);
  auto server = ServerProcess::Start();
  setrlimit(RLIMIT_NOFILE, &saved);
  return server;
}

bool RoundTrip(natsConnection* nc, natsSubscription* sub, const char* subject) {
  if (natsConnection_PublishString(nc, subject, "ping") != NATS_OK) return false;
  natsMsg* msg = nullptr;
  if (natsSubscription_NextMsg(&msg, sub, 3000) != NATS_OK) return false;
  natsMsg_Destroy(msg);
  return true;
}

// At the fd limit, accept fails: the server logs why and backs off (no busy loop), its
// existing connections keep working, and it accepts again once fds are free.
TEST(Load, AtTheFdLimitNewConnectionsWaitAndExistingOnesWork) {
  auto server = StartWithFdLimit(64);
  auto keeper = Connect(*server);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, keeper->nc, "alive"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(keeper->nc), NATS_OK);

  std::vector<std::unique_ptr<RawConn>> flood;
  for (int i = 0; i < 100; ++i) flood.push_back(std::make_unique<RawConn>(server->port(), false));
  usleep(500'000);  // the server reaches its limit and settles
  const long before = CpuTicks(server->pid());
  usleep(1'000'000);
  const long used = CpuTicks(server->pid()) - before;
  EXPECT_LT(used, 30) << "CPU ticks in one idle second at the fd limit (100 = a whole core)";
  EXPECT_TRUE(RoundTrip(keeper->nc, sub, "alive"));
  EXPECT_NE(server->Log().find("Temporary Accept Error"), std::string::npos) << server->Log();

  flood.clear();  // fds come free: new connections are accepted again
  std::unique_ptr<NatsConn> late;
  natsStatus status = NATS_ERR;
  for (int attempt = 0; attempt < 20 && status != NATS_OK; ++attempt) {
    natsOptions* opts = nullptr;
    natsOptions_Create(&opts);
    natsOptions_SetTimeout(opts, 2000);
    status = TryConnect(*server, opts, &late);
    if (status != NATS_OK) usleep(200'000);
  }
  ASSERT_EQ(status, NATS_OK);
  natsSubscription* late_sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&late_sub, late->nc, "late"), NATS_OK);
  EXPECT_TRUE(RoundTrip(late->nc, late_sub, "late"));
  natsSubscription_Destroy(late_sub);
  natsSubscription_Destroy(sub);
}

// Ten thousand client connections, dealt across the shards, each subscribing to one of a
// hundred subjects; one publish per subject reaches every one of them exactly once, and
// the server keeps answering. The test raises its own fd limit (and the server's, which
// inherits it) as far as the hard limit allows.
// After traffic across every shard (subscribers and publishers dealt to all of them, a
// queue group, messages crossing shards both ways), a server with nothing to do uses no CPU:
// no shard keeps turning because a peer's ring or its own outbox still looks busy.
TEST(Load, AnIdleServerUsesNoCpuAfterCrossShardTraffic) {
  auto server = ServerProcess::Start();
  std::vector<std::unique_ptr<NatsConn>> clients;
  std::vector<natsSubscription*> subs;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(Connect(*server));
    natsSubscription* sub = nullptr;
    ASSERT_EQ(natsConnection_SubscribeSync(&sub, clients.back()->nc, "idle.>"), NATS_OK);
    subs.push_back(sub);
    ASSERT_EQ(natsConnection_QueueSubscribeSync(&sub, clients.back()->nc, "idle.work", "workers"),
              NATS_OK);
    subs.push_back(sub);
    ASSERT_EQ(natsConnection_Flush(clients.back()->nc), NATS_OK);
  }
  for (auto& client : clients) {
    for (int m = 0; m < 200; ++m) {
      ASSERT_EQ(natsConnection_PublishString(client->nc, "idle.work", "x"), NATS_OK);
    }
    ASSERT_EQ(natsConnection_Flush(client->nc), NATS_OK);
  }
  // Every plain subscriber got every message (8 x 200), so the traffic has drained.
  for (std::size_t i = 0; i < subs.size(); i += 2) {
    for (int m = 0; m < 1600; ++m) {
      natsMsg* msg = nullptr;
      ASSERT_EQ(natsSubscription_NextMsg(&msg, subs[i], 5000), NATS_OK) << "subscriber " << i;
      natsMsg_Destroy(msg);
    }
  }
  usleep(300'000);
  const long before = CpuTicks(server->pid());
  usleep(2'000'000);
  const long used = CpuTicks(server->pid()) - before;
  EXPECT_LT(used, 20) << "CPU ticks in two idle seconds (100 = a whole core for one second)";
  for (natsSubscription* sub : subs) natsSubscription_Destroy(sub);
}

TEST(Load, TenThousandConnectionsEachGetTheirMessage) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  const rlimit saved = limit;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  const int connections =
      static_cast<int>(std::min<rlim_t>(10000, limit.rlim_cur > 200 ? limit.rlim_cur - 200 : 0));
  ASSERT_GE(connections, 1000) << "the hard fd limit is too low for this test";
  auto server = ServerProcess::Start();
  constexpr int kSubjects = 100;
  std::vector<std::unique_ptr<RawConn>> subscribers;
  subscribers.reserve(connections);
  for (int i = 0; i < connections; ++i) {
    subscribers.push_back(std::make_unique<RawConn>(server->port()));
    subscribers.back()->Send("CONNECT {\"verbose\":false}\r\nSUB many." +
                             std::to_string(i % kSubjects) + " 1\r\nPING\r\n");
  }
  // Every PONG: every subscription is known to every shard.
  for (int i = 0; i < connections; ++i) {
    ASSERT_NE(subscribers[i]->ReadUntil("PONG\r\n", 10000).find("PONG"), std::string::npos) << i;
  }
  auto publisher = Connect(*server);
  for (int k = 0; k < kSubjects; ++k) {
    const std::string subject = "many." + std::to_string(k);
    ASSERT_EQ(natsConnection_PublishString(publisher->nc, subject.c_str(), subject.c_str()),
              NATS_OK);
  }
  ASSERT_EQ(natsConnection_Flush(publisher->nc), NATS_OK);
  int missing = 0;
  for (int i = 0; i < connections; ++i) {
    const std::string subject = "many." + std::to_string(i % kSubjects);
    const std::string want =
        "MSG " + subject + " 1 " + std::to_string(subject.size()) + "\r\n" + subject + "\r\n";
    if (subscribers[i]->ReadUntil(want, 10000).find(want) == std::string::npos) ++missing;
  }
  EXPECT_EQ(missing, 0) << "of " << connections << " subscribers";
  subscribers.clear();
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, publisher->nc, "after"), NATS_OK);
  EXPECT_TRUE(RoundTrip(publisher->nc, sub, "after"));
  natsSubscription_Destroy(sub);
  setrlimit(RLIMIT_NOFILE, &saved);
}

}  // namespace
}  // namespace tern::e2e
