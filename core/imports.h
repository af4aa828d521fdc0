#pragma once
// ImportRouter: one shard's side of account exports and imports. It owns shard-local
// internal subscriptions (never announced: every shard has the same set and handles the
// messages its own connections publish):
//   - stream import: in the exporter, on the imported subject; the message is routed
//     again in the importer, on the mapped subject;
//   - service import: in the importer, on its local subject; the request is routed in
//     the exporter with its reply rewritten to `_R_.<node>.<importer>.<tag>.<reply>`; a
//     request into the system account (JetStream's API served by other nodes) carries the
//     requester's account in a `Nats-Request-Info` header, as nats-server's do;
//   - responses: in every exporter of a service, on `_R_.<node>.>`; a reply published
//     there goes back to the importer on the original reply subject. The tag is a keyed
//     hash of the importer, exporter and reply, so nobody can forge a route into another
//     account. <node> is this process's own, so in a cluster shard 0 announces these
//     subscriptions to routes and responders on other nodes reach only this node.
// Routing must not nest inside a match, so messages are copied into a reused arena and
// routed by the shard when the outer Route is done (Drain). Ownership: its shard only.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/accounts.h"
#include "core/subject_transform.h"
#include "core/subscription.h"

namespace tern::core {

class Connection;
class Shard;

class ImportRouter final : public InternalSink {
 public:
  using Key = std::array<unsigned char, 32>;
  // A chain of imports longer than this is dropped (configured cycles end here).
  static constexpr int kMaxHops = 4;

  ImportRouter(Shard* shard, const auth::Accounts& accounts, const Key& key);
  ~ImportRouter() override;
  // Does any account import anything? (Otherwise no router is needed.)
  static bool Needed(const auth::Accounts& accounts);

  // Before the shard starts: adds the shard-local subscriptions.
  void Start();
  bool HasPending() const { return !pending_.empty(); }
  // Routes every queued message (and what those cause, up to kMaxHops). `from` is the
  // connection whose publish started it, or null.
  void Drain(Connection* from);

 private:
  struct Route {
    bool service = false;  // a service import (else a stream import)
    auth::AccountId from = 0, to = 0;
    SubjectTransform transform;
  };
  struct Pending {
    auth::AccountId account;
    uint32_t subject_at, subject_len, reply_at, reply_len, data_at, data_len;
    uint32_t header_len;
    uint32_t request_reply_at = 0, request_reply_len = 0;  // a service request's own reply
    uint32_t display_at = 0, display_len = 0;              // a JetStream delivery's stream subject
    int hops;
    bool service_request;
    ConnectionKind origin;  // of the message that was imported
  };
  static constexpr int kResponseTag = -1;
  static constexpr std::size_t kNodeChars = 6;

  void OnInternalMessage(const Subscription& sub, const Message& msg) override;
  void OnResponse(const Subscription& sub, const Message& msg);
  // The tag of a response route: base64url of 96 bits of a keyed hash, written to `out`.
  static constexpr std::size_t kTagBytes = 12;
  static constexpr std::size_t kTagChars = 16;
  std::string_view Tag(auth::AccountId importer, auth::AccountId exporter, std::string_view reply,
                       char (&out)[kTagChars]);
  uint32_t Put(std::string_view bytes);
  // Queues `msg` for account `account` under `subject` and `reply` (mapped, rewritten).
  void Queue(auth::AccountId account, std::string_view subject, std::string_view reply,
             const Message& msg, std::string_view request_reply);
  // msg's header and payload with a Nats-Request-Info header naming `importer`, in
  // with_request_info_.
  std::string_view WithRequestInfo(const Message& msg, auth::AccountId importer,
                                   std::size_t* header_len);

  Shard* shard_;
  Key key_;
  std::size_t account_count_;
  auth::AccountId system_account_;
  // JSON strings for Nats-Request-Info, made once (the cluster's when its name changes).
  std::vector<std::string> quoted_account_names_;
  std::string quoted_server_, cluster_name_, quoted_cluster_;
  std::string response_prefix_;  // _R_.<node>.
  std::vector<Route> routes_;
  std::vector<std::unique_ptr<Subscription>> subs_;
  std::vector<Pending> pending_, draining_;
  std::string arena_, draining_arena_;
  std::string mapped_;             // scratch: the mapped subject
  std::string routed_reply_;       // scratch: a service request's rewritten reply
  std::string hmac_input_;         // scratch: what a route's tag is computed over
  std::string with_request_info_;  // scratch: a request with its Nats-Request-Info
  int hops_ = 0;                   // of the message being routed by Drain
};

}  // namespace tern::core
