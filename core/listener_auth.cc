#include "core/listener_auth.h"

namespace tern::core {

bool ListenerAuth::ParseBlock(const ConfValue& v, const std::string& listener, std::string* error) {
  if (!auth::ParseAuthorization(v, &block, error)) return false;
  if (!block.single_user && !block.users.empty()) {
    return ConfFail(v, listener + " authorization takes a user, a token and a timeout, not users",
                    error);
  }
  if (v.Find("timeout") == nullptr) block.timeout_ns = 0;  // the server's
  return true;
}

bool ListenerAuth::Resolve(const auth::AuthConfig& server, const std::string& listener,
                           std::string* error) {
  effective.reset();
  const std::string user = block.users.empty() ? std::string() : block.users[0].name;
  if (!no_auth_user.empty()) {
    if (server.op.enabled()) {
      *error = "no_auth_user not compatible with Trusted Operator";
      return false;
    }
    if (server.users.empty()) {
      *error = "no_auth_user: \"" + no_auth_user + "\" present, but users are not defined";
      return false;
    }
    if (server.FindUser(no_auth_user) == nullptr) {
      *error = "no_auth_user: \"" + no_auth_user +
               "\" not present as user in authorization block or account configuration";
      return false;
    }
  }
  const bool server_users = !server.users.empty() && !server.single_user;
  if (server_users && !user.empty()) {
    *error = listener + " authentication username not compatible with presence of users/nkeys";
    return false;
  }
  if (server_users && !block.token.empty()) {
    *error = listener + " authentication token not compatible with presence of users/nkeys";
    return false;
  }
  // As nats-server: a user, a token or a no_auth_user in the block override the server's
  // single user, token and no_auth_user for the listener's clients (users lists stay).
  if (user.empty() && block.token.empty() && no_auth_user.empty()) return true;
  auto config = std::make_shared<auth::AuthConfig>(server);
  if (config->single_user) {
    config->users.clear();
    config->single_user = false;
  }
  config->token = block.token;
  config->no_auth_user = no_auth_user;
  if (!user.empty()) {
    auth::User single = block.users[0];
    single.account_id = auth::kGlobalAccount;
    config->users.push_back(std::move(single));
    config->single_user = true;
  }
  if (block.timeout_ns > 0) config->timeout_ns = block.timeout_ns;
  effective = std::move(config);
  return true;
}

}  // namespace tern::core
