// The epoll backend, for hosts that refuse io_uring. Same contract as the io_uring one:
// sends are started in Poll() (so a shard's sends of one loop turn go out together) and
// completions are reported from Poll(), never from inside the call that asked for them.
#include "io/epoll_reactor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace tern::io {
namespace {

constexpr int kMaxEvents = 256;
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr int kMaxReadsPerEvent = 16;  // fairness between busy connections

// A listening socket; `paused` after OnAcceptError, until ResumeAccept().
struct Listener {
  int fd = -1;
  uint32_t id = 0;
  bool paused = false;
};

class EpollReactor final : public Reactor {
 public:
  explicit EpollReactor(ReactorHandler* handler)
      : handler_(handler), read_buffer_(kReadBufferSize) {}

  ~EpollReactor() override {
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  bool Init(std::string* error) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      *error = std::string("epoll/eventfd: ") + strerror(errno);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &wake_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
      *error = std::string("epoll_ctl(eventfd): ") + strerror(errno);
      return false;
    }
    return true;
  }

  const char* name() const override { return "epoll"; }

  bool Listen(int listen_fd, uint32_t listener, std::string* error) override {
    listeners_.push_back(std::make_unique<Listener>());
    Listener* l = listeners_.back().get();
    l->fd = listen_fd;
    l->id = listener;
    if (!Watch(l)) {
      *error = std::string("epoll_ctl(listener): ") + strerror(errno);
      l->fd = -1;
      return false;
    }
    return true;
  }

