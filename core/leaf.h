#pragma once
// LeafConnection: one leafnode link (nats-server 2.9's leafnode protocol), a Connection
// kind and a link, bound to one local account. Two roles: kLeaf, a leafnode that dialled
// our leafnode port (we are its hub: we send INFO, check its CONNECT and bind it to an
// account), and kHub, a hub we dialled for a `remotes` entry (we answer its INFO with
// CONNECT and wait for its connect_info INFO). Either way, once registered the link gets
// the interest it must carry (LeafRegistry sends LS+/LS-), keeps the peer's LS+ as
// subscriptions of its own (queue members behind it weigh what it says, and are picked
// only when no other member exists), and carries messages as LMSG/HMSG. Ownership:
// shard 0 (every link lives there), for the connection's whole life.
#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/auth/permissions.h"
#include "core/cluster_options.h"
#include "core/congestion.h"
#include "core/link_connection.h"
#include "core/link_json.h"
#include "core/route_parser.h"

namespace tern::core {

class LeafConnection;

// The listener id of the leafnode port.
inline constexpr uint32_t kLeafListener = 2;

// What the link learned of the server at the other end.
struct LeafPeer {
  std::string server_id;
  std::string name;
  std::string cluster;
  bool headers = false;
  std::string remote_account;  // the hub's account for us (spoke side)
};

// The node's side of its leafnode links (LeafService). Called on shard 0's thread.
// Which INFO a hub sends: the first (with a nonce), the one after CONNECT (connect_info,
// remote_account), or a later one with the hub cluster's new leafnode URLs.
enum class HubInfo { kFirst, kConnectInfo, kUpdate };

class LeafRegistry {
 public:
  virtual std::string HubInfoLine(const LeafConnection& link, HubInfo which) const = 0;
  // Leafnode side: the hub named its cluster's leafnode URLs (its first INFO, or a later
  // one): more URLs to reconnect through.
  virtual void HubLeafUrls(const LeafConnection& link, const std::vector<std::string>& urls) = 0;
  // This node's name for leafnode links: its cluster's, else its server name.
  virtual std::string LeafClusterName() const = 0;
  // The link is through its handshake: it is sent its interest, then carries messages.
  virtual void RegisterLeaf(LeafConnection* link) = 0;
  // This node's loop detection subject for the account ($LDS.<random>).
  virtual const std::string& LoopSubject(uint16_t account) const = 0;
  // The link is closing. `delay_ns`: a remote waits this long before dialling again (0 =
  // the configured reconnect delay).
  virtual void LeafClosed(LeafConnection* link, int64_t delay_ns) = 0;

 protected:
  ~LeafRegistry() = default;
};

class LeafConnection final : public LinkConnection {
 public:
  // `remote` is set for a link this node dialled (the remotes entry, and the URL used).
  LeafConnection(ShardPort* shard, LeafRegistry* registry, uint64_t id, std::string ip, int port,
                 int remote, const RouteUrl* url);
  ~LeafConnection() override;

  void Start(io::IoConn* io, bool over_connection_limit) override;

  bool DeliverMessage(const Subscription& sub, const Message& msg) override;
  bool DeliverToLink(const Message& msg, const std::string_view* queues,
                     std::size_t queue_count) override;

  void OnTimer(int64_t now_ns) override;
  int64_t NextDeadline() const override;

  void SendLameDuckInfo() override {}
  void DropSubscriptions() override;
  void Describe(ConnInfo* info, bool with_subs) const override;
  std::string_view link_cluster() const override { return peer_.cluster; }

  // --- For the registry ---
  bool dialled() const { return remote_ >= 0; }
  int remote() const { return remote_; }
  const LeafPeer& peer() const { return peer_; }
  // May this node ask the peer for the subject (LS+)? Not for what the link denies coming
  // in (a remote's deny_imports, JetStream's API without a domain).
  bool MayAsk(std::string_view subject) const;
  const std::string& nonce() const { return nonce_; }
  const RouteUrl& url() const { return url_; }  // leafnode side: the URL it dialled
  // Monitoring (/leafz).
  template <typename Fn>
  void ForEachSubscription(Fn&& fn) const {
    for (const auto& [key, sub] : subs_) fn(*sub);
  }

 private:
  // RouteHandler
  void OnRouteInfo(std::string_view json) override;
  void OnRouteConnect(std::string_view json) override;
  void OnRouteErr(std::string_view text) override;
  void OnRouteSub(std::string_view account, std::string_view subject, std::string_view queue,
                  uint32_t weight, std::string_view origin) override;
  void OnRouteUnsub(std::string_view account, std::string_view subject,
                    std::string_view queue) override;
  void OnRouteMsg(const RoutedMsg& msg) override;
  void OnRouteParseError(std::string_view what) override;

  // SocketConnection
  std::size_t FeedInput(const char* data, std::size_t len) override;
  void OnLinkClosing() override;

  // Hub side: which account the CONNECT's credentials bind the link to (-1: refused);
  // sets user_permissions_ when the user has permissions.
  int Authenticate(const LinkJson& connect);
  // A leafnode's TLS to its hub, after the hub's INFO: with the remote's tls {}, or
  // because the hub requires it. False if it failed (the link is closing).
  bool StartClientTls(bool hub_requires);
  void SendConnect();
  void Register();

  LeafRegistry* registry_;
  int remote_;  // the remotes entry this link serves; -1 on the hub side
  RouteUrl url_;
  RouteParser parser_{/*leaf=*/true};
  LeafPeer peer_;
  // Leafnode side: the hub's, signed with the remote's credentials; hub side: the one this
  // link's INFO sent (a JWT or nkey leafnode signs it).
  std::string nonce_;
  bool info_received_ = false;
  bool connect_sent_ = false;
  int64_t loop_delay_ns_ = 0;  // set when the peer reported a loop
  // What the link refuses: `imports_` covers what comes in (our LS+, the peer's messages),
  // `exports_` what goes out (the peer's LS+). Null = nothing denied.
  std::unique_ptr<auth::PermissionChecker> imports_, exports_;
  // Hub side: the permissions of the user the leafnode logged in as (what it may publish
  // here, what it may subscribe to); null = none.
  std::unique_ptr<auth::PermissionChecker> user_permissions_;
  int64_t handshake_deadline_ns_ = 0;  // INFO/CONNECT/connect_info must arrive by then
};

}  // namespace tern::core
