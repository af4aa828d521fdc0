#pragma once
// Client: one client connection (the NATS client protocol), a Connection kind. It parses
// what the connection sends, keeps its subscriptions (by sid), encodes what it is sent
// into its OutboundQueue, and holds back a PONG until every shard knows the subscriptions
// made before the PING. It reaches its shard only through ShardPort. Ownership: the shard
// that adopted the socket, for the connection's whole life; the shard deletes it after
// the reactor releases its IoConn.
#include <absl/container/flat_hash_map.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "core/auth/accounts.h"
#include "core/auth/authenticator.h"
#include "core/auth/permissions.h"
#include "core/congestion.h"
#include "core/conn_info.h"
#include "core/connection.h"
#include "core/gateway_reply_map.h"
#include "core/mqtt_state.h"
#include "core/outbound.h"
#include "core/parser.h"
#include "core/shard_port.h"
#include "core/socket_connection.h"
#include "core/subscription.h"
#include "core/tls/tls_session.h"
#include "io/reactor.h"

namespace tern::core {

// A fresh INFO nonce for nkey signatures (11 random bytes, base64url: 15 characters).
std::string NewNonce();

// The listener id of the client port, and the factory that makes its connections
// (Shard::SetConnectionFactory).
inline constexpr uint32_t kClientListener = 0;
Connection* MakeClient(ShardPort* shard, uint64_t id, std::string ip, int port);
// The websocket port's: clients that upgrade over HTTP first (websocket {} block).
inline constexpr uint32_t kWebsocketListener = 4;
Connection* MakeWebsocketClient(ShardPort* shard, uint64_t id, std::string ip, int port);
// The MQTT port's: MQTT 3.1.1 clients (mqtt {} block, client_mqtt.cc).
Connection* MakeMqttClient(ShardPort* shard, uint64_t id, std::string ip, int port);
// MQTT 5.0 reason codes for a 3.1.1 CONNACK refusal, and for why a connection is closed.
uint8_t MqttConnackReason5(uint8_t code311);
uint8_t MqttDisconnectReason5(CloseReason reason);

class Client final : public SocketConnection, public ParserHandler {
 public:
  Client(ShardPort* shard, uint64_t id, std::string ip, int port, bool websocket = false);
  ~Client() override;

  // Called once by the shard after the socket is adopted.
  void Start(io::IoConn* io, bool over_connection_limit) override;
  // Bytes from the socket (ciphertext on a TLS connection).
  void OnBytes(const char* data, std::size_t len) override;
  // The peer closed its side, or the socket failed.
  void OnPeerClosed(int err) override;

  // --- Called by the shard while routing (hot path) ---
  // Appends a MSG/HMSG for the subscription; may close the client as a slow consumer.
  // Returns true if this client is falling behind and the publisher should be stalled.
  bool DeliverMessage(const Subscription& sub, const Message& msg) override;
  void SendNoResponders(std::string_view sid, std::string_view reply) override;
  // Starts a send if output is waiting and none is in flight.
  void Flush() override;
  // Barrier epochs up to acked_epoch are known to all shards: release held PONGs.
  void ReleaseHolds(uint64_t acked_epoch) override;
  bool has_holds() const override { return !holds_.empty(); }

  // Back-pressure. A subscriber with over 1 MiB queued (3/4 of max_pending if smaller) is
  // "congested" and may hold its
  // publishers back for a bounded time; past max_pending it is cut off regardless.
  bool StillCongesting(int64_t now_ns) override;

  // The client's timer fired: pings, stale connection, write deadline, auth and TLS
  // timeouts, credential expiry.
  void OnTimer(int64_t now_ns) override;
  // The earliest of those deadlines still ahead (0 = none): the shard arms its timer there.
  int64_t NextDeadline() const override;
  // Sends an async INFO (protocol >= 1 clients only).
  void SendLameDuckInfo() override;
  void SendInfoUpdate() override;
  // Starts closing. With flush, what is queued (e.g. an -ERR) is sent first.
  void Close(CloseReason reason, bool flush) override;
  // True once the socket itself may be closed (flushed, or gave up waiting).
  bool WantsIoClose() const override;

