// Load and fault behaviour a user notices: the server at its file-descriptor limit, and
// many connections at once. Each runs against a real tern-server through libnats and raw
// sockets.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

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

}  // namespace
}  // namespace tern::e2e
