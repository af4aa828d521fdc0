#include "core/stan/pub_ack_reply.h"

#include "core/stan/protocol.h"

namespace tern::core::stan {
namespace {

bool GuidToken(std::string_view guid) {
  if (guid.empty() || guid.size() > 64) return false;
  for (char c : guid) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string PubAckReply(std::string_view guid, std::string_view client_reply) {
  if (!GuidToken(guid) || client_reply.empty()) return {};
  std::string reply;
  reply.reserve(kPubAckReplyPrefix.size() + guid.size() + 1 + client_reply.size());
  reply.append(kPubAckReplyPrefix).append(guid).append(".").append(client_reply);
  return reply;
}

bool PubAckFor(std::string_view reply, std::string_view error, std::string_view* client_reply,
               std::string* body) {
  if (!reply.starts_with(kPubAckReplyPrefix)) return false;
  const std::string_view rest = reply.substr(kPubAckReplyPrefix.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot + 1 >= rest.size()) return false;
  const std::string_view guid = rest.substr(0, dot);
  if (!GuidToken(guid)) return false;
  *client_reply = rest.substr(dot + 1);
  body->clear();
  Encode(PubAck{.guid = guid, .error = error}, body);
  return true;
}

}  // namespace tern::core::stan