  // After a reload changed the authorization: checks the credentials of the accepted
  // CONNECT again, as nats-server does. A client no longer allowed in is closed with
  // 'Authorization Violation'; one moved to another account is closed; the others get the
  // new permissions, and lose (with an -ERR each) the subscriptions those no longer allow.
  void Reauthorize() override;
  // Removes every subscription (at close) and tells the shard.
  void DropSubscriptions() override;
  // Removes one subscription after its auto-unsubscribe limit was reached.
  void RemoveSubscription(const std::string& sid) override;

  // Monitoring: a copy of what /connz shows (client_info.cc); subscriptions if asked.
  void Describe(ConnInfo* info, bool with_subs) const override;

 private:
  friend Connection* MakeMqttClient(ShardPort* shard, uint64_t id, std::string ip, int port);
  // A deadline may have moved earlier: make sure the shard's timer fires by then. (Later
  // deadlines are found when the timer fires and NextDeadline() is asked again.)
  void ArmTimer();

  // ParserHandler
  bool OnConnect(std::string_view json) override;
  bool OnPub(const PubFrame& frame) override;
  bool OnSub(std::string_view subject, std::string_view queue, std::string_view sid) override;
  bool OnUnsub(std::string_view sid, int64_t max, bool max_given) override;
  bool OnPing() override;
  bool OnPong() override;
  bool Paused() const override { return stalled_; }
  void OnParseError(ParseError error, std::string_view detail) override;

  // Authentication: before CONNECT, is this op refused? (Closes the connection if so.)
  bool RefusedBeforeConnect();
  // The authorization this client is checked against: the websocket block's override for
  // a WebSocket client when it has one, the server's otherwise.
  const auth::AuthConfig& AuthRules() const;
  bool Authenticate(const nlohmann::json& connect);
  auth::AuthResult Check(const auth::AuthConfig& config,
                         const auth::Credentials& credentials) const;
  // Counts the connection in its account; false (and closing) past the account's limit.
  bool JoinAccount(auth::AccountId account);
  void LeaveAccount();
  // The tighter of the server's and the account's and user's limits.
  void ApplyLimits(int64_t user_max_subscriptions, int64_t user_max_payload);
  void SendPermissionViolation(std::string_view what, std::string_view subject,
                               std::string_view queue = {});

  // SocketConnection
  std::size_t FeedInput(const char* data, std::size_t len) override;
  void OnWebsocketUpgraded() override;
  std::string LogLabel() const override;

  // The server's or the user's limit of subscriptions is reached.
  bool AtSubscriptionLimit() const;
  // Output appended from here on waits until every shard applied this client's
  // subscription changes (a PONG, a SUBACK).
  void HoldBehindSubscriptions();
  // Counts a delivery queued on out_ and applies back-pressure: true when the publisher
  // should be stalled (DeliverMessage's answer); may close a slow consumer.
  bool AfterDelivery(std::size_t payload_bytes);