  void StopListening() override {
    for (auto& l : listeners_) {
      if (l->fd < 0) continue;
      if (!l->paused) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l->fd, nullptr);
      l->fd = -1;
    }
  }

  void ResumeAccept() override {
    for (auto& l : listeners_) {
      if (!l->paused) continue;
      l->paused = false;
      if (l->fd < 0) continue;
      if (!Watch(l.get())) {
        handler_->OnIoError("epoll_ctl(listener)", errno);
        PauseAccept(l.get(), errno);  // try again after the handler's next back-off
      }
    }
  }

  IoConn* Adopt(int fd, void* user) override {
    auto* conn = new IoConn;
    conn->fd = fd;
    conn->user = user;
    conn->recv_armed = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = conn;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) Fail(conn, "epoll_ctl(add)", errno);
    return conn;
  }

  void Send(IoConn* conn) override {
    conn->send_in_flight = true;
    pending_sends_.push_back(conn);
  }

  void PauseRecv(IoConn* conn) override {
    if (conn->recv_paused || conn->closing) return;
    conn->recv_paused = true;
    SetEvents(conn, conn->want_write ? uint32_t{EPOLLOUT} : 0u);
  }

  void ResumeRecv(IoConn* conn) override {
    if (!conn->recv_paused || conn->closing) return;
    conn->recv_paused = false;
    if (conn->recv_armed) {
      SetEvents(conn, EPOLLIN | EPOLLRDHUP | (conn->want_write ? uint32_t{EPOLLOUT} : 0u));
    }
  }

  void Close(IoConn* conn) override {
    if (conn->closing) return;
    conn->closing = true;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
    shutdown(conn->fd, SHUT_RDWR);
    close(conn->fd);
    conn->recv_armed = false;
    conn->send_in_flight = false;
    conn->release_queued = true;
    released_.push_back(conn);  // freed at the end of Poll: events may still name it
  }

  // No asynchronous fsync without io_uring: sync now, report from the next Poll.
  void SyncData(int fd, uint64_t token) override {
    const int result = fdatasync(fd) == 0 ? 0 : -errno;
    synced_.emplace_back(token, result);
  }

  void Poll(int64_t timeout_ns) override {
    StartSends();
    int timeout_ms = 0;
    if (pending_sends_.empty() && released_.empty() && synced_.empty() && failed_.empty()) {
      timeout_ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999'999) / 1'000'000);
    }
    epoll_event events[kMaxEvents];
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (timeout_ms != 0) handler_->OnWoken();
    for (int i = 0; i < n; ++i) Dispatch(events[i]);
    if (!failed_.empty()) {
      std::vector<std::pair<IoConn*, int>> failed;
      failed.swap(failed_);
      for (const auto& [conn, err] : failed) {
        if (!conn->closing) handler_->OnRecvEnd(conn, err);
      }
    }
    if (!synced_.empty()) {
      std::vector<std::pair<uint64_t, int>> done;
      done.swap(synced_);
      for (const auto& [token, result] : done) handler_->OnSyncDone(token, result);
    }
    StartSends();  // answers produced by this batch go out in this Poll
    ReleaseClosed();
  }

  void Wake() override {
    uint64_t one = 1;
    ssize_t w = write(wake_fd_, &one, sizeof one);
    (void)w;
  }

 private:
  void Dispatch(const epoll_event& ev) {
    if (ev.data.ptr == &wake_fd_) {
      uint64_t value;
      ssize_t r = read(wake_fd_, &value, sizeof value);
      (void)r;
      return;
    }
    for (auto& l : listeners_) {
      if (ev.data.ptr == l.get()) {
        AcceptAll(l.get());
        return;
      }
    }
    auto* conn = static_cast<IoConn*>(ev.data.ptr);
    if (conn->closing) return;
    if ((ev.events & EPOLLOUT) && conn->want_write) {
      conn->want_write = false;
      SetEvents(conn, conn->recv_paused ? 0u : uint32_t{EPOLLIN | EPOLLRDHUP});
      TrySend(conn);
    }
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadAll(conn);
  }

  bool Watch(Listener* l) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = l;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, l->fd, &ev) == 0;
  }

  void AcceptAll(Listener* l) {
    for (int i = 0; i < 64 && l->fd >= 0 && !l->paused; ++i) {
      int fd = accept4(l->fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        handler_->OnAccept(fd, l->id);
        continue;
      }
      // The listener stays readable while accept fails for lack of fds: stop watching it
      // (a level-triggered loop would spin) until the handler's back-off resumes it.
      if (IsAcceptPause(errno)) PauseAccept(l, errno);
      if (errno != ECONNABORTED && errno != EINTR) return;
    }
  }

  void PauseAccept(Listener* l, int err) {
    l->paused = true;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l->fd, nullptr);
    handler_->OnAcceptError(err);
  }

  // The kernel refused to watch or re-arm a connection: it could never be read again, so
  // it ends now (from the next Poll, as a completion would).
  void Fail(IoConn* conn, const char* what, int err) {
    handler_->OnIoError(what, err);
    if (conn->recv_armed) {
      conn->recv_armed = false;
      failed_.emplace_back(conn, err);
    }
  }

  void ReadAll(IoConn* conn) {
    for (int i = 0;
         i < kMaxReadsPerEvent && conn->recv_armed && !conn->closing && !conn->recv_paused; ++i) {
      ssize_t n = recv(conn->fd, read_buffer_.data(), read_buffer_.size(), MSG_DONTWAIT);
      if (n > 0) {
        handler_->OnData(conn, read_buffer_.data(), static_cast<size_t>(n));
        if (static_cast<size_t>(n) < read_buffer_.size()) return;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      conn->recv_armed = false;
      SetEvents(conn, conn->want_write ? uint32_t{EPOLLOUT} : 0u);
      handler_->OnRecvEnd(conn, n == 0 ? 0 : errno);
      return;
    }
  }

  void StartSends() {
    while (!pending_sends_.empty()) {
      std::vector<IoConn*> batch;
      batch.swap(pending_sends_);
      for (IoConn* conn : batch) {
        if (!conn->closing) TrySend(conn);
      }
    }
  }

  void TrySend(IoConn* conn) {
    msghdr msg{};
    msg.msg_iov = conn->iov;
    msg.msg_iovlen = conn->iov_count;
    ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      conn->want_write = true;
      const bool reading = conn->recv_armed && !conn->recv_paused;
      SetEvents(conn, (reading ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | EPOLLOUT);
      return;
    }
    conn->send_in_flight = false;
    handler_->OnSendDone(conn, n < 0 ? -errno : static_cast<int>(n));
  }

  void SetEvents(IoConn* conn, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = conn;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev) < 0 && !conn->closing) {
      Fail(conn, "epoll_ctl(mod)", errno);
    }
  }

  void ReleaseClosed() { ReleaseConnections(&released_, handler_); }

  ReactorHandler* handler_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<std::unique_ptr<Listener>> listeners_;  // stable addresses: epoll names them
  std::vector<char> read_buffer_;
  std::vector<IoConn*> pending_sends_;
  std::vector<IoConn*> released_;
  std::vector<std::pair<uint64_t, int>> synced_;  // (token, result) for the next Poll
  std::vector<std::pair<IoConn*, int>> failed_;   // connections the kernel would not watch
};

}  // namespace

std::unique_ptr<Reactor> MakeEpollReactor(ReactorHandler* handler, std::string* error) {
  auto reactor = std::make_unique<EpollReactor>(handler);
  if (!reactor->Init(error)) return nullptr;
  return reactor;
}

}  // namespace tern::io
