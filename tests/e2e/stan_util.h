#pragma once
// Helpers for the STAN end-to-end tests: a streaming server with a store of its own, libnats'
// STAN connections, raw protobuf requests, and a subscription that records what it is given.
#include <nats/nats.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness.h"

namespace tern::e2e {

struct StanConn {
  stanConnection* sc = nullptr;
  ~StanConn();
};

// Connects a STAN client; on failure returns libnats' status and its error text.
natsStatus StanConnect(const ServerProcess& server, const std::string& cluster,
                       const std::string& client_id, StanConn* out, std::string* error = nullptr);

// `--streaming` and a fresh store, plus `extra`.
std::unique_ptr<ServerProcess> StartStreaming(const std::vector<std::string>& extra = {});

// Publishes "m<first>" .. "m<last>" on `channel` (a gtest failure if one is refused).
void PublishAll(stanConnection* sc, const std::string& channel, int first, int last);

// libnats' subscription options, destroyed with it.
struct SubOptions {
  stanSubOptions* opts = nullptr;
  SubOptions() { stanSubOptions_Create(&opts); }
  ~SubOptions() { stanSubOptions_Destroy(opts); }
};

// One request with a protobuf body; the raw answer ("<no answer>" if none came).
std::string Request(natsConnection* nc, const std::string& subject, const std::string& body,
                    int timeout_ms = 2000);

// A STAN subscription recording each message it is given. With AckWhen (called before
// subscribing, with options in manual-ack mode) the callback acknowledges what it says; without,
// every message, before it is recorded (the options are put in manual-ack mode for that).
class StanInbox {
 public:
  struct Got {
    uint64_t sequence;
    std::string data;
    int64_t timestamp;
    bool redelivered;
  };
  ~StanInbox();
  // nullptr options: the defaults. On failure, libnats' status and error text.
  natsStatus Subscribe(stanConnection* sc, const std::string& channel, stanSubOptions* opts,
                       std::string* error = nullptr);
  natsStatus QueueSubscribe(stanConnection* sc, const std::string& channel,
                            const std::string& group, stanSubOptions* opts);
  void AckWhen(std::function<bool(const Got&)> ack) { ack_ = std::move(ack); }
  // Waits (up to 10 s) until `count` messages came; returns what came by then.
  std::vector<Got> WaitFor(std::size_t count);
  std::vector<Got> Received();
  stanSubscription* sub() const { return sub_; }
  void Forget() { sub_ = nullptr; }  // closed or unsubscribed by the test

 private:
  stanSubOptions* AckingOptions(stanSubOptions* opts);
  static void OnMessage(stanConnection*, stanSubscription* sub, const char*, stanMsg* msg,
                        void* closure);
  std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<Got> got_;
  std::function<bool(const Got&)> ack_;
  stanSubscription* sub_ = nullptr;
  bool self_acks_ = false;
  SubOptions own_opts_;  // when the test gives none
};

// The sequences of what came, in order.
std::vector<uint64_t> Sequences(const std::vector<StanInbox::Got>& got);

}  // namespace tern::e2e