  // MQTT (client_mqtt.cc): packets in, what they do, PUBLISH packets out.
  std::size_t FeedMqtt(const char* data, std::size_t len);
  bool OnMqttPacket(const mqtt::Packet& packet);
  bool OnMqttConnect(const mqtt::Packet& packet);
  bool AuthenticateMqtt();
  bool OnMqttPublish(const mqtt::Packet& packet);
  // Routes an MQTT publish with its QoS header (and, from MQTT 5.0, its properties' header
  // lines and reply subject); false when permissions drop it.
  bool PublishFromMqtt(std::string_view subject, uint8_t qos, std::string_view payload,
                       std::string_view extra_headers = {}, std::string_view reply = {});
  bool OnMqttSubscribe(const mqtt::Packet& packet, bool subscribe);
  bool SubscribeMqttFilter(std::string_view subject, const std::string& sid, uint8_t qos,
                           uint32_t batch, std::size_t code, const MqttFilterOptions& options);
  bool AddMqttSubscription(std::string_view subject, const std::string& sid, uint8_t qos,
                           const MqttFilterOptions& options = {});
  void SendMqttSuback(uint16_t packet_id, const std::vector<uint8_t>& codes);
  bool DeliverMqtt(const Subscription& sub, const Message& msg);
  // QoS 1 through JetStream (client_mqtt_js.cc).
  // A JetStream API request (or a stored publish: `header_len` bytes of `body` are headers)
  // whose answer comes to OnMqttApiReply.
  uint64_t MqttRequest(std::string_view subject, std::string_view body, MqttState::Request request,
                       std::size_t header_len = 0);
  // An API request nothing waits for (its reply goes to request id 0).
  void MqttFireAndForget(std::string_view subject, std::string_view body);
  // A JetStream API subject: $JS.API.<rest>, or $JS.<domain>.API.<rest> with the mqtt block's
  // js_domain (JetStream in another domain, through a leafnode).
  std::string MqttApi(std::string_view rest) const;
  void StartMqttJetStream();
  void AddInternalMqttSubscription(const std::string& subject, MqttSubKind kind);
  void QueueMqttApiReply(const Message& msg);
  void RunMqttDeferredWork();
  void OnMqttApiReply(uint64_t id, std::string_view payload);
  void SendMqttConnack(bool session_present);
  // Persistent sessions (client_mqtt_session.cc).
  void LoadMqttSession();
  void OnMqttSessionLoaded(std::string_view answer);
  // Writes the session record (persistent sessions only); `ended`: the connection is ending
  // (a 5.0 session's expiry counts from now).
  void SaveMqttSession(bool ended = false);
  void StoreMqttMessage(std::string_view subject, uint16_t packet_id, std::string_view header,
                        std::string_view payload,
                        MqttState::RequestKind kind = MqttState::RequestKind::kStore);
  bool StartMqttConsumer(const std::string& sid, std::string_view subject, uint8_t qos,
                         uint32_t batch, std::size_t code);
  void DropMqttConsumer(const std::string& sid, bool delete_it);
  void DeleteMqttConsumer(std::string_view stream, std::string_view name);
  bool DeliverMqttQos1(const Message& msg, const Subscription& sub);
  // The sid of the subscription a QoS 1/2 consumer delivering to `deliver` serves; null if none.
  const std::string* MqttConsumerSid(std::string_view deliver) const;
  // 5.0 Retain As Published: RETAIN on a live copy of a retained publish.
  bool MqttRetainAsPublished(const std::string& sid, const Message& msg) const;
  uint32_t MqttSubscriptionId(const std::string& sid) const {
    auto it = mqtt_->sub_ids.find(sid);
    return it == mqtt_->sub_ids.end() ? 0 : it->second;
  }
  void OnMqttPuback(uint16_t packet_id);
  uint16_t NextMqttPacketId();  // 0 when all 65535 are taken
  void SendMqttAck(mqtt::PacketType type, uint16_t packet_id);
  // MQTT 5.0 (client_mqtt5.cc).
  void AppendMqttConnack(bool session_present, std::string* out);
  uint32_t MqttMaxPacket() const;
  bool ResolveMqttTopicAlias(mqtt::Publish* publish);
  bool MqttHeadersFrom(const mqtt::Properties& props, std::string* headers, std::string* reply);
  // `age_s`: seconds the message was stored (its Message Expiry counts down by it).
  void MqttPropertiesFrom(std::string_view header, std::string_view reply,
                          mqtt::PropertyWriter* props, uint64_t age_s = 0);
  bool OnMqttDisconnect(const mqtt::Packet& packet);
  // The header block of a message kept in $MQTT_msgs: a 5.0 client's copies say who sent
  // them (Nmqtt-From), so that its No Local subscriptions leave them out.
  std::string_view MqttStoredHeader(uint8_t qos, std::string_view extra_headers);
  bool MqttOwnPublish(const Message& msg) const;
  // The PUBLISH header for a delivery: 5.0 clients get the message's headers as properties.
  // False when not sent: over the client's Maximum Packet Size, or a stored message (its
  // JetStream `ack` subject says when it was stored) past its Message Expiry Interval.
  bool AppendMqttDelivery(std::string_view topic, const Message& msg, std::string_view payload,
                          uint8_t qos, bool retain, bool dup, uint16_t packet_id,
                          std::string_view reply, uint32_t subscription_id = 0,
                          std::string_view ack = {});
  // QoS 2 (client_mqtt_qos2.cc): exactly once in, and the PUBREC/PUBREL/PUBCOMP out.
  bool OnMqttPublishQos2(const mqtt::Publish& publish);
  void OnMqttPubrel(uint16_t packet_id);
  void OnMqttQos2Reply(const MqttState::Request& request, bool failed, std::string_view payload);
  // `refused`: 5.0 reason >= 0x80, the message is done with and no PUBREL follows.
  void OnMqttPubrec(uint16_t packet_id, bool refused = false);
  void OnMqttPubcomp(uint16_t packet_id);
  void ResendMqttPubrels();
  void PurgeMqttQos2Records();
  int64_t MqttRequestDeadline() const;  // the first unanswered request's; 0 = none
  // Retained messages (client_mqtt_retained.cc).
  // `extra_headers`: a 5.0 publish's property lines, kept with the retained copy.
  void StoreMqttRetained(std::string_view subject, std::string_view topic, uint8_t qos,
                         std::string_view payload, std::string_view extra_headers = {});
  void FetchMqttRetained(const std::vector<MqttRetainedFilter>& filters);
  void OnMqttRetainedFetchReply(const std::string& deliver, std::string_view payload);
  bool DeliverMqttRetained(const Subscription& sub, const Message& msg);
  void EndMqttRetainedFetch(const std::string& deliver);
  // The will, when the connection ends without a DISCONNECT (once).
  void PublishWill();
  // At close: the client id is free again; the will goes out unless taken over.
  void EndMqttSession();

