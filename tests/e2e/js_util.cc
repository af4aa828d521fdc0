#include "js_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

namespace tern::e2e {

void JsFixture::SetUp() {
  store_ = MakeStoreDir();
  server_ = ServerProcess::Start({"-js", "-sd", store_});
  conn_ = Connect(*server_);
  ASSERT_EQ(natsConnection_JetStream(&js_, conn_->nc, nullptr), NATS_OK);
}

void JsFixture::TearDown() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  js_ = nullptr;
}

void JsFixture::Restart(int sig) {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  js_ = nullptr;
  conn_.reset();
  server_->Stop(sig);
  server_ = ServerProcess::Start({"-js", "-sd", store_});
  conn_ = Connect(*server_);
  ASSERT_EQ(natsConnection_JetStream(&js_, conn_->nc, nullptr), NATS_OK);
}

std::unique_ptr<ServerProcess> StartJetStreamServer(bool nats) {
  const std::vector<std::string> args = {"-a", "127.0.0.1", "-js", "-sd", MakeStoreDir()};
  return nats ? ServerProcess::Start(args, NatsServerPath()) : ServerProcess::Start(args);
}

std::string MakeStoreDir() {
  std::string templ = "/tmp/tern-js-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  RemoveAtExit(templ);
  return templ;
}

void AddStream(jsCtx* js, const char* name, const std::vector<const char*>& subjects) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name;
  std::vector<const char*> list = subjects;
  cfg.Subjects = list.data();
  cfg.SubjectsLen = static_cast<int>(list.size());
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ASSERT_EQ(js_AddStream(&si, js, &cfg, nullptr, &jerr), NATS_OK)
      << "stream " << name << " err_code " << jerr << ": " << nats_GetLastError(nullptr);
  jsStreamInfo_Destroy(si);
}

uint64_t PublishOk(jsCtx* js, const std::string& subject, const std::string& payload) {
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&ack, js, subject.c_str(), payload.data(),
                            static_cast<int>(payload.size()), nullptr, &jerr);
  EXPECT_EQ(s, NATS_OK) << "publish to " << subject << " err_code " << jerr << ": "
                        << nats_GetLastError(nullptr);
  if (s != NATS_OK) return 0;
  const uint64_t seq = ack->Sequence;
  jsPubAck_Destroy(ack);
  return seq;
}

jsStreamInfo* StreamInfo(jsCtx* js, const char* stream) {
  jsStreamInfo* si = nullptr;
  EXPECT_EQ(js_GetStreamInfo(&si, js, stream, nullptr, nullptr), NATS_OK);
  return si;
}

uint64_t Deliveries(natsMsg* msg) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) return 0;
  const uint64_t n = meta->NumDelivered;
  jsMsgMetaData_Destroy(meta);
  return n;
}

void jsSubOptionsInit(jsSubOptions* so, const char* stream, const char* consumer) {
  jsSubOptions_Init(so);
  so->Stream = stream;
  so->Consumer = consumer;
}

nlohmann::json JsApi(natsConnection* nc, const std::string& subject, const nlohmann::json& body) {
  natsMsg* reply = nullptr;
  const std::string text = body.is_null() ? "" : body.dump();
  if (natsConnection_Request(&reply, nc, subject.c_str(), text.data(),
                             static_cast<int>(text.size()), 5000) != NATS_OK) {
    return nlohmann::json{{"no_reply", subject}};
  }
  nlohmann::json answer = nlohmann::json::parse(Payload(reply), nullptr, false);
  natsMsg_Destroy(reply);
  return answer;
}

}  // namespace tern::e2e
