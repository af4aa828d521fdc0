#pragma once
// LoopService: work a shard runs in its loop turn besides its connections: JetStream, the
// system account's requests; next, route and leafnode housekeeping and MQTT sessions. The
// shard keeps its services in registration order and, each turn, after the connections'
// input and closes and before output goes out:
//   1. calls Turn(now) on each;
//   2. does not sleep while any is Busy();
//   3. sleeps at most until the earliest NextDeadline();
// and hands each the completions of the operations it submitted (OnCompletion, with the
// tag it gave). Adding a service edits neither Shard::Run nor the other services.
// Ownership: its shard's thread only.
#include <cstdint>

namespace tern::core {

class LoopService {
 public:
  virtual ~LoopService() = default;
  // Once per loop turn.
  virtual void Turn(int64_t now_ns) = 0;
  // Work is waiting that must not wait for the next wake-up.
  virtual bool Busy() const { return false; }
  // The earliest monotonic time (ns) it must run again; 0 if none.
  virtual int64_t NextDeadline() const { return 0; }
  // An operation it submitted through its shard (an fdatasync) finished.
  virtual void OnCompletion(uint64_t tag, int result) {
    (void)tag;
    (void)result;
  }

  // The shard's number for this service (set once, when the shard takes it).
  uint32_t service_id() const { return service_id_; }
  void AttachToShard(uint32_t service_id) { service_id_ = service_id; }

 private:
  uint32_t service_id_ = UINT32_MAX;
};

}  // namespace tern::core
