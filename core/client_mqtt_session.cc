// Client: MQTT sessions kept in JetStream. A client that connects with clean session 0
// keeps its subscriptions, and the consumers behind its QoS 1 ones, in a record at
// $MQTT.sess.<hash of its id> in the $MQTT_sess stream; when it connects again (after a
// disconnect or a server restart) they are restored, the CONNACK says the session is
// present, and the QoS 1 messages stored meanwhile are delivered. A clean session removes
// an earlier record and its consumers.
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"
#include "core/server_context.h"

namespace tern::core {
namespace {

// nats-server's getHash: SHA-256, its first 8 bytes as base62 characters.
std::string IdHash(std::string_view id) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(id.data(), id.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hash;
  for (int i = 0; i < 8; ++i) hash.push_back(kAlphabet[digest[i] % 62]);
  return hash;
}

uint64_t UnixSeconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

bool NeedsLevelUp(std::string_view subject) {
  return subject.size() >= 3 && subject.substr(subject.size() - 2) == ".>";
}

}  // namespace

void Client::LoadMqttSession() {
  MqttState& m = *mqtt_;
  const std::string hash = IdHash(m.connect.client_id);
  m.session_subject = std::string(kMqttSessionPrefix) + hash;
  m.qos2_prefix = std::string(kMqttQos2Prefix) + hash + ".";
  const nlohmann::json request = {{"last_by_subj", m.session_subject}};
  MqttRequest(MqttApi("STREAM.MSG.GET.") + kMqttSessionStream, request.dump(),
              {.kind = MqttState::RequestKind::kSessionLoad});
}

void Client::OnMqttSessionLoaded(std::string_view answer) {
  MqttState& m = *mqtt_;
  nlohmann::json record;
  if (!answer.empty()) {
    const nlohmann::json reply = nlohmann::json::parse(answer, nullptr, false);
    std::string data;
    if (reply.is_object() && reply.contains("message") &&
        auth::DecodeBase64Any(reply["message"].value("data", ""), &data)) {
      record = nlohmann::json::parse(data, nullptr, false);
    }
  }
  bool found = record.is_object() && record.value("id", "") == m.connect.client_id;
  // A 5.0 session whose Session Expiry Interval ran out since its connection ended is gone.
  const uint64_t ended = found ? record.value("ended", uint64_t{0}) : 0;
  const uint64_t expiry = found ? record.value("exp", uint64_t{0}) : 0;
  const bool expired = ended != 0 && expiry != 0xffffffff && UnixSeconds() > ended + expiry;
  const nlohmann::json subs =
      found ? record.value("subs", nlohmann::json::object()) : nlohmann::json();
  const nlohmann::json cons =
      found ? record.value("cons", nlohmann::json::object()) : nlohmann::json();
  if (m.clean_start || expired) {
    // A clean start (or an expired session): an earlier session and its consumers go.
    if (found) {
      for (const auto& [sid, consumer] : cons.items()) {
        if (consumer.is_object()) {
          DeleteMqttConsumer(kMqttMsgsStream, consumer.value("durable_name", ""));
        }
      }
    }
    // The CONNACK once the record is gone: a later CONNECT cannot find it. QoS 2 messages
    // received and not released go too.
    PurgeMqttQos2Records();
    const nlohmann::json purge = {{"filter", m.session_subject}};
    MqttRequest(MqttApi("STREAM.PURGE.") + kMqttSessionStream, purge.dump(),
                {.kind = MqttState::RequestKind::kSessionPurge});
    return;
  }
  if (found) {
    // Its subscriptions come back (retained messages are not sent again), and its QoS 1
    // consumers deliver what they kept once their deliver subjects have interest.
    // A sid is the subject, or $share/<group>/<subject> (5.0); its value the granted QoS,
    // plus 4 for No Local, 8 for Retain As Published.
    for (const auto& [sid, value] : subs.items()) {
      if (!value.is_number_integer()) continue;
      const int options = value.get<int>();
      const uint8_t granted = static_cast<uint8_t>(std::clamp(options & 3, 0, 2));
      std::string_view subject = sid;
      std::string group;
      if (subject.starts_with("$share/")) {
        subject.remove_prefix(7);
        const std::size_t slash = subject.find('/');
        if (slash == std::string_view::npos) continue;
        group.assign(subject.substr(0, slash));
        subject.remove_prefix(slash + 1);
      }
      const MqttFilterOptions filter{group, (options & 4) != 0, (options & 8) != 0};
      AddMqttSubscription(subject, sid, granted, filter);
      if (NeedsLevelUp(subject)) {
        const std::string parent(subject.substr(0, subject.size() - 2));
        AddMqttSubscription(parent, sid.substr(0, sid.size() - 2) + " fwc", granted, filter);
      }
    }
    for (const auto& [sid, consumer] : cons.items()) {
      if (!consumer.is_object()) continue;
      MqttState::Consumer restored{consumer.value("durable_name", ""),
                                   consumer.value("deliver_subject", "")};
      if (restored.durable.empty() || restored.deliver.rfind("$MQTT.sub.", 0) != 0) continue;
      const bool qos2 =
          subs.contains(sid) && subs[sid].is_number_integer() && (subs[sid].get<int>() & 3) == 2;
      AddInternalMqttSubscription(restored.deliver, qos2 ? kMqttDeliverQos2 : kMqttDeliver);
      m.consumers[sid] = std::move(restored);
    }
    const nlohmann::json ids = record.value("ids", nlohmann::json::object());
    for (const auto& [sid, id] : ids.items()) {
      if (id.is_number_unsigned()) m.sub_ids[sid] = id.get<uint32_t>();
    }
    // Deliveries not acknowledged when it ended: their packet ids, for their redelivery.
    for (const auto& pending : record.value("pend", nlohmann::json::array())) {
      if (!pending.is_array() || pending.size() != 3 || !pending[0].is_number_integer() ||
          !pending[1].is_string() || !pending[2].is_number_integer()) {
        continue;
      }
      const int id = pending[0].get<int>();
      const int qos = pending[2].get<int>();
      if (id <= 0 || id > 0xffff || (qos != 1 && qos != 2)) continue;
      const auto packet_id = static_cast<uint16_t>(id);
      if (m.resumed_ids.insert(packet_id).second) {
        m.resumed_by_key[pending[1].get<std::string>()] = {packet_id, static_cast<uint8_t>(qos)};
      }
    }
    // QoS 2 deliveries whose PUBREC came: their PUBREL goes again after the CONNACK.
    for (const auto& id : record.value("rel", nlohmann::json::array())) {
      if (id.is_number_integer() && id.get<int>() > 0 && id.get<int>() <= 0xffff) {
        m.pubrel_pending.insert(static_cast<uint16_t>(id.get<int>()));
      }
    }
  }
  SaveMqttSession();
  SendMqttConnack(found);
}

void Client::SaveMqttSession(bool ended) {
  MqttState& m = *mqtt_;
  if (!m.persistent || m.session_subject.empty()) return;
  nlohmann::json subs = nlohmann::json::object();
  for (const auto& [sid, qos] : m.granted) {
    if (sid.find(' ') != std::string::npos) continue;  // "<subject> fwc": made from "x.>"
    subs[sid] =
        qos | (m.no_local.contains(sid) ? 4 : 0) | (m.retain_as_published.contains(sid) ? 8 : 0);
  }
  nlohmann::json cons = nlohmann::json::object();
  for (const auto& [sid, consumer] : m.consumers) {
    cons[sid] = {{"durable_name", consumer.durable}, {"deliver_subject", consumer.deliver}};
  }
  std::vector<uint16_t> released(m.pubrel_pending.begin(), m.pubrel_pending.end());
  std::sort(released.begin(), released.end());
  nlohmann::json record = {{"origin", shard_->context().server_name},
                           {"id", m.connect.client_id},
                           {"subs", subs},
                           {"cons", cons}};
  if (!released.empty()) record["rel"] = released;
  // Written when the connection ended (not with every save: it changes per message): the
  // deliveries it left unacknowledged. Ids restored and not used again are not carried on.
  if (ended && !m.in_flight.empty()) {
    nlohmann::json pending = nlohmann::json::array();
    for (const auto& [packet_id, delivery] : m.in_flight) {
      pending.push_back({packet_id, delivery.key, delivery.qos});
    }
    record["pend"] = pending;
  }
  if (!m.sub_ids.empty()) {
    nlohmann::json ids = nlohmann::json::object();
    for (const auto& [sid, id] : m.sub_ids) ids[sid] = id;
    record["ids"] = ids;
  }
  if (m.v5()) {
    // 5.0: how long the session outlives its connection, counted from when it ended.
    record["exp"] = m.connect.session_expiry;
    if (ended) record["ended"] = UnixSeconds();
  }
  const std::string body = record.dump();
  const std::string reply = m.inbox + ".0";  // nothing waits for the answer
  shard_->Publish(this, Message{.subject = m.session_subject,
                                .reply = reply,
                                .data = body,
                                .header_len = 0,
                                .account = account_,
                                .origin = kind_});
}

}  // namespace tern::core
