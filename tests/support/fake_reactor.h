#pragma once
// FakeReactor: an io::Reactor with no kernel under it, for tests that step shards by hand
// (tests/support/shard_harness.h). What a test "receives" on a connection reaches the
// handler at the next Poll; what the shard sends is kept per connection for the test to
// read. Poll never sleeps: it records the timeout it was given. Ownership: the one thread
// that steps the shard and plays the peers.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/reactor.h"

namespace tern::testing {

class FakeReactor final : public io::Reactor {
 public:
  static constexpr std::size_t kReadChunk = 32 * 1024;  // bytes per OnData, as a receive buffer

  explicit FakeReactor(io::ReactorHandler* handler) : handler_(handler) {}
  ~FakeReactor() override;

  // --- The peers' side ---
  // Listener `listener` accepted `fd` (an fd the test opened; the handler owns it from
  // here on).
  void Accept(int fd, uint32_t listener = 0) { accepts_.emplace_back(fd, listener); }
  // Is `fd` adopted here and not yet closed?
  bool Has(int fd) const;
  // The peer wrote `bytes`: OnData at the next Poll, unless the shard paused reading.
  void Receive(int fd, std::string_view bytes);
  // The peer closed its end: OnRecvEnd(0) once its bytes are read.
  void Hangup(int fd);
  // How much one send may write, per Poll: a slow reader. 0 = the peer stopped reading
  // (sends stay in flight); SIZE_MAX (the default) = everything at once.
  void LimitSends(int fd, std::size_t bytes_per_poll);
  // The bytes the shard wrote to `fd` since the last call.
  std::string TakeOutput(int fd);
  bool closed(int fd) const;  // the shard closed it (Close, then released)
  bool paused(int fd) const;  // the shard stopped reading it (back-pressure)
  bool Pending() const;       // is anything waiting for the next Poll?
  int64_t last_timeout() const { return last_timeout_; }
  // How many callbacks the last Poll made: the handler has work from them if not 0.
  int last_dispatched() const { return dispatched_; }

  // --- io::Reactor ---
  const char* name() const override { return "fake"; }
  bool Listen(int, uint32_t, std::string*) override { return true; }
  void StopListening() override {}
  void ResumeAccept() override {}
  io::IoConn* Adopt(int fd, void* user) override;
  void Send(io::IoConn* conn) override { conn->send_in_flight = true; }
  void PauseRecv(io::IoConn* conn) override { conn->recv_paused = true; }
  void ResumeRecv(io::IoConn* conn) override { conn->recv_paused = false; }
  void Close(io::IoConn* conn) override;
  void SyncData(int, uint64_t token) override { synced_.push_back(token); }
  void Poll(int64_t timeout_ns) override;
  void Wake() override {}

 private:
  struct Peer {
    io::IoConn* conn = nullptr;  // null once released
    std::string inbound;         // written by the peer, not yet read by the shard
    std::string output;          // written by the shard, not yet taken by the test
    std::size_t send_limit = SIZE_MAX;
    bool hangup = false;  // the peer closed; OnRecvEnd once inbound is empty
    bool closed = false;  // the shard closed it
  };
  Peer* Find(int fd);
  const Peer* Find(int fd) const;
  void CompleteSend(Peer& peer);

  io::ReactorHandler* handler_;
  std::map<int, Peer> peers_;  // by fd; kept after release so the test can read what was sent
  std::vector<std::pair<int, uint32_t>> accepts_;  // (fd, listener)
  std::vector<uint64_t> synced_;
  std::vector<io::IoConn*> released_;
  int64_t last_timeout_ = 0;
  int dispatched_ = 0;
};

}  // namespace tern::testing
