#pragma once
// Shorthands for the JetStream end-to-end tests: calls through libnats that must succeed
// (they fail the test otherwise) and a store directory that outlives one server process.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace tern::e2e {

// A JetStream-enabled server with its own store, one connection and its JetStream context.
class JsFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Stops the server (signal) and starts a new one on the same store.
  void Restart(int sig);

  std::string store_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<NatsConn> conn_;
  jsCtx* js_ = nullptr;
};

// A fresh directory for a server's -sd, removed when the test binary exits (restart tests
// reuse it across server processes).
std::string MakeStoreDir();
// A JetStream server on 127.0.0.1 with a fresh store: Tern, or with `nats` Debian's
// nats-server (the differential tests run the same scenario on both).
std::unique_ptr<ServerProcess> StartJetStreamServer(bool nats);
// Creates a file stream with these subjects.
void AddStream(jsCtx* js, const char* name, const std::vector<const char*>& subjects);
// Publishes and returns the acknowledged sequence (0 after a test failure).
uint64_t PublishOk(jsCtx* js, const std::string& subject, const std::string& payload);
jsStreamInfo* StreamInfo(jsCtx* js, const char* stream);
// The delivery count in a JetStream message's ack subject.
uint64_t Deliveries(natsMsg* msg);
// A raw JetStream API request (a null body sends nothing); the parsed answer, or
// {"no_reply": subject} when none came within 5 s.
nlohmann::json JsApi(natsConnection* nc, const std::string& subject, const nlohmann::json& body);
// Subscription options that bind to an existing stream and consumer.
void jsSubOptionsInit(jsSubOptions* so, const char* stream, const char* consumer);

}  // namespace tern::e2e
