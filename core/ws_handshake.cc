#include "core/ws_handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace tern::core {
namespace {

constexpr std::size_t kMaxHead = 16 * 1024;  // a request head larger than this is refused

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does a comma-separated header value hold this token (case-insensitive)?
bool HasToken(std::string_view value, std::string_view token) {
  const std::string want = Lower(token);
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (Lower(Trim(value.substr(0, comma))) == want) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string HttpError(int status, std::string_view text) {
  // As Go's http.Error writes it (nats-server answers through net/http).
  const std::string body = std::string(text) + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(text) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nSec-Websocket-Version: 13\r\n"
         "X-Content-Type-Options: nosniff\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// scheme, host and port of an origin URL; the port defaults by scheme.
struct Origin {
  std::string scheme, host, port;
};
bool ParseOrigin(std::string_view url, Origin* out) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  out->scheme = Lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find('/'));
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    out->host = Lower(rest.substr(0, colon));
    out->port = std::string(rest.substr(colon + 1));
  } else {
    out->host = Lower(rest);
    out->port = out->scheme == "https" ? "443" : "80";
  }
  return !out->host.empty();
}

}  // namespace

WsHeadStatus ParseWsRequest(std::string_view input, WsUpgradeRequest* out, std::size_t* used) {
  const std::size_t end = input.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return input.size() > kMaxHead ? WsHeadStatus::kTooLarge : WsHeadStatus::kNeedMore;
  }
  if (end > kMaxHead) return WsHeadStatus::kTooLarge;
  *used = end + 4;
  std::string_view head = input.substr(0, end);
  const std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  head.remove_prefix(line_end == std::string_view::npos ? head.size() : line_end + 2);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  if (sp1 != std::string_view::npos && sp2 != sp1) {
    out->method = line.substr(0, sp1);
    out->path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    out->version = line.substr(sp2 + 1);
  }
  while (!head.empty()) {
    const std::size_t next = head.find("\r\n");
    const std::string_view field = head.substr(0, next);
    head.remove_prefix(next == std::string_view::npos ? head.size() : next + 2);
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = Lower(Trim(field.substr(0, colon)));
    const std::string value(Trim(field.substr(colon + 1)));
    auto add = [&value](std::string* to) {  // repeated headers join as Go's Values do
      if (!to->empty()) to->append(", ");
      to->append(value);
    };
    if (name == "host") add(&out->host);
    if (name == "upgrade") add(&out->upgrade);
    if (name == "connection") add(&out->connection);
    if (name == "sec-websocket-key") add(&out->key);
    if (name == "sec-websocket-version") add(&out->ws_version);
    if (name == "origin") add(&out->origin);
    if (name == "sec-websocket-extensions") add(&out->extensions);
    if (name == "user-agent") add(&out->user_agent);
    if (name == "nats-no-masking") add(&out->no_masking);
    if (name == "x-forwarded-for") add(&out->forwarded_for);
    if (name == "cookie") {
      if (!out->cookies.empty()) out->cookies.append("; ");
      out->cookies.append(value);
    }
  }
  return WsHeadStatus::kComplete;
}

WsUpgrade AnswerWsUpgrade(const WsUpgradeRequest& r, const WsPolicy& policy) {
  WsUpgrade answer;
  if (r.method != "GET") {
    answer.response = HttpError(405, "Method Not Allowed");
    return answer;
  }
  const bool bad = r.host.empty() || !HasToken(r.upgrade, "websocket") ||
                   !HasToken(r.connection, "upgrade") || r.key.empty() ||
                   !HasToken(r.ws_version, "13");
  if (bad) {
    answer.response = HttpError(400, "Bad Request");
    return answer;
  }
  if (!r.origin.empty() && (policy.same_origin || !policy.allowed_origins.empty())) {
    Origin origin;
    bool allowed = ParseOrigin(r.origin, &origin);
    if (allowed && policy.same_origin) {
      Origin host;
      ParseOrigin(std::string(policy.tls ? "https://" : "http://") + r.host, &host);
      allowed = origin.host == host.host && origin.port == host.port;
    }
    if (allowed && !policy.allowed_origins.empty()) {
      allowed = std::any_of(policy.allowed_origins.begin(), policy.allowed_origins.end(),
                            [&origin](const std::string& url) {
                              Origin want;
                              return ParseOrigin(url, &want) && want.scheme == origin.scheme &&
                                     want.host == origin.host && want.port == origin.port;
                            });
    }
    if (!allowed) {
      answer.response = HttpError(403, "Forbidden");
      return answer;
    }
  }
  answer.ok = true;
  answer.compress =
      policy.compression && r.extensions.find("permessage-deflate") != std::string::npos;
  answer.no_masking = r.no_masking == "true";
  answer.mqtt = r.path.rfind("/mqtt", 0) == 0;
  answer.browser = r.user_agent.rfind("Mozilla/", 0) == 0;
  answer.cookies = r.cookies;
  answer.safari = answer.browser && r.user_agent.find("Version/") != std::string::npos &&
                  r.user_agent.find("Safari/") != std::string::npos;
  answer.response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      WsAcceptKey(r.key) + "\r\n";
  if (answer.compress) {
    answer.response +=
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover\r\n";
  }
  if (answer.no_masking) answer.response += "Nats-No-Masking: true\r\n";
  if (answer.mqtt) answer.response += "Sec-Websocket-Protocol: mqtt\r\n";
  answer.response += "\r\n";
  return answer;
}

std::string WsCookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    const std::size_t end = cookies.find(';');
    std::string_view pair = Trim(cookies.substr(0, end));
    cookies.remove_prefix(end == std::string_view::npos ? cookies.size() : end + 1);
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos || Trim(pair.substr(0, equals)) != name) continue;
    std::string_view value = Trim(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return {};
}

std::string WsAcceptKey(std::string_view key) {
  const std::string input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr);
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

}  // namespace tern::core
