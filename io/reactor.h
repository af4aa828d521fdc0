#pragma once
// Reactor: one event loop's I/O, behind one interface with two backends (io_uring and
// epoll). Ownership: a Reactor belongs to exactly one shard thread; every method except
// Wake() must be called from that thread. Wake() may be called from any thread.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tern::io {

enum class Backend { kUring, kEpoll };

// The per-socket state a backend keeps. The handler sees it as an opaque handle; it stays
// valid until the handler's OnReleased() for it returns.
struct IoConn {
  static constexpr int kMaxIov = 64;
  int fd = -1;
  void* user = nullptr;
  bool recv_armed = false;
  bool send_in_flight = false;
  bool closing = false;
  bool release_queued = false;
  bool want_write = false;   // epoll: waiting for EPOLLOUT
  bool recv_paused = false;  // back-pressure: the shard stopped reading this socket
  int iov_count = 0;
  iovec iov[kMaxIov];
  msghdr msg{};  // io_uring: sendmsg header, stable while the send is in flight
};

// Callbacks from a reactor into its shard. Called only from inside Reactor::Poll().
class ReactorHandler {
 public:
  virtual ~ReactorHandler() = default;
  // Listener `listener` (the id given to Listen) accepted a socket; the handler owns fd
  // from here on.
  virtual void OnAccept(int fd, uint32_t listener) = 0;
  // Bytes arrived. The memory is valid only during the call.
  virtual void OnData(IoConn* conn, const char* data, std::size_t len) = 0;
  // The peer closed (err == 0) or the socket failed (err = errno); no more OnData.
  virtual void OnRecvEnd(IoConn* conn, int err) = 0;
  // A Send() finished: result is bytes written (possibly fewer than asked) or -errno.
  virtual void OnSendDone(IoConn* conn, int result) = 0;
  // After Close(): the fd is closed and no callback will name conn again.
  virtual void OnReleased(IoConn* conn) = 0;
  // A SyncData() finished: 0 or -errno.
  virtual void OnSyncDone(uint64_t token, int result) {}
  // Poll() slept and is about to dispatch what woke it: time has moved on since the
  // caller last read the clock.
  virtual void OnWoken() {}
  // accept() failed for a reason that does not go away by retrying at once (the fd limit,
  // out of memory): the reactor stopped accepting until ResumeAccept(). err is an errno.
  virtual void OnAcceptError(int err) {}
  // Something the loop cannot do was refused by the kernel (an epoll_ctl, an io_uring
  // submission). The affected connection, if any, also gets OnRecvEnd.
  virtual void OnIoError(const char* what, int err) {}
};

class Reactor {
 public:
  virtual ~Reactor() = default;
  virtual const char* name() const = 0;
  // Starts accepting on an already listening socket; its accepts are reported with
  // `listener`. One reactor may serve several (client port, cluster port, ...). The reactor
  // does not own the fd.
  virtual bool Listen(int listen_fd, uint32_t listener, std::string* error) = 0;
  // Stops accepting on every listener (lame duck, shutdown).
  virtual void StopListening() = 0;
  // Accepts again after OnAcceptError on every paused listener (no-op if none).
  virtual void ResumeAccept() = 0;
  // Takes ownership of a connected socket and starts receiving from it.
  virtual IoConn* Adopt(int fd, void* user) = 0;
  // Writes conn->iov[0..iov_count). At most one send per connection may be in flight;
  // the memory the iovecs point to must stay valid until OnSendDone.
  virtual void Send(IoConn* conn) = 0;
  // Stops / restarts reading from the socket (back-pressure on a fast publisher). Bytes
  // already received may still be delivered after PauseRecv.
  virtual void PauseRecv(IoConn* conn) = 0;
  virtual void ResumeRecv(IoConn* conn) = 0;
  // Aborts the connection: stops I/O, closes the fd once the kernel is done with it,
  // then calls OnReleased.
  virtual void Close(IoConn* conn) = 0;
  // fdatasync(fd) without blocking the loop (io_uring: IORING_OP_FSYNC; epoll: done at
  // once); OnSyncDone(token, result) follows from a later Poll(). The fd must stay open
  // until the next Poll() has submitted the request (the kernel holds the file after).
  virtual void SyncData(int fd, uint64_t token) = 0;
  // Submits queued work, waits up to timeout_ns (0 = do not block, <0 = forever) for
  // completions or Wake(), and dispatches them to the handler.
  virtual void Poll(int64_t timeout_ns) = 0;
  // Interrupts a blocking Poll(). Thread-safe.
  virtual void Wake() = 0;
};

// For backends: accept() errors that last (fd limits, memory), as opposed to a peer that
// went away before it was accepted.
inline bool IsAcceptPause(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

// For backends: reports every connection in *released to the handler and frees it. The
// handler may close more connections meanwhile; those are released too.
void ReleaseConnections(std::vector<IoConn*>* released, ReactorHandler* handler);

// Creates the preferred backend; if io_uring is refused by the kernel (seccomp,
// kernel.io_uring_disabled, old kernel) falls back to epoll and says why in *note.
std::unique_ptr<Reactor> MakeReactor(Backend preferred, ReactorHandler* handler, std::string* note);

}  // namespace tern::io
