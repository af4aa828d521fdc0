#pragma once
// LinkConnection: what the links between servers share (routes, leafnodes, gateways): the
// peer's address, PING/PONG keep-alive and RTT, protocol lines out, the close sequence
// (flush what is queued, then the socket), congestion, traffic counters and the link's
// subscriptions (the peer's interest) for monitoring. A kind adds its handshake, its
// message encoding and what it tells its registry. Owned by the link's shard.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/congestion.h"
#include "core/route_parser.h"
#include "core/socket_connection.h"
#include "core/subscription.h"

namespace tern::core {

class LinkConnection : public SocketConnection, public RouteHandler {
 public:
  void OnBytes(const char* data, std::size_t len) final;
  void OnPeerClosed(int err) final;
  void Flush() final;
  void Close(CloseReason reason, bool flush) final;
  bool WantsIoClose() const final;
  bool StillCongesting(int64_t now_ns) final;
  void ReleaseHolds(uint64_t) final {}
  bool has_holds() const final { return false; }
  void SendNoResponders(std::string_view, std::string_view) final {}
  void Reauthorize() final {}
  void RemoveSubscription(const std::string&) final {}

  // A protocol line (or lines) to the peer; nothing once closing.
  void SendProto(std::string_view line);

  bool registered() const { return registered_; }
  // Monitoring.
  const std::string& ip() const { return ip_; }
  int port() const { return port_; }
  uint64_t in_msgs() const { return in_msgs_; }
  uint64_t out_msgs() const { return out_msgs_; }
  uint64_t in_bytes() const { return in_bytes_; }
  uint64_t out_bytes() const { return out_bytes_; }
  uint64_t dropped_msgs() const { return dropped_msgs_; }
  int64_t rtt_ns() const { return rtt_ns_; }
  int64_t start_unix_ns() const { return start_unix_ns_; }
  std::size_t subscription_count() const { return subs_.size(); }

 protected:
  // What a link may queue for its peer.
  struct Limits {
    int64_t congested_bytes;    // past this, publishers are held back
    int64_t max_pending_bytes;  // past this, messages for the peer are dropped
  };
  // `kind_name` names the link in close logs ("Route", "Leafnode", "Gateway"), `id_name`
  // its id in every log line ("rid", "lid", "gid").
  LinkConnection(ConnectionKind kind, uint64_t id, ShardPort* shard, std::string ip, int port,
                 const char* kind_name, const char* id_name, Limits limits);
  ~LinkConnection() override;

  // The start of the link (Start): clocks, and the first PING at `first_ping_ns` from now.
  void StartClocks(int64_t first_ping_ns);
  // A registered link's keep-alive, when next_ping_ns_ is due: closes it as stale after
  // ping_max unanswered PINGs, else PINGs (every ping_interval, at most `max_interval_ns`
  // apart). `skip_when_active`: no PING when the peer spoke within the interval and the
  // RTT is known (nats-server's routes, and a hub's leafnodes).
  void KeepAlive(int64_t now_ns, int64_t max_interval_ns, bool skip_when_active);
  void SendErrAndClose(std::string_view text, CloseReason reason);
  // Before encoding a message: false (counted as dropped) when the peer's queue is past
  // max_pending_bytes already: a peer that stopped reading loses messages, not our memory.
  bool HasRoomForMessage();
  // The payload as the peer takes it: without its header block when the peer has none.
  void FitHeaders(bool peer_headers, std::string_view* data, std::size_t* header_len) const;
  // Queues one message frame (control line with its CRLF, payload, CRLF) and counts it.
  // True while the link is congested (its publishers are to be held back).
  bool QueueMessage(std::string_view control_line, std::string_view data);
  // Arms the shard timer for NextDeadline().
  void ArmTimer();
  // The common part of /connz-style descriptions (not the name and account).
  void DescribeLink(ConnInfo* info, bool with_subs) const;
  // The link is closing (once): tell the registry. registered_ is still as it was.
  virtual void OnLinkClosing() = 0;

  // RouteHandler: PONG for PING; a PONG ends the PING count and times the RTT; input
  // waits while the link closes or is stalled.
  void OnRoutePing() override;
  void OnRoutePong() override;
  bool RoutePaused() const override { return closing_ || stalled_; }

  // "127.0.0.1:51234 - rid:5"
  std::string Label() const;
  std::string LogLabel() const final { return Label(); }

  std::string ip_;
  int port_;
  bool registered_ = false;
  // The peer's interest, as subscriptions of this link (key: what its protocol names).
  absl::flat_hash_map<std::string, std::unique_ptr<Subscription>> subs_;
  int64_t start_mono_ns_ = 0;
  int64_t start_unix_ns_ = 0;
  int64_t next_ping_ns_ = 0;
  int64_t last_in_ns_ = 0;
  int pings_out_ = 0;
  int64_t ping_sent_ns_ = 0;
  int64_t rtt_ns_ = 0;
  CongestionWatch congestion_;
  CloseReason close_reason_ = CloseReason::kClientClosed;
  std::string line_;   // the message control line being built (reused)
  std::string reply_;  // LinkReply's buffer (reused)

  // The reply as a link carries it: a JetStream delivery's stream subject follows an '@'
  // (nats-server's form), so the far side shows its client the subject it was stored on.
  std::string_view LinkReply(const Message& msg) {
    if (msg.reply.empty() || msg.display.empty() || msg.display == msg.subject) return msg.reply;
    reply_.assign(msg.reply).push_back('@');
    reply_.append(msg.display);
    return reply_;
  }
  uint64_t in_msgs_ = 0, in_bytes_ = 0, out_msgs_ = 0, out_bytes_ = 0, dropped_msgs_ = 0;

 private:
  const char* kind_name_;
  const char* id_name_;
  Limits limits_;
  bool close_after_flush_ = false;
  int64_t close_deadline_ns_ = 0;
};

}  // namespace tern::core
