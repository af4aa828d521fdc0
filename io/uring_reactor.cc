// The io_uring backend: multishot accept, one recv at a time per connection into a
// provided-buffer ring, one sendmsg in flight per connection, an eventfd read as the
// doorbell. All submissions made while handling one batch of completions go to the kernel
// in one io_uring_enter.
#include "io/uring_reactor.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

namespace tern::io {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr unsigned kCqEntries = 65536;
// Up to 256 x 32 KiB = 8 MiB per shard (512 measured no faster). The kernel takes provided
// buffers in ring order, so every buffer it was ever given ends up resident: it is given
// kInitialBuffers (1 MiB) and kBufferBatch more each time it runs out (-ENOBUFS), so a
// shard's receive memory follows the load it has met (docs/BENCHMARKS.md, "Memory").
constexpr unsigned kBufferCount = 256;       // power of two
constexpr unsigned kBufferSize = 32 * 1024;  // per receive completion
constexpr unsigned kInitialBuffers = 32;
constexpr unsigned kBufferBatch = 32;
constexpr uint16_t kBufferGroup = 0;

// user_data = pointer | kind; pointers are at least 8-byte aligned.
// kSync carries a caller's token instead of a pointer (token << 3).
enum OpKind : uint64_t { kRecv = 0, kSend = 1, kAccept = 2, kWakeRead = 3, kIgnore = 4, kSync = 5 };
constexpr uint64_t kKindMask = 7;

uint64_t Tag(const void* p, OpKind kind) { return reinterpret_cast<uint64_t>(p) | kind; }

// A listening socket and its multishot accept.
struct Listener {
  int fd = -1;
  uint32_t id = 0;
  bool armed = false;   // a multishot accept is in the kernel
  bool paused = false;  // after OnAcceptError, until ResumeAccept()
};

class UringReactor final : public Reactor {
 public:
  explicit UringReactor(ReactorHandler* handler) : handler_(handler) {}

  ~UringReactor() override {
    if (ring_ready_) io_uring_queue_exit(&ring_);
    if (buf_ring_ != nullptr) munmap(buf_ring_, kBufferCount * sizeof(io_uring_buf));
    if (buffers_ != nullptr) munmap(buffers_, size_t{kBufferCount} * kBufferSize);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  bool Init(std::string* error) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    params.cq_entries = kCqEntries;
    int rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
    if (rc == -EINVAL) {  // kernels before 6.1 lack SINGLE_ISSUER / DEFER_TASKRUN
      params = io_uring_params{};
      params.flags = IORING_SETUP_CQSIZE;
      params.cq_entries = kCqEntries;
      rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
    }
    if (rc < 0) {
      *error = std::string("io_uring_setup: ") + strerror(-rc);
      return false;
    }
    ring_ready_ = true;
    if (!(params.features & IORING_FEAT_EXT_ARG)) {
      *error = "io_uring lacks IORING_FEAT_EXT_ARG (kernel too old)";
      return false;
    }
    if (!SetupBuffers(error)) return false;
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
      *error = std::string("eventfd: ") + strerror(errno);
      return false;
    }
    ArmWakeRead();
    return true;
  }

  const char* name() const override { return "io_uring"; }

  bool Listen(int listen_fd, uint32_t listener, std::string* error) override {
    listeners_.push_back(std::make_unique<Listener>());
    listeners_.back()->fd = listen_fd;
    listeners_.back()->id = listener;
    ArmAccept(listeners_.back().get());
    return true;
  }

  void StopListening() override {
    for (auto& l : listeners_) {
      if (l->fd < 0) continue;
      if (l->armed) CancelAccept(l.get());
      l->fd = -1;
    }
  }

  void ResumeAccept() override {
    for (auto& l : listeners_) {
      if (!l->paused) continue;
      l->paused = false;
      if (l->fd >= 0 && !l->armed) ArmAccept(l.get());
    }
  }

  IoConn* Adopt(int fd, void* user) override {
    auto* conn = new IoConn;
    conn->fd = fd;
    conn->user = user;
    ArmRecv(conn);
    return conn;
  }

  void Send(IoConn* conn) override {
    conn->send_in_flight = true;
    io_uring_sqe* sqe = GetSqe();
    msghdr& msg = conn->msg;  // must stay put until the completion
    msg = msghdr{};
    msg.msg_iov = conn->iov;
    msg.msg_iovlen = conn->iov_count;
    io_uring_prep_sendmsg(sqe, conn->fd, &msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, Tag(conn, kSend));
  }

  void PauseRecv(IoConn* conn) override {
    if (conn->recv_paused || conn->closing) return;
    conn->recv_paused = true;
    if (conn->recv_armed) {
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_cancel64(sqe, Tag(conn, kRecv), 0);
      io_uring_sqe_set_data64(sqe, kIgnore);
    }
  }

