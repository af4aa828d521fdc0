#include "tests/support/fake_reactor.h"

#include <unistd.h>

#include <algorithm>

namespace tern::testing {

FakeReactor::~FakeReactor() {
  for (auto& [fd, peer] : peers_) {
    if (peer.conn == nullptr) continue;
    close(fd);
    delete peer.conn;
  }
  for (const auto& [fd, listener] : accepts_) close(fd);
}

FakeReactor::Peer* FakeReactor::Find(int fd) {
  auto it = peers_.find(fd);
  return it == peers_.end() ? nullptr : &it->second;
}

const FakeReactor::Peer* FakeReactor::Find(int fd) const {
  auto it = peers_.find(fd);
  return it == peers_.end() ? nullptr : &it->second;
}

bool FakeReactor::Has(int fd) const {
  const Peer* peer = Find(fd);
  return peer != nullptr && !peer->closed;
}

void FakeReactor::Receive(int fd, std::string_view bytes) {
  if (Peer* peer = Find(fd)) peer->inbound.append(bytes);
}

void FakeReactor::Hangup(int fd) {
  if (Peer* peer = Find(fd)) peer->hangup = true;
}

void FakeReactor::LimitSends(int fd, std::size_t bytes_per_poll) {
  if (Peer* peer = Find(fd)) peer->send_limit = bytes_per_poll;
}

std::string FakeReactor::TakeOutput(int fd) {
  Peer* peer = Find(fd);
  if (peer == nullptr) return {};
  std::string out;
  out.swap(peer->output);
  return out;
}

bool FakeReactor::closed(int fd) const {
  const Peer* peer = Find(fd);
  return peer != nullptr && peer->closed;
}

bool FakeReactor::paused(int fd) const {
  const Peer* peer = Find(fd);
  return peer != nullptr && peer->conn != nullptr && peer->conn->recv_paused;
}

bool FakeReactor::Pending() const {
  if (!accepts_.empty() || !synced_.empty() || !released_.empty()) return true;
  for (const auto& [fd, peer] : peers_) {
    const io::IoConn* conn = peer.conn;
    if (conn == nullptr || conn->closing) continue;
    if (conn->send_in_flight && peer.send_limit > 0) return true;
    if (!conn->recv_paused && conn->recv_armed && (!peer.inbound.empty() || peer.hangup))
      return true;
  }
  return false;
}

io::IoConn* FakeReactor::Adopt(int fd, void* user) {
  auto* conn = new io::IoConn;
  conn->fd = fd;
  conn->user = user;
  conn->recv_armed = true;
  Peer& peer = peers_[fd];
  peer = Peer{};
  peer.conn = conn;
  return conn;
}

void FakeReactor::Close(io::IoConn* conn) {
  if (conn->closing) return;
  conn->closing = true;
  conn->recv_armed = false;
  conn->send_in_flight = false;
  conn->release_queued = true;
  if (Peer* peer = Find(conn->fd)) peer->closed = true;
  released_.push_back(conn);
}

void FakeReactor::CompleteSend(Peer& peer) {
  io::IoConn* conn = peer.conn;
  std::size_t budget = peer.send_limit;
  int written = 0;
  for (int i = 0; i < conn->iov_count && budget > 0; ++i) {
    const std::size_t n = std::min(budget, conn->iov[i].iov_len);
    peer.output.append(static_cast<const char*>(conn->iov[i].iov_base), n);
    written += static_cast<int>(n);
    budget -= n;
  }
  conn->send_in_flight = false;
  ++dispatched_;
  handler_->OnSendDone(conn, written);
}

void FakeReactor::Poll(int64_t timeout_ns) {
  last_timeout_ = timeout_ns;
  dispatched_ = 0;
  if (timeout_ns != 0) handler_->OnWoken();  // a real reactor would have slept
  std::vector<std::pair<int, uint32_t>> accepts;
  accepts.swap(accepts_);
  for (const auto& [fd, listener] : accepts) {
    ++dispatched_;
    handler_->OnAccept(fd, listener);
  }
  // The handler may adopt, send and close while it is called: walk a snapshot of fds.
  std::vector<int> fds;
  for (const auto& [fd, peer] : peers_) fds.push_back(fd);
  for (int fd : fds) {
    Peer* peer = Find(fd);
    if (peer->conn == nullptr || peer->conn->closing) continue;
    if (peer->conn->send_in_flight && peer->send_limit > 0) CompleteSend(*peer);
  }
  for (int fd : fds) {
    Peer* peer = Find(fd);
    io::IoConn* conn = peer->conn;
    if (conn == nullptr || conn->closing || !conn->recv_armed || conn->recv_paused) continue;
    if (!peer->inbound.empty()) {
      // One receive buffer's worth per connection per Poll, as the kernel hands them over.
      const std::size_t n = std::min(peer->inbound.size(), kReadChunk);
      std::string bytes = peer->inbound.substr(0, n);
      peer->inbound.erase(0, n);
      ++dispatched_;
      handler_->OnData(conn, bytes.data(), bytes.size());
      peer = Find(fd);  // the map does not move entries, but be plain about it
    }
    if (peer->hangup && peer->inbound.empty() && !conn->closing && conn->recv_armed) {
      conn->recv_armed = false;
      ++dispatched_;
      handler_->OnRecvEnd(conn, 0);
    }
  }
  std::vector<uint64_t> synced;
  synced.swap(synced_);
  for (uint64_t token : synced) {
    ++dispatched_;
    handler_->OnSyncDone(token, 0);
  }
  // Closes made while releasing are released too, as io::ReleaseConnections does.
  while (!released_.empty()) {
    std::vector<io::IoConn*> batch;
    batch.swap(released_);
    for (io::IoConn* conn : batch) {
      if (Peer* peer = Find(conn->fd)) peer->conn = nullptr;
      ++dispatched_;
      handler_->OnReleased(conn);
      close(conn->fd);
      delete conn;
    }
  }
}

}  // namespace tern::testing
