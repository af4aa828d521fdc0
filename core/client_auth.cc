// Client: authentication at CONNECT and the permission errors (see core/auth/).
#include "core/auth/authenticator.h"
#include "core/auth/nkeys.h"
#include "core/client.h"
#include "core/log.h"

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

namespace tern::core {
namespace {

std::string StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

// Authenticates with the connection's nonce and, under verify_and_map, the names in its
// TLS certificate: at CONNECT and again after a reload.
auth::AuthResult Client::Check(const auth::AuthConfig& config,
                               const auth::Credentials& credentials) const {
  std::vector<std::string> identities;
  const bool map = tls_ != nullptr && shard_->options().tls.verify_and_map;
  if (map) identities = tls_->PeerIdentities();
  return auth::Authenticate(config, credentials, nonce_, map ? &identities : nullptr);
}

const auth::AuthConfig& Client::AuthRules() const {
  const ServerOptions& o = shard_->options();
  // MQTT over WebSocket is checked as the MQTT port's clients are, as in nats-server.
  if (mqtt_) return o.mqtt.auth.effective ? *o.mqtt.auth.effective : o.auth;
  if (websocket_ && o.websocket.auth.effective) return *o.websocket.auth.effective;
  return o.auth;
}

bool Client::RefusedBeforeConnect() {
  if (connected_ || closing_) return false;
  const auth::AuthConfig& config = AuthRules();
  if (!config.required()) return false;
  if (!config.no_auth_user.empty()) {
    // As nats-server: without credentials the client is the no_auth_user, even before
    // CONNECT (telnet-style use).
    auth::Credentials none;
    none.connection_type = websocket_ ? "WEBSOCKET" : "STANDARD";
    const auth::AuthResult result = auth::Authenticate(config, none, nonce_);
    if (result.ok) {
      if (!JoinAccount(result.account)) return true;
      auth_user_ = result.user;
      account_ = result.account;
      if (result.permissions) {
        permissions_ = std::make_unique<auth::PermissionChecker>(result.permissions);
      }
      connected_ = true;
      return false;
    }
  }
  LOG_ERROR("%s:%d - cid:%lu - Authorization Violation: an operation before CONNECT", ip_.c_str(),
            port_, static_cast<unsigned long>(id_));
  SendErr("Authorization Violation");
  Close(CloseReason::kAuthenticationFailure, true);
  return true;
}

bool Client::Authenticate(const nlohmann::json& connect) {
  const auth::AuthConfig& config = AuthRules();
  if (!config.required()) return true;
  auth::Credentials credentials;
  credentials.auth_token = StringField(connect, "auth_token");
  credentials.user = StringField(connect, "user");
  credentials.pass = StringField(connect, "pass");
  credentials.nkey = StringField(connect, "nkey");
  credentials.sig = StringField(connect, "sig");
  credentials.jwt = StringField(connect, "jwt");
  credentials.client_ip = ip_;
  if (websocket_) {
    credentials.connection_type = "WEBSOCKET";
    // A browser cannot set CONNECT's jwt from a cookie it cannot read: nats-server takes
    // it from the upgrade request's cookie named by jwt_cookie.
    const std::string& cookie = shard_->options().websocket.jwt_cookie;
    if (credentials.jwt.empty() && !cookie.empty()) credentials.jwt = ws_->Cookie(cookie);
  }

  const auth::AuthResult result = Check(config, credentials);
  if (!result.ok) {
    LOG_ERROR("%s:%d - cid:%lu - Authorization Violation: %s", ip_.c_str(), port_,
              static_cast<unsigned long>(id_), result.reason.c_str());
    SendErr("Authorization Violation");
    Close(CloseReason::kAuthenticationFailure, true);
    return false;
  }
  credentials_ = std::move(credentials);
  if (!subs_.empty() && result.account != account_) {
    // Its subscriptions live in the first account's subject space.
    LOG_ERROR("%s:%d - cid:%lu - Authorization Violation: a second CONNECT changes the account",
              ip_.c_str(), port_, static_cast<unsigned long>(id_));
    SendErr("Authorization Violation");
    Close(CloseReason::kAuthenticationFailure, true);
    return false;
  }
  if (!JoinAccount(result.account)) return false;
  auth_user_ = result.user;
  account_ = result.account;
  permissions_.reset();
  if (result.permissions) {
    permissions_ = std::make_unique<auth::PermissionChecker>(result.permissions);
  }
  ApplyLimits(result.max_subscriptions, result.max_payload);
  auth_expires_ns_ = 0;
  if (result.expires_at != 0) {
    const int64_t left_s = result.expires_at - static_cast<int64_t>(std::time(nullptr));
    auth_expires_ns_ = shard_->now_ns() + std::max<int64_t>(0, left_s) * 1'000'000'000;
    ArmTimer();
  }
  return true;
}

void Client::Reauthorize() {
  if (!connected_ || closing_) return;
  const auth::AuthConfig& config = AuthRules();
  if (!config.required()) {
    permissions_.reset();  // no authorization any more: everyone may do anything
    return;
  }
  // As nats-server: a connection of a named user (or nkey) that the new configuration no
  // longer lists, or lists in another account, is closed without an error; a connection
  // whose credentials no longer pass gets 'Authorization Violation'.
  if (!config.op.enabled() && (!credentials_.nkey.empty() || !credentials_.user.empty())) {
    const auth::User* user = !credentials_.nkey.empty() ? config.FindNkey(credentials_.nkey)
                             : config.single_user       ? nullptr
                                                        : config.FindUser(credentials_.user);
    if (user == nullptr || user->account_id != account_) {
      LOG_INFO("%s:%d - cid:%lu - closed: user \"%s\" is gone or in another account after reload",
               ip_.c_str(), port_, static_cast<unsigned long>(id_), auth_user_.c_str());
      Close(CloseReason::kClientClosed, true);
      return;
    }
  }
  const auth::AuthResult result = Check(config, credentials_);
  if (!result.ok) {
    LOG_ERROR("%s:%d - cid:%lu - Authorization Violation after reload: %s", ip_.c_str(), port_,
              static_cast<unsigned long>(id_), result.reason.c_str());
    SendErr("Authorization Violation");
    Close(CloseReason::kAuthenticationFailure, true);
    return;
  }
  if (result.account != account_) {
    LOG_INFO("%s:%d - cid:%lu - closed: its user moved to account \"%s\" in the reload",
             ip_.c_str(), port_, static_cast<unsigned long>(id_),
             shard_->options().auth.accounts[result.account].name.c_str());
    Close(CloseReason::kClientClosed, true);
    return;
  }
  auth_user_ = result.user;
  permissions_.reset();
  if (result.permissions) {
    permissions_ = std::make_unique<auth::PermissionChecker>(result.permissions);
  }
  ApplyLimits(result.max_subscriptions, result.max_payload);
  if (!permissions_) return;
  std::vector<std::string> refused;
  for (const auto& [sid, sub] : subs_) {
    if (!permissions_->CanSubscribe(sub->subject, sub->queue)) refused.push_back(sid);
  }
  for (const std::string& sid : refused) {
    const Subscription& sub = *subs_.at(sid);
    const std::string text =
        "Permissions Violation for Subscription to \"" + sub.subject + "\" (sid \"" + sid + "\")";
    LOG_INFO("%s:%d - cid:%lu - Removed sub \"%s\" (sid \"%s\"): not authorized after reload",
             ip_.c_str(), port_, static_cast<unsigned long>(id_), sub.subject.c_str(), sid.c_str());
    RemoveSubscription(sid);
    SendErr(text);
  }
}

void Client::SendPermissionViolation(std::string_view what, std::string_view subject,
                                     std::string_view queue) {
  std::string text = "Permissions Violation for ";
  text.append(what);
  text += " to \"";
  text.append(subject);
  text += '"';
  if (!queue.empty()) {
    text += " using queue \"";
    text.append(queue);
    text += '"';
  }
  LOG_ERROR("%s:%d - cid:%lu - %s (user \"%s\")", ip_.c_str(), port_,
            static_cast<unsigned long>(id_), text.c_str(), auth_user_.c_str());
  SendErr(text);
}

bool Client::JoinAccount(auth::AccountId account) {
  if (counted_in_account_ && account == account_) return true;  // a repeated CONNECT
  LeaveAccount();
  const auth::Accounts& accounts = shard_->options().auth.accounts;
  if (account >= accounts.size()) return true;
  const int64_t limit = accounts[account].max_connections;
  std::atomic<int64_t>& open = shard_->context().account_connections[account];
  if (limit >= 0 && open.fetch_add(1) + 1 > limit) {
    open.fetch_sub(1);
    LOG_ERROR("%s:%d - cid:%lu - account \"%s\" is at its limit of %lld connections", ip_.c_str(),
              port_, static_cast<unsigned long>(id_), accounts[account].name.c_str(),
              static_cast<long long>(limit));
    SendErr("maximum account active connections exceeded");
    Close(CloseReason::kMaxConnections, true);
    return false;
  }
  if (limit < 0) open.fetch_add(1);
  counted_in_account_ = true;
  return true;
}

void Client::LeaveAccount() {
  if (!counted_in_account_) return;
  shard_->context().account_connections[account_].fetch_sub(1);
  counted_in_account_ = false;
}

void Client::ApplyLimits(int64_t user_max_subscriptions, int64_t user_max_payload) {
  const auth::Accounts& accounts = shard_->options().auth.accounts;
  const auto tighter = [](int64_t a, int64_t b) { return a < 0 ? b : b < 0 ? a : std::min(a, b); };
  max_subscriptions_ = user_max_subscriptions;
  int64_t payload = tighter(shard_->options().max_payload, user_max_payload);
  if (account_ < accounts.size()) payload = tighter(payload, accounts[account_].max_payload);
  parser_.set_limits({shard_->options().max_control_line, payload});
}

std::string NewNonce() { return auth::EncodeBase64Url(auth::RandomBytes(11)); }

}  // namespace tern::core
