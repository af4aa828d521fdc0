// Shared by the cluster end-to-end tests (cluster_util.h).
#include "cluster_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <string>

namespace tern::e2e {

using Clock = std::chrono::steady_clock;

// Where test processes (these and tests/go) lock the ports FreePort hands out.
constexpr const char* kPortLockDir = "/tmp/tern-test-ports";

std::unique_ptr<ServerProcess> StartNode(bool nats, const std::string& name,
                                         const std::vector<std::string>& routes,
                                         std::vector<std::string> extra) {
  // Clients listen on 127.0.0.1 only, so the client URLs nodes tell each other are that.
  std::vector<std::string> args = {
      "-a", "127.0.0.1", "--cluster", "nats://127.0.0.1:-1", "--cluster_name", "C1", "-n", name};
  std::string list;
  for (const std::string& route : routes) list += (list.empty() ? "" : ",") + route;
  if (!list.empty()) {
    args.push_back("--routes");
    args.push_back(list);
  }
  for (auto& a : extra) args.push_back(std::move(a));
  if (nats) return ServerProcess::Start(args, NatsServerPath());
  return ServerProcess::Start(args);
}

natsSubscription* SubSync(natsConnection* nc, const char* subject, const char* queue) {
  natsSubscription* sub = nullptr;
  natsStatus s = queue ? natsConnection_QueueSubscribeSync(&sub, nc, subject, queue)
                       : natsConnection_SubscribeSync(&sub, nc, subject);
  EXPECT_EQ(s, NATS_OK);
  natsSubscription_SetPendingLimits(sub, -1, -1);
  return sub;
}

std::vector<std::vector<std::string>> Receive(const std::vector<natsSubscription*>& subs,
                                              std::size_t expected) {
  std::vector<std::vector<std::string>> got(subs.size());
  std::size_t total = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  auto poll = [&](int timeout_ms) {
    bool any = false;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      natsMsg* msg = nullptr;
      while (natsSubscription_NextMsg(&msg, subs[i], timeout_ms) == NATS_OK) {
        got[i].push_back(Payload(msg));
        natsMsg_Destroy(msg);
        ++total;
        any = true;
        timeout_ms = 0;
      }
    }
    return any;
  };
  while (total < expected && Clock::now() < deadline) poll(10);
  poll(200);
  return got;
}

void AwaitRoute(natsConnection* pub_nc, natsConnection* sub_nc) {
  static int probes = 0;
  const std::string subject = "probe." + std::to_string(++probes);
  natsSubscription* probe = SubSync(sub_nc, subject.c_str());
  ASSERT_EQ(natsConnection_Flush(sub_nc), NATS_OK);
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  bool seen = false;
  while (!seen && Clock::now() < deadline) {
    natsConnection_PublishString(pub_nc, subject.c_str(), "p");
    natsConnection_Flush(pub_nc);
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, probe, 100) == NATS_OK) {
      natsMsg_Destroy(msg);
      seen = true;
    }
  }
  natsSubscription_Destroy(probe);
  ASSERT_TRUE(seen) << "the route did not come up";
}

int FreePort() {
  static std::minstd_rand rng(static_cast<unsigned>(getpid()));
  static std::set<int> handed_out;
  mkdir(kPortLockDir, 0777);
  for (;;) {
    const int port = 20000 + static_cast<int>(rng() % 12000);
    if (!handed_out.insert(port).second) continue;  // never the same port twice
    // Test processes run side by side (ctest --parallel, the nats.go tests): a lock file per
    // port, held until this process exits, keeps each port to one of them.
    const std::string lock = std::string(kPortLockDir) + "/" + std::to_string(port);
    const int lock_fd = open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
    if (lock_fd < 0) continue;
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      close(lock_fd);
      continue;
    }
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) return port;  // lock_fd stays open: the port stays ours
    close(lock_fd);
  }
}

}  // namespace tern::e2e