  void ResumeRecv(IoConn* conn) override {
    if (!conn->recv_paused) return;
    conn->recv_paused = false;
    if (!conn->recv_armed && !conn->closing) ArmRecv(conn);
  }

  void Close(IoConn* conn) override {
    if (conn->closing) return;
    conn->closing = true;
    // shutdown() completes a pending recv with 0 and fails a blocked send; the cancel
    // covers operations the kernel has not started yet.
    shutdown(conn->fd, SHUT_RDWR);
    if (conn->recv_armed || conn->send_in_flight) {
      io_uring_sqe* sqe = GetSqe();
      io_uring_prep_cancel_fd(sqe, conn->fd, IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(sqe, kIgnore);
    }
    MaybeRelease(conn);
  }

  void SyncData(int fd, uint64_t token) override {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(sqe, (token << 3) | kSync);
  }

  void Poll(int64_t timeout_ns) override {
    SubmitOverflow();
    if (timeout_ns == 0) {
      io_uring_submit_and_get_events(&ring_);
    } else {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{};
      ts.tv_sec = timeout_ns / 1'000'000'000;
      ts.tv_nsec = timeout_ns % 1'000'000'000;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ns < 0 ? nullptr : &ts, nullptr);
      handler_->OnWoken();
    }
    // Completions may queue more work and more completions; drain a bounded number of
    // rounds so one busy loop turn cannot starve the shard's other phases.
    for (int round = 0; round < 4; ++round) {
      if (DispatchCompletions() == 0) break;
      SubmitOverflow();
      io_uring_submit_and_get_events(&ring_);
    }
    ReleaseClosed();
  }

  void Wake() override {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: the shard will wake.
  }

 private:
  bool SetupBuffers(std::string* error) {
    const size_t ring_bytes = kBufferCount * sizeof(io_uring_buf);
    void* ring_mem =
        mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    void* buf_mem = mmap(nullptr, size_t{kBufferCount} * kBufferSize, PROT_READ | PROT_WRITE,
                         MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_mem == MAP_FAILED || buf_mem == MAP_FAILED) {
      *error = "mmap of receive buffers failed";
      return false;
    }
    buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
    buffers_ = static_cast<char*>(buf_mem);
    io_uring_buf_ring_init(buf_ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
    reg.ring_entries = kBufferCount;
    reg.bgid = kBufferGroup;
    int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (rc < 0) {
      *error = std::string("provided buffer ring: ") + strerror(-rc);
      return false;
    }
    for (unsigned i = 0; i < kInitialBuffers; ++i) {
      io_uring_buf_ring_add(buf_ring_, buffers_ + size_t{i} * kBufferSize, kBufferSize, i,
                            io_uring_buf_ring_mask(kBufferCount), i);
    }
    io_uring_buf_ring_advance(buf_ring_, kInitialBuffers);
    provided_ = kInitialBuffers;
    return true;
  }

  // The kernel ran out of receive buffers: give it more, up to kBufferCount (published
  // with the recycled ones at the end of this batch of completions).
  void ProvideMoreBuffers() {
    const unsigned until = std::min(kBufferCount, provided_ + kBufferBatch);
    for (; provided_ < until; ++provided_) RecycleBuffer(provided_);
  }

  // A submission slot. When the queue is full, what is queued goes to the kernel first; if
  // the kernel refuses (-EBUSY while its completion queue is full, -EAGAIN), the request is
  // prepared in an overflow slot and submitted after the next completions are taken,
  // instead of retrying in a loop that can never end.
  io_uring_sqe* GetSqe() {
    if (overflow_.empty()) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
      const int rc = io_uring_submit(&ring_);
      if (rc >= 0) {
        if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
      } else {
        handler_->OnIoError("io_uring_submit (requests held until completions are taken)", -rc);
      }
    }
    overflow_.emplace_back();
    std::memset(&overflow_.back(), 0, sizeof(io_uring_sqe));
    return &overflow_.back();
  }

  // Moves held requests into the submission queue, in order, as far as it has room.
  void SubmitOverflow() {
    while (!overflow_.empty()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) return;
      *sqe = overflow_.front();
      overflow_.pop_front();
    }
  }

  void CancelAccept(Listener* l) {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_cancel64(sqe, Tag(l, kAccept), 0);
    io_uring_sqe_set_data64(sqe, kIgnore);
  }

  void ArmAccept(Listener* l) {
    l->armed = true;
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_multishot_accept(sqe, l->fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, Tag(l, kAccept));
  }

