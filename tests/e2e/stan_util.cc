#include "stan_util.h"

#include <gtest/gtest.h>

#include <chrono>

#include "js_util.h"

namespace tern::e2e {

StanConn::~StanConn() {
  if (sc != nullptr) {
    stanConnection_Close(sc);
    stanConnection_Destroy(sc);
  }
}

natsStatus StanConnect(const ServerProcess& server, const std::string& cluster,
                       const std::string& client_id, StanConn* out, std::string* error) {
  stanConnOptions* opts = nullptr;
  stanConnOptions_Create(&opts);
  stanConnOptions_SetURL(opts, server.url().c_str());
  stanConnOptions_SetConnectionWait(opts, 2000);
  const natsStatus s = stanConnection_Connect(&out->sc, cluster.c_str(), client_id.c_str(), opts);
  if (s != NATS_OK && error != nullptr) *error = nats_GetLastError(nullptr);
  stanConnOptions_Destroy(opts);
  return s;
}

std::unique_ptr<ServerProcess> StartStreaming(const std::vector<std::string>& extra) {
  // A store of its own: channels from one test (or run) never show up in another's.
  std::vector<std::string> args = {"--streaming", "-sd", MakeStoreDir()};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess::Start(args);
}

void PublishAll(stanConnection* sc, const std::string& channel, int first, int last) {
  for (int i = first; i <= last; ++i) {
    const std::string data = "m" + std::to_string(i);
    ASSERT_EQ(
        stanConnection_Publish(sc, channel.c_str(), data.data(), static_cast<int>(data.size())),
        NATS_OK)
        << nats_GetLastError(nullptr);
  }
}

std::vector<uint64_t> Sequences(const std::vector<StanInbox::Got>& got) {
  std::vector<uint64_t> out;
  for (const auto& g : got) out.push_back(g.sequence);
  return out;
}

std::string Request(natsConnection* nc, const std::string& subject, const std::string& body,
                    int timeout_ms) {
  natsMsg* reply = nullptr;
  if (natsConnection_Request(&reply, nc, subject.c_str(), body.data(),
                             static_cast<int>(body.size()), timeout_ms) != NATS_OK) {
    return "<no answer>";
  }
  std::string out(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return out;
}

StanInbox::~StanInbox() {
  if (sub_ != nullptr) {
    stanSubscription_Close(sub_);
    stanSubscription_Destroy(sub_);
  }
}

stanSubOptions* StanInbox::AckingOptions(stanSubOptions* opts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ack_) return opts;  // the test chose manual-ack mode and says what to acknowledge
  // Acknowledged by the callback itself, before WaitFor sees the message: libnats' own ack
  // comes after the callback returns, and could reach the server after a close that follows.
  self_acks_ = true;
  if (opts == nullptr) opts = own_opts_.opts;
  stanSubOptions_SetManualAckMode(opts, true);
  return opts;
}

natsStatus StanInbox::Subscribe(stanConnection* sc, const std::string& channel,
                                stanSubOptions* opts, std::string* error) {
  opts = AckingOptions(opts);
  const natsStatus s =
      stanConnection_Subscribe(&sub_, sc, channel.c_str(), &StanInbox::OnMessage, this, opts);
  if (s != NATS_OK) {
    sub_ = nullptr;
    if (error != nullptr) *error = nats_GetLastError(nullptr);
  }
  return s;
}

natsStatus StanInbox::QueueSubscribe(stanConnection* sc, const std::string& channel,
                                     const std::string& group, stanSubOptions* opts) {
  opts = AckingOptions(opts);
  const natsStatus s = stanConnection_QueueSubscribe(&sub_, sc, channel.c_str(), group.c_str(),
                                                     &StanInbox::OnMessage, this, opts);
  if (s != NATS_OK) sub_ = nullptr;
  return s;
}

void StanInbox::OnMessage(stanConnection*, stanSubscription* sub, const char*, stanMsg* msg,
                          void* closure) {
  auto* self = static_cast<StanInbox*>(closure);
  Got got{stanMsg_GetSequence(msg),
          std::string(stanMsg_GetData(msg), static_cast<std::size_t>(stanMsg_GetDataLength(msg))),
          stanMsg_GetTimestamp(msg), stanMsg_IsRedelivered(msg)};
  std::function<bool(const Got&)> ack;
  bool self_acks = false;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    ack = self->ack_;
    self_acks = self->self_acks_;
  }
  if (self_acks || (ack && ack(got))) stanSubscription_AckMsg(sub, msg);
  stanMsg_Destroy(msg);
  std::lock_guard<std::mutex> lock(self->mu_);
  self->got_.push_back(std::move(got));
  self->arrived_.notify_all();
}

std::vector<StanInbox::Got> StanInbox::WaitFor(std::size_t count) {
  std::unique_lock<std::mutex> lock(mu_);
  arrived_.wait_for(lock, std::chrono::seconds(10), [&] { return got_.size() >= count; });
  return got_;
}

std::vector<StanInbox::Got> StanInbox::Received() {
  std::lock_guard<std::mutex> lock(mu_);
  return got_;
}

}  // namespace tern::e2e