  // NATS protocol text; nothing on an MQTT connection (MQTT errors close it).
  void SendText(std::string_view text);
  void SendErr(std::string_view text);
  void SendOk() {
    if (verbose_) SendText("+OK\r\n");
  }
  std::string InfoLine(bool lame_duck) const;

  std::string ip_;
  int port_;
  bool websocket_;                   // on the websocket port: INFO once the upgrade is answered
  std::unique_ptr<MqttState> mqtt_;  // on the MQTT port: speaks MQTT, not NATS
  ProtocolParser parser_;
  absl::flat_hash_map<std::string, std::unique_ptr<Subscription>> subs_;

  // CONNECT options; the defaults are what nats-server assumes before CONNECT.
  bool verbose_ = true;
  bool pedantic_ = true;
  bool headers_ = false;
  int protocol_ = 0;
  std::string name_, lang_, version_;

  // Output held back behind PONGs that wait for a barrier: (stream position, epoch).
  std::deque<std::pair<uint64_t, uint64_t>> holds_;
  uint64_t needed_epoch_ = 0;  // the barrier that covers this client's last SUB/UNSUB

  // Authentication and authorization.
  int64_t auth_deadline_ns_ = 0;  // when a required CONNECT must have arrived; 0 = none
  int64_t auth_expires_ns_ = 0;   // when the user's JWT or connect window ends; 0 = never
  std::string nonce_;             // in INFO, for nkey signatures
  std::string auth_user_;         // who authenticated (empty: token or no auth)
  std::unique_ptr<auth::PermissionChecker> permissions_;  // null = may do anything
  auth::Credentials credentials_;  // from the accepted CONNECT, to check again on reload

  // Replies this client was shown without their gateway prefix; made on the first one.
  std::unique_ptr<GatewayReplyMap> gateway_replies_;

  // TLS (the session is SocketConnection's; INFO goes in clear to cipher_ before the
  // handshake of a client that did not start with it).
  int64_t tls_deadline_ns_ = 0;
  int64_t ws_handshake_deadline_ns_ = 0;  // the upgrade must be done by then; 0 = no limit
  bool tls_started_ = false;              // the first bytes were a TLS handshake record
  bool info_after_handshake_ = false;     // TLS first: INFO waits for the handshake
  bool counted_in_account_ = false;       // in ServerContext::account_connections
  int64_t max_subscriptions_ = -1;        // a user JWT's own limit; -1 = none

  // Monitoring figures, written only by this client's shard.
  int64_t start_unix_ns_ = 0;
  int64_t start_mono_ns_ = 0;
  uint64_t in_msgs_ = 0, in_bytes_ = 0, out_msgs_ = 0, out_bytes_ = 0;
  int64_t ping_sent_ns_ = 0;  // when the server's outstanding PING left; 0 = none
  int64_t rtt_ns_ = 0;
  int64_t rtt_measured_ns_ = 0;  // when rtt_ns_ was last measured
  CloseReason close_reason_ = CloseReason::kClientClosed;

  bool pong_sent_ = false;        // async INFOs wait for the first PONG
  bool info_after_pong_ = false;  // one changed before it
  bool close_after_flush_ = false;
  int64_t close_deadline_ns_ = 0;
  int64_t last_in_ns_ = 0;
  int64_t next_ping_ns_ = 0;
  int pings_out_ = 0;
  CongestionWatch congestion_;
  std::string scratch_;  // MSG control line being built (reused, no per-message allocation)
};

}  // namespace tern::core