  // One recv at a time, re-armed after each completion (in the same batched submission). A
  // multishot recv emptied the whole socket buffer into completions at once, megabytes after
  // a pause, all of which a stalled connection then had to hold (peak RSS 89 MiB against
  // 30 MiB on 8 pubs -> 8 subs, and no faster: docs/BENCHMARKS.md, memory).
  void ArmRecv(IoConn* conn) {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_recv(sqe, conn->fd, nullptr, kBufferSize, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, Tag(conn, kRecv));
    conn->recv_armed = true;
  }

  void ArmWakeRead() {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof wake_value_, 0);
    io_uring_sqe_set_data64(sqe, Tag(this, kWakeRead));
  }

  void RecycleBuffer(unsigned bid) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + size_t{bid} * kBufferSize, kBufferSize, bid,
                          io_uring_buf_ring_mask(kBufferCount), recycled_++);
  }

  unsigned DispatchCompletions() {
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++count;
      HandleCompletion(cqe);
    }
    io_uring_cq_advance(&ring_, count);
    if (recycled_ > 0) {
      io_uring_buf_ring_advance(buf_ring_, recycled_);
      recycled_ = 0;
    }
    return count;
  }

  void HandleCompletion(const io_uring_cqe* cqe) {
    const uint64_t data = io_uring_cqe_get_data64(cqe);
    const auto kind = static_cast<OpKind>(data & kKindMask);
    const bool more = cqe->flags & IORING_CQE_F_MORE;
    switch (kind) {
      case kRecv: {
        auto* conn = reinterpret_cast<IoConn*>(data & ~kKindMask);
        if (!more) conn->recv_armed = false;
        if (cqe->res > 0) {
          const unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
          if (!conn->closing) {
            handler_->OnData(conn, buffers_ + size_t{bid} * kBufferSize, cqe->res);
          }
          RecycleBuffer(bid);
          if (!conn->recv_armed && !conn->closing && !conn->recv_paused) ArmRecv(conn);
        } else if (cqe->res == -ENOBUFS || cqe->res == -ECANCELED) {
          if (cqe->res == -ENOBUFS) ProvideMoreBuffers();
          if (!conn->recv_armed && !conn->closing && !conn->recv_paused) ArmRecv(conn);
        } else if (!conn->closing) {
          conn->recv_armed = false;
          handler_->OnRecvEnd(conn, -cqe->res);
        }
        MaybeRelease(conn);
        break;
      }
      case kSend: {
        auto* conn = reinterpret_cast<IoConn*>(data & ~kKindMask);
        conn->send_in_flight = false;
        if (!conn->closing) handler_->OnSendDone(conn, cqe->res);
        MaybeRelease(conn);
        break;
      }
      case kAccept: {
        auto* l = reinterpret_cast<Listener*>(data & ~kKindMask);
        if (!more) l->armed = false;
        if (cqe->res >= 0) {
          if (l->fd >= 0) {
            handler_->OnAccept(cqe->res, l->id);
          } else {
            close(cqe->res);
          }
        } else if (IsAcceptPause(-cqe->res) && l->fd >= 0 && !l->paused) {
          // At the fd limit a re-armed accept fails again at once: stop, let the handler
          // back off, and accept again on ResumeAccept().
          l->paused = true;
          if (l->armed) CancelAccept(l);
          handler_->OnAcceptError(-cqe->res);
        }
        if (!l->armed && !l->paused && l->fd >= 0) ArmAccept(l);
        break;
      }
      case kWakeRead:
        ArmWakeRead();
        break;
      case kSync:
        handler_->OnSyncDone(data >> 3, cqe->res);
        break;
      case kIgnore:
        break;
    }
  }

  void MaybeRelease(IoConn* conn) {
    if (!conn->closing || conn->recv_armed || conn->send_in_flight || conn->release_queued) return;
    conn->release_queued = true;
    close(conn->fd);
    released_.push_back(conn);
  }

  void ReleaseClosed() { ReleaseConnections(&released_, handler_); }

  ReactorHandler* handler_;
  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* buffers_ = nullptr;
  unsigned provided_ = 0;  // buffers given to the kernel so far: ids 0 .. provided_ - 1
  unsigned recycled_ = 0;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  // Kept until the reactor goes: a completion may still name one after StopListening.
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::deque<io_uring_sqe> overflow_;  // requests prepared while the queue was refused
  std::vector<IoConn*> released_;
};

}  // namespace

std::unique_ptr<Reactor> MakeUringReactor(ReactorHandler* handler, std::string* error) {
  auto reactor = std::make_unique<UringReactor>(handler);
  if (!reactor->Init(error)) return nullptr;
  return reactor;
}

}  // namespace tern::io
