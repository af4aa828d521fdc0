#include "core/leaf_options.h"

#include <fstream>
#include <sstream>

#include "core/auth/jwt.h"
#include "core/auth/nkeys.h"
#include "core/units.h"

namespace tern::core {
namespace {

bool ParseSeconds(const ConfValue& v, const std::string& key, int64_t* ns, std::string* error) {
  if (v.type == ConfValue::Type::kInteger && v.integer >= 0) {
    *ns = v.integer * 1'000'000'000;
    return true;
  }
  if (v.type == ConfValue::Type::kFloat && v.number >= 0) {
    *ns = static_cast<int64_t>(v.number * 1e9);
    return true;
  }
  if (v.type == ConfValue::Type::kString && ParseDuration(v.text, ns)) return true;
  return ConfFail(v, "leafnodes '" + key + "' expects seconds or a duration", error);
}

bool ParseSubjectList(const ConfValue& v, const std::string& key, std::vector<std::string>* out,
                      std::string* error) {
  for (const ConfValue* item : ConfItems(v)) {
    std::string text;
    if (!ConfString(*item, key, &text, error)) return false;
    out->push_back(text);
  }
  return true;
}

bool ParseAuthorization(const ConfValue& v, LeafOptions* out, std::string* error) {
  if (v.type != ConfValue::Type::kMap) {
    return ConfFail(v, "leafnodes 'authorization' expects a block", error);
  }
  for (const auto& [k, a] : v.map) {
    if (k == "user" || k == "username") {
      if (!ConfString(a, k, &out->user, error)) return false;
    } else if (k == "password" || k == "pass") {
      if (!ConfString(a, k, &out->password, error)) return false;
    } else if (k == "account") {
      if (!ConfString(a, k, &out->account, error)) return false;
    } else if (k == "timeout") {
      if (!ParseSeconds(a, k, &out->auth_timeout_ns, error)) return false;
    } else if (k == "users") {
      for (const ConfValue* item : ConfItems(a)) {
        if (item->type != ConfValue::Type::kMap) {
          return ConfFail(*item, "leafnodes authorization 'users' expects blocks", error);
        }
        LeafUser user;
        for (const auto& [uk, uv] : item->map) {
          if (uk == "user" || uk == "username") {
            if (!ConfString(uv, uk, &user.user, error)) return false;
          } else if (uk == "password" || uk == "pass") {
            if (!ConfString(uv, uk, &user.password, error)) return false;
          } else if (uk == "account") {
            if (!ConfString(uv, uk, &user.account, error)) return false;
          } else {
            return ConfFail(uv, "leafnodes user option '" + uk + "' is not supported", error);
          }
        }
        if (user.user.empty()) return ConfFail(*item, "leafnodes user without 'user'", error);
        out->users.push_back(std::move(user));
      }
    } else {
      return ConfFail(a, "leafnodes authorization '" + k + "' is not supported yet", error);
    }
  }
  return true;
}

bool ParseRemote(const ConfValue& v, LeafRemote* remote, std::string* error) {
  if (v.type != ConfValue::Type::kMap) {
    return ConfFail(v, "leafnodes 'remotes' expects blocks", error);
  }
  for (const auto& [k, a] : v.map) {
    if (k == "url" || k == "urls") {
      for (const ConfValue* item : ConfItems(a)) {
        std::string text;
        if (!ConfString(*item, k, &text, error)) return false;
        if (text.starts_with("ws://") || text.starts_with("wss://")) {
          return ConfFail(*item, "leafnode remotes over WebSocket are not supported yet", error);
        }
        RouteUrl url;
        if (!ParseRouteUrl(text, &url)) {
          return ConfFail(*item, "invalid leafnode remote URL \"" + text + "\"", error);
        }
        remote->urls.push_back(url);
        remote->url_texts.push_back(text);
      }
    } else if (k == "account" || k == "local") {
      if (!ConfString(a, k, &remote->account, error)) return false;
    } else if (k == "deny_imports" || k == "deny_import") {
      if (!ParseSubjectList(a, k, &remote->deny_imports, error)) return false;
    } else if (k == "deny_exports" || k == "deny_export") {
      if (!ParseSubjectList(a, k, &remote->deny_exports, error)) return false;
    } else if (k == "no_randomize" || k == "dont_randomize") {
      // URLs are tried in the configured order already.
    } else if (k == "tls") {
      tls::TlsConfig config;
      if (!tls::ParseTlsBlock(a, &config, error, /*client_only=*/true)) return false;
      remote->tls_context = tls::TlsContext::Create(config, error);
      if (remote->tls_context == nullptr) {
        *error = a.Where() + ": leafnode remote " + *error;
        return false;
      }
    } else if (k == "credentials" || k == "creds") {
      if (!ConfString(a, k, &remote->credentials_file, error)) return false;
      std::ifstream file(remote->credentials_file);
      std::stringstream text;
      text << file.rdbuf();
      if (!file) {
        return ConfFail(a, "cannot read leafnode credentials " + remote->credentials_file, error);
      }
      remote->user_jwt = auth::ExtractJwt(text.str());
      const std::string seed = auth::ExtractSeed(text.str());
      if (remote->user_jwt.empty() || remote->user_jwt.find('.') == std::string::npos ||
          !auth::DecodeSeed(seed, auth::KeyRole::kUser, &remote->user_seed)) {
        return ConfFail(
            a, "leafnode credentials " + remote->credentials_file + " hold no user JWT and seed",
            error);
      }
    } else if (k == "hub" || k == "ws_compression" || k == "ws_no_masking") {
      // Refused rather than ignored: a link that silently dropped its credentials or TLS
      // would connect with less protection than the configuration asks for.
      return ConfFail(a, "leafnode remote option '" + k + "' is not supported yet", error);
    } else {
      return ConfFail(a, "unknown leafnode remote option '" + k + "'", error);
    }
  }
  if (remote->urls.empty()) return ConfFail(v, "leafnode remote without 'url'", error);
  return true;
}

}  // namespace

bool ParseLeafNodesBlock(const ConfValue& block, LeafOptions* out,
                         std::vector<std::string>* warnings, std::string* error) {
  if (block.type != ConfValue::Type::kMap) {
    return ConfFail(block, "'leafnodes' expects a block", error);
  }
  bool has_port = false;
  for (const auto& [key, v] : block.map) {
    std::string text;
    if (key == "listen") {
      if (!ConfString(v, key, &text, error)) return false;
      if (!ParseHostPort(text, &out->host, &out->port)) {
        return ConfFail(v, "bad leafnodes listen address", error);
      }
      has_port = true;
    } else if (key == "host" || key == "net") {
      if (!ConfString(v, key, &out->host, error)) return false;
    } else if (key == "port") {
      if (!ConfString(v, key, &text, error)) return false;
      std::string ignored;
      if (!ParseHostPort(text, &ignored, &out->port))
        return ConfFail(v, "bad leafnodes port", error);
      has_port = true;
    } else if (key == "advertise" || key == "leafnode_advertise") {
      if (!ConfString(v, key, &out->advertise, error)) return false;
    } else if (key == "no_advertise") {
      if (v.type != ConfValue::Type::kBool) {
        return ConfFail(v, "'no_advertise' expects true or false", error);
      }
      out->no_advertise = v.boolean;
    } else if (key == "reconnect" || key == "reconnect_delay" || key == "reconnect_interval") {
      if (!ParseSeconds(v, key, &out->reconnect_ns, error)) return false;
    } else if (key == "authorization") {
      if (!ParseAuthorization(v, out, error)) return false;
    } else if (key == "remotes") {
      for (const ConfValue* item : ConfItems(v)) {
        LeafRemote remote;
        if (!ParseRemote(*item, &remote, error)) return false;
        out->remotes.push_back(std::move(remote));
      }
    } else if (key == "tls") {
      if (!tls::ParseTlsBlock(v, &out->tls, error)) return false;
      out->tls_context = tls::TlsContext::Create(out->tls, error);
      if (out->tls_context == nullptr) {
        *error = v.Where() + ": leafnodes " + *error;
        return false;
      }
    } else if (key == "min_version" || key == "compression") {
      warnings->push_back(v.Where() + ": leafnodes option '" + key +
                          "' is not implemented yet and is ignored");
    } else {
      return ConfFail(v, "unknown leafnodes option '" + key + "'", error);
    }
  }
  out->enabled = has_port;
  return true;
}

}  // namespace tern::core
